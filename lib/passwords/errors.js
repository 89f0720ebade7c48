'use strict'

// The errors of bcrypt-offload/passwords, in one table: what a bad policy or argument throws
// (class, Node-style code, message), and the reasons a verify gives instead of throwing when the
// stored value is not one it can check. The pool's own failures (a full queue, a deadline, an
// abort) pass through as the bcrypt facade (lib/errors.js) or argon2.js word them.

const ERRORS = {
  NotPlainObject: [TypeError, 'ERR_INVALID_ARG_TYPE', (what) => `${what} must be a plain object`],
  BadAlgorithm: [TypeError, 'ERR_INVALID_ARG_VALUE', (got) => `policy.algorithm must be "argon2id" or "bcrypt", got ${got}`],
  NotApplicable: [TypeError, 'ERR_INVALID_ARG_VALUE', (name, algorithm) => `policy.${name} does not apply to ${algorithm}`],
  OutOfRange: [RangeError, 'ERR_OUT_OF_RANGE', (what, range, got) => `${what} must be ${range}, got ${got}`],
  PasswordType: [TypeError, 'ERR_INVALID_ARG_TYPE', () => 'password must be a string or a Uint8Array'],
  NotTierClient: [TypeError, 'ERR_INVALID_ARG_TYPE', () => 'options.tier must be a client from bcrypt-offload/queue connect()'],
}

/** The error `name` of the table, worded from `facts` (never a password or a stored hash). */
function error(name, ...facts) {
  const [Class, code, message] = ERRORS[name]
  const err = new Class(message(...facts))
  err.code = code
  return err
}

/** Why a verify answered `ok: false`: the `reason` of its result. */
const REASONS = Object.freeze({
  /** The password does not match a stored hash that could be checked. */
  MISMATCH: 'ERR_PASSWORD_MISMATCH',
  /** Not a string, or no format this module knows. */
  UNKNOWN: 'ERR_PASSWORD_HASH_UNKNOWN',
  /** A known format whose fields are invalid. */
  MALFORMED: 'ERR_PASSWORD_HASH_MALFORMED',
  /** Well formed, but asks for more work than any real deployment stores, or more memory than the pool's budget. */
  TOO_COSTLY: 'ERR_PASSWORD_HASH_TOO_COSTLY',
})

module.exports = { error, REASONS }
