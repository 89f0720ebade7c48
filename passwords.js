'use strict'

// `bcrypt-offload/passwords`: verify-and-upgrade across stored formats (bcrypt, argon2, Django's
// PBKDF2, Better Auth's scrypt, the tier's wrapped MD5/SHA-1), over the package's own pool.
// Types and documentation: passwords.d.ts. The code: lib/passwords/. The backends are loaded on
// first use, so that a bcrypt-only policy never loads the argon2 side it does not call.

const { createPasswords: create, REASONS } = require('./lib/passwords/passwords.js')

const backends = Object.freeze({
  get bcrypt() {
    return require('./index.js')
  },
  get argon2() {
    return require('./argon2.js')
  },
  get kdf() {
    return require('./lib/kdf.js')
  },
})

/** A passwords module for `policy`: `{ algorithm: 'argon2id', memoryCost?, timeCost?, parallelism? }` or `{ algorithm: 'bcrypt', cost? }`. */
const createPasswords = (policy) => create(policy, backends)

module.exports = { createPasswords, REASONS }
