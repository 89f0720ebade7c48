'use strict'

// bcrypt-offload/argon2: a drop-in for the `argon2` npm package (hash, verify, needsRehash, their
// option names and constants), computed on this package's own pool instead of libuv's threadpool,
// as a function of the native binding and a backend (`createArgon2(binding, backend)`; argon2.js
// plugs in the real binding and its pool, the queue tier's client a backend that sends jobs).
// Every check, default and message is here, whichever backend computes.
//
// What differs from `argon2`, on purpose:
// - Defaults are OWASP's (Password Storage Cheat Sheet): argon2id, memoryCost 19456 KiB, timeCost 2,
//   parallelism 1, a 32-byte hash, a 16-byte salt; `argon2`'s are 65536 KiB, 3, 4. Hashes either
//   made verify with both; `needsRehash` without options compares against ours.
// - `verify` resolves `false` for a digest that is not a well-formed argon2 PHC string (`argon2`
//   throws for some and answers `false` for others): a login never tells them apart.
// - `needsRehash` also compares the type (an argon2i hash under an argon2id policy needs one).
// - Options may add `signal`, `priority`, `key`, `timeout` and `deadline`, as bcrypt's calls take.
// - A job whose memory the pool's whole budget could not hold is refused at once
//   (ERR_BCRYPT_MEMORY_BUDGET); within it, jobs wait in the queue for memory.
// The sync forms (`hashSync`, `verifySync`) compute on the calling thread, outside the pool's queue
// (for scripts and start-up, not for a server's requests); a job past the whole memory budget is
// refused there too (ERR_BCRYPT_MEMORY_BUDGET), so a hostile digest cannot ask for terabytes.

const { randomBytes } = require('node:crypto')
const { types } = require('node:util')

const { createCalls, API_VERSION } = require('../api.js')
const { createErrors } = require('../errors.js')

const argon2d = 0
const argon2i = 1
const argon2id = 2
const VERSION = 0x13
const U32 = 2 ** 32 - 1

/**
 * What computes argon2's asynchronous calls, as lib/api.js's Backend does bcrypt's: `job` is the
 * binding's options as `jobOf` fills them in, `call` is `{ cancellation, schedule }` (either absent);
 * failures reject with a native kind or an error that has its `code`.
 *
 * @typedef {object} Argon2Backend
 * @property {(password: string | Uint8Array, job: object, call: object) => Promise<string>} hash a PHC string
 * @property {(password: string | Uint8Array, job: object, call: object) => Promise<Buffer>} hashRaw the hash's bytes
 * @property {(digest: string, password: string | Uint8Array, secret: Uint8Array | undefined, call: object) => Promise<boolean>} verify
 *   a digest that is not a well-formed argon2 PHC string resolves `false`
 * @property {() => object} cancellation a handle for one call, as lib/api.js's
 */

/** The local pool as an argon2 backend: the binding's own calls. */
function localArgon2Backend(binding) {
  return {
    hash: (password, job, call) => binding.argon2Hash(password, job, call.cancellation, call.schedule),
    hashRaw: (password, job, call) => binding.argon2HashRaw(password, job, call.cancellation, call.schedule),
    verify: (digest, password, secret, call) => binding.argon2Verify(digest, password, secret, call.cancellation, call.schedule),
    cancellation: () => new binding.Cancellation(),
  }
}

function createArgon2(binding, backend = localArgon2Backend(binding)) {
  const errors = createErrors(binding)
  const { error } = errors
  if (binding.API_VERSION !== API_VERSION) throw error('ApiMismatch', binding.API_VERSION, API_VERSION)
  const { sync, optionsOf, signalOf, scheduleOf, cancellable } = createCalls(errors, () => backend.cancellation())

  // The defaults live in Rust (src/kdf/argon2.rs); these are the values it exports.
  const defaults = Object.freeze({
    type: argon2id,
    version: VERSION,
    memoryCost: binding.ARGON2_DEFAULT_MEMORY_COST,
    timeCost: binding.ARGON2_DEFAULT_TIME_COST,
    parallelism: binding.ARGON2_DEFAULT_PARALLELISM,
    hashLength: binding.ARGON2_DEFAULT_HASH_LENGTH,
  })

  const isData = (value) => typeof value === 'string' || types.isUint8Array(value)

  function passwordOf(password) {
    if (!isData(password)) throw error('NotData', 'password')
    return password
  }

  // A number the binding reads as u32; its algorithm's limits are the binding's to check.
  function u32Of(options, name) {
    const value = options?.[name] ?? defaults[name]
    if (typeof value !== 'number') throw error('NotNumber', `options.${name}`)
    if (!Number.isInteger(value) || value < 0 || value > U32) throw error('OutOfRange', `options.${name}`, 'a whole number from 0 to 2^32-1')
    return value
  }

  function bytesOf(options, name) {
    const value = options?.[name]
    if (value === undefined) return undefined
    if (!types.isUint8Array(value)) throw error('NotBytes', `options.${name}`)
    return value
  }

  // The binding's job options from the user's, defaults filled in and a salt drawn from the
  // synchronous CSPRNG (microseconds; the asynchronous one would queue on libuv's threadpool).
  function jobOf(options) {
    const raw = options?.raw ?? false
    if (typeof raw !== 'boolean') throw error('NotBoolean', 'options.raw')
    return {
      raw,
      job: {
        variant: u32Of(options, 'type'),
        version: u32Of(options, 'version'),
        memoryCost: u32Of(options, 'memoryCost'),
        timeCost: u32Of(options, 'timeCost'),
        parallelism: u32Of(options, 'parallelism'),
        hashLength: u32Of(options, 'hashLength'),
        salt: bytesOf(options, 'salt') ?? randomBytes(binding.ARGON2_DEFAULT_SALT_LENGTH),
        secret: bytesOf(options, 'secret'),
        associatedData: bytesOf(options, 'associatedData'),
      },
    }
  }

  /**
   * The argon2 hash of `password`: a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), or with
   * `raw: true` the hash's bytes. On the pool.
   */
  // Async functions, so that an argument error rejects rather than throws, as `argon2`'s do.
  async function hash(password, options) {
    const pw = passwordOf(password)
    const opts = optionsOf(options)
    const { raw, job } = jobOf(opts)
    const run = raw ? backend.hashRaw : backend.hash
    return cancellable(signalOf(opts), scheduleOf(opts), (call) => run(pw, job, call))
  }

  /** The same on the calling thread. */
  function hashSync(password, options) {
    const pw = passwordOf(password)
    const { raw, job } = jobOf(optionsOf(options))
    return sync(() => (raw ? binding.argon2HashRawSync(pw, job) : binding.argon2HashSync(pw, job)))
  }

  function digestOf(digest) {
    if (typeof digest !== 'string') throw error('NotString', 'digest')
    return digest
  }

  /**
   * Whether `password` (with `options.secret`, if it was hashed with one) matches `digest`. On the
   * pool, scheduled as a login (before queued hashes, as bcrypt's compare). A digest that is not a
   * well-formed argon2 PHC string resolves `false`.
   */
  async function verify(digest, password, options) {
    const d = digestOf(digest)
    const pw = passwordOf(password)
    const opts = optionsOf(options)
    const secret = bytesOf(opts, 'secret')
    return cancellable(signalOf(opts), scheduleOf(opts), (call) => backend.verify(d, pw, secret, call))
  }

  /** The same on the calling thread. */
  function verifySync(digest, password, options) {
    const d = digestOf(digest)
    const pw = passwordOf(password)
    const secret = bytesOf(optionsOf(options), 'secret')
    return sync(() => binding.argon2VerifySync(d, pw, secret))
  }

  /**
   * Whether `digest` was made with other parameters (type, version, memoryCost, timeCost,
   * parallelism) than `options` gives, or the defaults. Throws a TypeError for a digest that is
   * not an argon2 PHC string, as `argon2` does.
   */
  function needsRehash(digest, options) {
    const info = binding.argon2Info(digestOf(digest))
    if (!info) throw error('NotArgon2Hash')
    const opts = optionsOf(options)
    return (
      info.variant !== u32Of(opts, 'type') ||
      info.version !== u32Of(opts, 'version') ||
      info.memoryCost !== u32Of(opts, 'memoryCost') ||
      info.timeCost !== u32Of(opts, 'timeCost') ||
      info.parallelism !== u32Of(opts, 'parallelism')
    )
  }

  const argon2 = { argon2d, argon2i, argon2id, defaults, hash, hashSync, verify, verifySync, needsRehash }
  // For TypeScript's `import argon2 from 'bcrypt-offload/argon2'` under CommonJS interop.
  argon2.default = argon2
  return argon2
}

module.exports = { createArgon2, localArgon2Backend }
