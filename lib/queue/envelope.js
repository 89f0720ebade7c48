'use strict'

// What crosses Redis, sealed. Anyone who can read Redis (its keys, its AOF and RDB files, its
// slowlog, a replica, a backup) must not see a password, and anyone who can write to it must not be
// able to change an answer: turn a wrong password's `compare` into `true`, or hand one caller the
// hash made for another. So every request and every result is sealed with AES-256-GCM under a key
// that only the callers and the workers hold:
//
// - The key for a job is derived from the shared key with HKDF-SHA-256, salted with the job's id (a
//   random UUID the caller picks). Each job has a key of its own, so GCM's limit on random IVs per
//   key (2^32 messages) never comes near, however long the shared key lives.
// - The associated data names the format, the queue, the job id and the direction ('request' or
//   'result'). A result opens only for the job it was made for, so a result copied from another job
//   fails; a request cannot be passed off as a result, nor a job moved to another queue.
// - A sealed message is one base64 string: version (1 byte), IV (12), ciphertext, tag (16).
// - Its length says nothing of what it holds: every request is one fixed size, and so is every
//   result (below), so that neither a password's length, a fair-share key's, a salt's, whether a
//   compare is for an unknown user, nor compare's answer (`true` and `false` differ by a byte) shows.
//   argon2's requests and results have fixed sizes of their own (ARGON2_LIMITS): the size says a
//   job is argon2's, nothing more.
//
// What stays in the clear: the job's name (`hash` or `compare`), its BullMQ priority (the call's
// class and operation, lib/queue/client.js), its id, its timestamps, and the key's id (a keyed
// digest of it, so that a worker given another key says so rather than "tampered").

const { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } = require('node:crypto')

const { MAX_PASSWORD_BYTES } = require('../../binding.js')
const { passwordBytes } = require('../api.js')

const FORMAT = 2
const KEY_BYTES = 32
const IV_BYTES = 12
const TAG_BYTES = 16

const REQUEST = 'request'
const RESULT = 'result'

/** A public name of the key: the first 8 bytes of HMAC-SHA-256(key, a fixed label), in hex. */
function keyId(key) {
  return createHmac('sha256', key).update('bcrypt-offload queue key id').digest('hex').slice(0, 16)
}

function jobKey(key, queue, jobId) {
  return Buffer.from(hkdfSync('sha256', key, jobId, `bcrypt-offload/queue v${FORMAT} ${queue}`, KEY_BYTES))
}

const associatedData = (queue, jobId, direction) => Buffer.from(JSON.stringify([`bcrypt-offload/queue v${FORMAT}`, queue, jobId, direction]))

/** `plaintext` (a Buffer, zeroed here once sealed) sealed for one job and direction. */
function seal(key, queue, jobId, direction, plaintext) {
  const k = jobKey(key, queue, jobId)
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', k, iv)
  cipher.setAAD(associatedData(queue, jobId, direction))
  const sealed = Buffer.concat([Buffer.of(FORMAT), iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
  k.fill(0)
  plaintext.fill(0)
  return sealed.toString('base64')
}

/** The plaintext Buffer, or `undefined` if `sealed` is not a message sealed for this job and direction. */
function open(key, queue, jobId, direction, sealed) {
  if (typeof sealed !== 'string') return undefined
  const bytes = Buffer.from(sealed, 'base64')
  if (bytes.length < 1 + IV_BYTES + TAG_BYTES || bytes[0] !== FORMAT) return undefined
  const k = jobKey(key, queue, jobId)
  try {
    const decipher = createDecipheriv('aes-256-gcm', k, bytes.subarray(1, 1 + IV_BYTES))
    decipher.setAAD(associatedData(queue, jobId, direction))
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES))
    return Buffer.concat([decipher.update(bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()])
  } catch {
    return undefined
  } finally {
    k.fill(0)
  }
}

// Plaintexts are padded to a whole number of blocks, and every request and every result fits one.
// A request carries only what decides its answer, each part of bounded size (see `sealRequest`):
// the header (30 bytes), a setting of at most 60 (a stored hash), a fair-share key's digest (44)
// and the 72 bytes bcrypt reads of the password: 206. A result is a hash (73 bytes of JSON), a
// boolean, `expired`, or a failure with its facts (under 100). The one result that can be longer is
// a worker's own misconfiguration (`BadEnv` quotes the variable's value, `PoolSpawn` the OS's
// reason), the same for every job that worker takes: it takes more blocks and says nothing of a
// call.
const REQUEST_BLOCK = 256
const RESULT_BLOCK = 128
const blocks = (bytes, block) => Math.max(1, Math.ceil(bytes / block)) * block

// argon2 reads the whole password (there is no prefix of it that gives the same hash), so an argon2
// request carries all of it, and the tier bounds what it carries instead: a password of up to
// 1,024 bytes (NIST SP 800-63B asks that at least 64 characters be accepted: 64 of the widest UTF-8
// characters are 256 bytes), salt, secret and associated data of up to 64 bytes each, a hash of up
// to 128 bytes, and a stored digest of up to 512 characters (a PHC string at all those maxima is
// under 420). The client refuses more (ERR_BCRYPT_QUEUE_ARGON2_LIMIT) before anything is sealed.
// Each request then fits one fixed size: the header (30), the job as JSON (at most about 700: six
// 10-digit numbers and three 88-character base64 fields, or the digest and a secret), the key's
// digest (44) and the password (1,024): 2,048 bytes. A result is one PHC string or a raw hash's
// base64 (at most 420 characters of JSON), a boolean or a failure: 512 bytes. So the size of an
// argon2 job says that it is one (as its name says hash or compare), and nothing of its password.
const ARGON2_LIMITS = Object.freeze({ password: 1024, salt: 64, secret: 64, associatedData: 64, hashLength: 128, digest: 512 })
const ARGON2_REQUEST_BYTES = 2048
const ARGON2_RESULT_BYTES = 512
const isArgon2 = (op) => op.startsWith('argon2')

/** The plaintext size every result of `op` is padded to (a longer one takes more blocks, see above). */
const resultSize = (op) => (isArgon2(op) ? ARGON2_RESULT_BYTES : RESULT_BLOCK)

// What a request carries of its password: the 72 bytes bcrypt's key schedule reads of it, exactly
// as src/format.rs's `key_words` reads them (OpenBSD's bcrypt.c): the password and a NUL, cycled,
// capped at 72 bytes for `$2b$`/`$2y$`; for `$2a$` the key length (+1 for the NUL) taken modulo 256
// (the pre-2014 wraparound the `bcrypt` package keeps), for `$2$` the length modulo 256 and no NUL.
// As a password of its own those 72 bytes give the same key under every minor (72 bytes and no
// cycling: the NUL after them falls past the 72 read), so the worker computes exactly what the
// caller's pool would, from a fixed number of bytes: no length shows, and no byte past the 72 read
// (or the whole of a megabyte password) ever leaves the caller. `__test__/queue-sizes.test.js`
// holds this to the binding's own hashes for every minor across lengths 0 to 600.
function keyBytes(minor, password) {
  const length = password.length
  const cycle = minor === 'a' ? (length + 1) % 256 : minor === '' ? length % 256 : Math.min(length, MAX_PASSWORD_BYTES) + 1
  const out = Buffer.alloc(MAX_PASSWORD_BYTES)
  for (let i = 0, j = 0; i < MAX_PASSWORD_BYTES; i++, j++) {
    if (j >= cycle) j = 0
    out[i] = j < length ? password[j] : 0
  }
  return out
}

// The minor of a setting as the binding parses it (`$2a$`, `$2$`, otherwise `$2b$`/`$2y$`, which
// read a password alike, or compareUnknown's cost: a new `$2b$` salt). For a setting the binding
// refuses, the password decides nothing.
const minorOf = (setting) => (setting.startsWith('$2a$') ? 'a' : setting.startsWith('$2$') ? '' : 'b')

// Of a salt string bcrypt reads `$2x$NN$` and 22 characters (28 for `$2$`) and ignores the rest
// (the hash part, when a whole hash is given as the salt): the first 29 characters decide the hash,
// or that it is refused, exactly as the whole string would (past a non-ASCII character among them
// the binding refuses both).
const SALT_CHARS_READ = 29

// A fair-share key (up to 1024 characters, lib/api.js) travels as its SHA-256, base64: the worker's
// pool only tells keys apart, and a digest has one length.
const keyDigest = (key) => createHash('sha256').update(key, 'utf8').digest('base64')

// The two messages. A request carries the operation (a Backend's call, lib/api.js), the password's
// 72 key bytes (`keyBytes`), the setting: the salt (hash; the 29 characters read), the stored hash
// (compare) or the cost (compareUnknown); how the worker's pool schedules it: the class (0 high, 1
// normal, 2 low) and the fair-share key's digest; and two times (ms since the epoch): the tier's
// deadline, after which the caller has given up and a worker drops the job even mid-hash, and the
// call's own start-by deadline (the facade's `timeout` or `deadline` option, when earlier; Infinity
// when none), after which a job not yet started is dropped uncomputed. The job's name says the
// operation too, but names are not sealed: a worker goes by the sealed one.
// Layout: deadline (8 bytes, float64 BE), start-by (8, float64 BE), operation (1), class (1),
// setting length (4), key length (4, NO_KEY when there is none), password length (4), setting
// (UTF-8), key (UTF-8), password bytes, zeros to the end of the last block.

// argon2's operations (lib/argon2/api.js's backend) take the same layout: their setting is the job
// as JSON (`argon2Setting`), their password bytes the whole password.
const OPS = ['hash', 'compare', 'compareUnknown', 'argon2Hash', 'argon2HashRaw', 'argon2Verify']
const CLASSES = 3
const HEADER = 30
const NO_KEY = 0xffffffff

/**
 * `data` is a password as the facade admits it (a string or a Uint8Array), read through
 * `passwordBytes`, as the binding reads it; what is sealed of it is its 72 key bytes (`keyBytes`).
 */
function sealRequest(key, queue, jobId, { op, setting, data, deadline, startBy = Infinity, schedule = {} }) {
  const argon2 = isArgon2(op)
  const settingBytes = Buffer.from(op === 'hash' ? setting.slice(0, SALT_CHARS_READ) : setting, 'utf8')
  const scheduleKey = Buffer.from(schedule.key === undefined ? '' : keyDigest(schedule.key), 'utf8')
  const bytes = passwordBytes(data)
  const password = argon2 ? Buffer.from(bytes) : keyBytes(minorOf(setting), bytes)
  if (typeof data === 'string') bytes.fill(0)
  const length = HEADER + settingBytes.length + scheduleKey.length + password.length
  // ARGON2_LIMITS keep every argon2 request within its size; one past it would show its length.
  if (argon2 && length > ARGON2_REQUEST_BYTES) {
    password.fill(0)
    throw new RangeError(`an argon2 request of ${length} bytes does not fit the tier's ${ARGON2_REQUEST_BYTES}`)
  }
  const plaintext = Buffer.alloc(argon2 ? ARGON2_REQUEST_BYTES : blocks(length, REQUEST_BLOCK))
  plaintext.writeDoubleBE(deadline, 0)
  plaintext.writeDoubleBE(startBy, 8)
  plaintext.writeUInt8(OPS.indexOf(op), 16)
  plaintext.writeUInt8(schedule.class ?? 1, 17)
  plaintext.writeUInt32BE(settingBytes.length, 18)
  plaintext.writeUInt32BE(schedule.key === undefined ? NO_KEY : scheduleKey.length, 22)
  plaintext.writeUInt32BE(password.length, 26)
  settingBytes.copy(plaintext, HEADER)
  scheduleKey.copy(plaintext, HEADER + settingBytes.length)
  password.copy(plaintext, HEADER + settingBytes.length + scheduleKey.length)
  password.fill(0)
  return seal(key, queue, jobId, REQUEST, plaintext)
}

/**
 * `{ op, setting, data, deadline, startBy, schedule: { class, key } }` (data a Buffer the caller
 * zeroes after use), or `undefined`.
 */
function openRequest(key, queue, jobId, sealed) {
  const plaintext = open(key, queue, jobId, REQUEST, sealed)
  if (!plaintext || plaintext.length < HEADER) return undefined
  const op = OPS[plaintext[16]]
  const cls = plaintext[17]
  const settingLength = plaintext.readUInt32BE(18)
  const keyLength = plaintext.readUInt32BE(22)
  const passwordLength = plaintext.readUInt32BE(26)
  const keyBytes = keyLength === NO_KEY ? 0 : keyLength
  const end = HEADER + settingLength + keyBytes + passwordLength
  if (op === undefined || cls >= CLASSES || plaintext.length < end) return undefined
  const keyAt = HEADER + settingLength
  return {
    op,
    deadline: plaintext.readDoubleBE(0),
    startBy: plaintext.readDoubleBE(8),
    schedule: { class: cls, key: keyLength === NO_KEY ? undefined : plaintext.toString('utf8', keyAt, keyAt + keyBytes) },
    setting: plaintext.toString('utf8', HEADER, keyAt),
    data: plaintext.subarray(keyAt + keyBytes, end),
  }
}

// An argon2 job (the binding's options as lib/argon2/api.js fills them in, or a verify's
// `{ digest, secret }`) as a request's setting, and back: JSON, its byte fields in base64.
const BYTE_FIELDS = ['salt', 'secret', 'associatedData']
const argon2Setting = (job) =>
  JSON.stringify(job, (name, value) => (BYTE_FIELDS.includes(name) && value != null ? Buffer.from(value).toString('base64') : value))
function argon2Job(setting) {
  const job = JSON.parse(setting)
  for (const name of BYTE_FIELDS) if (typeof job[name] === 'string') job[name] = Buffer.from(job[name], 'base64')
  return job
}

// A result is JSON, padded with spaces (which JSON.parse skips): `{ value }` (the hash, or a
// compare's boolean), `{ error: { kind, facts } }` (a native failure of the worker's binding, on the
// wire as lib/errors.js has it: the caller's facade words it), or `{ expired: true }` (the tier's
// deadline passed before a worker got to it).

// `size`: the operation's (`resultSize`).
function sealResult(key, queue, jobId, result, size = RESULT_BLOCK) {
  const json = Buffer.from(JSON.stringify(result))
  const plaintext = Buffer.alloc(json.length <= size ? size : blocks(json.length, RESULT_BLOCK), ' ')
  json.copy(plaintext)
  return seal(key, queue, jobId, RESULT, plaintext)
}

function openResult(key, queue, jobId, sealed) {
  const plaintext = open(key, queue, jobId, RESULT, sealed)
  if (!plaintext) return undefined
  try {
    const result = JSON.parse(plaintext.toString('utf8'))
    return result !== null && typeof result === 'object' ? result : undefined
  } catch {
    return undefined
  }
}

// Why a worker refuses a request, as the failure reason it leaves on the job: a fixed code that the
// caller reads by exact match. Failures come through the event stream, which is not authenticated,
// so a reason can only ever make a call reject.
const REFUSALS = {
  // The job names another key's id: this worker holds another key.
  otherKey: 'ERR_BCRYPT_QUEUE_REFUSED_OTHER_KEY',
  // The request did not open under this worker's key for this job.
  unauthenticated: 'ERR_BCRYPT_QUEUE_REFUSED_UNAUTHENTICATED',
}

/** The refusal (a name of REFUSALS) a failure reason is; `undefined` for any other reason. */
const refusalOf = (reason) => Object.keys(REFUSALS).find((name) => REFUSALS[name] === reason)

/**
 * The shared key from an option (a 32-byte Buffer/Uint8Array or a base64 string) or, absent that,
 * the environment's BCRYPT_OFFLOAD_QUEUE_KEY (base64). Returns a Buffer of its own, or a string
 * saying what was wrong (for the error table; never the key itself).
 */
function keyFrom(option, env = process.env) {
  const given = option ?? env.BCRYPT_OFFLOAD_QUEUE_KEY
  if (given === undefined || given === '') return 'none (set the key option or BCRYPT_OFFLOAD_QUEUE_KEY)'
  let bytes
  if (typeof given === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(given.trim())) return 'a string that is not base64'
    bytes = Buffer.from(given.trim(), 'base64')
  } else if (given instanceof Uint8Array) {
    bytes = Buffer.from(given)
  } else {
    return `a ${typeof given}`
  }
  if (bytes.length !== KEY_BYTES) return `${bytes.length} bytes`
  return bytes
}

/** A fresh key, base64, for BCRYPT_OFFLOAD_QUEUE_KEY. */
const newKey = () => randomBytes(KEY_BYTES).toString('base64')

module.exports = { keyId, keyFrom, newKey, sealRequest, openRequest, sealResult, openResult, resultSize, argon2Setting, argon2Job, REFUSALS, refusalOf, ARGON2_LIMITS }
