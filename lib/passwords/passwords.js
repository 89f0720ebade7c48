'use strict'

// createPasswords(policy, backends): verify whatever is stored, say whether it should be replaced,
// and make today's hash, as Django's check_password and Spring's DelegatingPasswordEncoder do. A
// function of its backends (bcrypt-offload, bcrypt-offload/argon2, lib/kdf.js: every computation
// on the package's pool, none on the event loop or libuv's threads) so that the entry point,
// passwords.js, plugs the real ones in. One file per stored format beside this one.

const { error, REASONS } = require('./errors.js')
const { checkPolicy } = require('./policy.js')

// The pool's refusal of a job that needs more memory than its whole budget (lib/errors.js): for a
// stored hash, one this pool cannot check, answered as the other unreadable values are.
const OVER_BUDGET = 'ERR_BCRYPT_MEMORY_BUDGET'

// In the order they are tried; each recognises its own values by their prefix or shape only, so
// at most one claims a string.
const FORMATS = [require('./bcrypt.js'), require('./argon2.js'), require('./django.js'), require('./legacy.js'), require('./better-auth.js')]

const isPassword = (value) => typeof value === 'string' || value instanceof Uint8Array

/** `{ format, … }` for a value a format can check, or `{ reason }` for one none can. */
function identify(stored) {
  if (typeof stored !== 'string') return { reason: REASONS.UNKNOWN }
  for (const format of FORMATS) {
    const parsed = format.parse(stored)
    if (parsed === undefined) continue
    return parsed.reason ? { reason: parsed.reason } : { parsed, format }
  }
  return { reason: REASONS.UNKNOWN }
}

/**
 * @param {object} policy `{ algorithm: 'argon2id', memoryCost?, timeCost?, parallelism? }` or
 *   `{ algorithm: 'bcrypt', cost? }` (passwords.d.ts has the defaults)
 * @param {{ bcrypt: object, argon2: object, kdf: object }} backends
 */
function createPasswords(policy, backends) {
  const current = checkPolicy(policy)

  const argon2Options = (schedule) => ({
    type: backends.argon2.argon2id,
    memoryCost: current.memoryCost,
    timeCost: current.timeCost,
    parallelism: current.parallelism,
    ...schedule,
  })

  // For unknown accounts and unreadable stored values: a verify's work at the policy's cost. For
  // argon2id that is a verify against a decoy hash made once at the policy's parameters (made on
  // first need, and made again if that failed, say on a full queue).
  let decoy
  function decoyDigest() {
    if (decoy === undefined) {
      decoy = backends.argon2.hash('bcrypt-offload/passwords decoy', argon2Options())
      decoy.catch(() => {
        decoy = undefined
      })
    }
    return decoy
  }

  function checkArguments(password, schedule) {
    if (!isPassword(password)) throw error('PasswordType')
    if (schedule !== undefined && (schedule === null || typeof schedule !== 'object')) throw error('NotPlainObject', 'schedule')
  }

  /** Today's hash of `password`, on the pool. */
  async function hash(password, schedule) {
    checkArguments(password, schedule)
    if (current.algorithm === 'bcrypt') return backends.bcrypt.hash(password, current.cost, schedule)
    return backends.argon2.hash(password, argon2Options(schedule))
  }

  /** The work of a verify at the policy's cost, for an account that does not exist; always false. */
  async function verifyUnknown(password, schedule) {
    checkArguments(password, schedule)
    if (current.algorithm === 'bcrypt') return backends.bcrypt.compareUnknown(password, { rounds: current.cost, ...schedule })
    await backends.argon2.verify(await decoyDigest(), password, schedule)
    return false
  }

  async function unreadable(password, schedule, reason) {
    await verifyUnknown(password, schedule)
    return { ok: false, needsRehash: true, reason }
  }

  /**
   * `{ ok, needsRehash, reason? }` for `password` against `stored`, whatever its format. A value
   * no format can check costs the same work (verifyUnknown) and answers `ok: false` with its
   * reason; it never throws. What rejects: a bad password or schedule argument, and the pool's own
   * refusals (a full queue, a deadline, an abort), as a login that was not checked.
   */
  async function verify(password, stored, schedule) {
    checkArguments(password, schedule)
    const { parsed, format, reason } = identify(stored)
    if (reason) return unreadable(password, schedule, reason)
    let ok
    try {
      ok = (await format.verify(backends, password, parsed, schedule)) === true
    } catch (err) {
      if (err?.code !== OVER_BUDGET) throw err
      return unreadable(password, schedule, REASONS.TOO_COSTLY)
    }
    const needsRehash = !format.current(parsed, current)
    return ok ? { ok, needsRehash } : { ok, needsRehash, reason: REASONS.MISMATCH }
  }

  /** Whether `stored` is other than what `hash()` makes today (anything unreadable is). Synchronous: no password needed. */
  function needsRehash(stored) {
    const { parsed, format } = identify(stored)
    return !format || !format.current(parsed, current)
  }

  /** The format `stored` is in ('bcrypt', 'argon2id', …), or undefined for one no format reads. */
  const formatOf = (stored) => identify(stored).parsed?.format

  return Object.freeze({ policy: current, hash, verify, verifyUnknown, needsRehash, formatOf })
}

module.exports = { createPasswords, REASONS }
