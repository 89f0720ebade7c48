'use strict'

// The queue tier's errors, in one table as lib/errors.js keeps the package's: class, Node-style
// `code`, message. The tier words them without the native binding. None carries a password, a
// salt, a hash or the key: only settings, sizes and Redis's own error text. What a worker's binding
// fails with travels as its native kind and is worded by the package's table (lib/errors.js).

// The optional peer dependencies, at the versions the tier is tested with (package.json's
// devDependencies pin the same).
const PEERS = 'bullmq@6.7.0 ioredis@5.11.1'

const tampered = (what) => `bcrypt-offload/queue: ${what} did not authenticate (rewritten in Redis, or sealed with another key)`

// What each of a worker's refusals (envelope.js, REFUSALS) says of the request.
const REFUSED = { otherKey: 'a worker holds another key', unauthenticated: 'a worker could not open it' }

const ERRORS = {
  // The settings of connect() and startWorker(), worded as the package words its own.
  SettingType: [TypeError, 'ERR_INVALID_ARG_TYPE', (what, type) => `${what} must be ${type}`],
  SettingRange: [RangeError, 'ERR_OUT_OF_RANGE', (what, range) => `${what} must be ${range}`],
  QueueDependencies: [Error, 'ERR_BCRYPT_QUEUE_DEPENDENCIES', (missing) => `bcrypt-offload/queue needs ${missing}: npm install ${PEERS}`],
  QueueKey: [
    RangeError,
    'ERR_BCRYPT_QUEUE_KEY',
    (got) => `the queue key must be 32 bytes (a Buffer, or base64 in BCRYPT_OFFLOAD_QUEUE_KEY); got ${got}`,
  ],
  QueueUrl: [TypeError, 'ERR_INVALID_ARG_VALUE', (got) => `redis must be a redis:// or rediss:// URL; got ${got}`],
  QueueUnavailable: [Error, 'ERR_BCRYPT_QUEUE_UNAVAILABLE', (reason) => `bcrypt-offload/queue: Redis is unavailable (${reason})`],
  QueueTimeout: [Error, 'ERR_BCRYPT_QUEUE_TIMEOUT', (ms) => `bcrypt-offload/queue: no answer within ${ms} ms (the timeout)`],
  QueueWaitingFull: [
    Error,
    'ERR_BCRYPT_QUEUE_FULL',
    (maxWaiting) => `bcrypt-offload/queue: ${maxWaiting} jobs are already waiting for a worker (maxWaiting)`,
  ],
  // A result that did not open.
  QueueTampered: [Error, 'ERR_BCRYPT_QUEUE_TAMPERED', () => tampered('a result')],
  // A request a worker refused, by the refusal's name.
  QueueRefused: [Error, 'ERR_BCRYPT_QUEUE_TAMPERED', (refusal) => tampered(`the request (${REFUSED[refusal]})`)],
  QueueFailed: [Error, 'ERR_BCRYPT_QUEUE_FAILED', (reason) => `bcrypt-offload/queue: a worker failed the job: ${reason}`],
  // A worker met jobs sealed under another key's id and no client has announced its own key.
  QueueWorkerKey: [
    Error,
    'ERR_BCRYPT_QUEUE_WORKER_KEY',
    (keyId) =>
      `bcrypt-offload/queue: this worker's key (id ${keyId}) is not the clients': the jobs name another key, and no client has announced this one. It puts back the jobs it took and takes no more until a client with its key connects`,
  ],
  // What an argon2 call through the tier may carry (envelope.js, ARGON2_LIMITS): `what` names the
  // argument or option, `limit` its bound; the length given, never the value.
  QueueArgon2Limit: [
    RangeError,
    'ERR_BCRYPT_QUEUE_ARGON2_LIMIT',
    (what, length, limit) => `bcrypt-offload/queue: ${what} is ${length}, more than the tier carries for argon2 (${limit})`,
  ],
  QueueClosed: [Error, 'ERR_BCRYPT_QUEUE_CLOSED', () => 'bcrypt-offload/queue: the client is closed'],
}

/** The error `name` of the table, worded from `facts`. */
function error(name, ...facts) {
  const [Class, code, message] = ERRORS[name]
  const err = new Class(message(...facts))
  err.code = code
  return err
}

module.exports = { error }
