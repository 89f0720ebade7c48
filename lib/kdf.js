'use strict'

// Internal: PBKDF2-HMAC-SHA256 and scrypt on the package's pool, for bcrypt-offload/passwords,
// which verifies hashes other systems stored (Django's pbkdf2_sha256, Better Auth's scrypt). Not a
// public entry point: its one caller knows the formats' parameters. Each call is a pool task
// (src/pool, `Task`): off libuv's threadpool and off the event loop, scheduled, cancelled and
// bounded as bcrypt's jobs are; scrypt's memory (128·N·r bytes and a little) counts against the
// pool's memory budget (`configure({ argon2MemoryBudget })`).
//
//   pbkdf2Sha256(password, salt, iterations, keyLength, schedule) → Promise<Buffer>
//   scrypt(password, salt, { N, r, p, keyLength }, schedule)      → Promise<Buffer>
//   equal(a, b) → boolean, in a time that depends on the lengths only
//
// `password` and `salt` are strings (UTF-8) or Uint8Arrays, copied before the call returns.
// `schedule` is optional: `{ signal, priority, key, timeout, deadline }`, as bcrypt's options.
// Both are urgent jobs (a login waits on them), as a bcrypt compare is.

const { timingSafeEqual } = require('node:crypto')
const { types } = require('node:util')

const { createCalls } = require('./api.js')
const { createErrors } = require('./errors.js')

const U32 = 2 ** 32 - 1

/** The KDFs over `binding` (a fake one in tests). */
function createKdf(binding) {
  const errors = createErrors(binding)
  const { error } = errors
  const { optionsOf, signalOf, scheduleOf, cancellable } = createCalls(errors, () => new binding.Cancellation())

  const bytesOf = (value, what) => {
    if (typeof value === 'string') return Buffer.from(value, 'utf8')
    if (types.isUint8Array(value)) return value
    throw error('NotData', what)
  }
  const passwordOf = (password) => {
    if (typeof password !== 'string' && !types.isUint8Array(password)) throw error('NotData', 'password')
    return password
  }
  const u32Of = (value, what) => {
    if (typeof value !== 'number') throw error('NotNumber', what)
    if (!Number.isInteger(value) || value < 0 || value > U32) throw error('OutOfRange', what, 'a whole number from 0 to 2^32-1')
    return value
  }

  // Checks the arguments, then queues `run(cancellation, schedule)` tied to the schedule's signal
  // and deadline. A throw before queueing becomes a rejection, as from any async function.
  async function queue(schedule, run) {
    const opts = optionsOf(schedule)
    return cancellable(signalOf(opts), scheduleOf(opts), (job) => run(job.cancellation, job.schedule))
  }

  /** PBKDF2-HMAC-SHA256: `keyLength` bytes from `iterations` rounds. */
  async function pbkdf2Sha256(password, salt, iterations, keyLength, schedule) {
    const pw = passwordOf(password)
    const s = bytesOf(salt, 'salt')
    const c = u32Of(iterations, 'iterations')
    const len = u32Of(keyLength, 'keyLength')
    return queue(schedule, (cancellation, sched) => binding.pbkdf2Sha256(pw, s, c, len, cancellation, sched))
  }

  /** scrypt with cost `N` (a power of two), block size `r` and parallelism `p`: `keyLength` bytes. */
  async function scrypt(password, salt, params, schedule) {
    const pw = passwordOf(password)
    const s = bytesOf(salt, 'salt')
    if (params === null || typeof params !== 'object') throw error('NotObject', 'params')
    const N = u32Of(params.N, 'N')
    const r = u32Of(params.r, 'r')
    const p = u32Of(params.p, 'p')
    const len = u32Of(params.keyLength, 'keyLength')
    return queue(schedule, (cancellation, sched) => binding.scrypt(pw, s, N, r, p, len, cancellation, sched))
  }

  /** Whether two byte strings are equal, without telling how much of them is. */
  function equal(a, b) {
    if (!types.isUint8Array(a) || !types.isUint8Array(b)) throw error('NotBytes', 'a and b')
    return a.byteLength === b.byteLength && timingSafeEqual(a, b)
  }

  return { pbkdf2Sha256, scrypt, equal }
}

module.exports = { createKdf, ...createKdf(require('../binding.js')) }
