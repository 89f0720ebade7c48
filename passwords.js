'use strict'

// `bcrypt-offload/passwords`: verify-and-upgrade across stored formats (bcrypt, argon2, Django's
// PBKDF2, Better Auth's scrypt, the tier's wrapped MD5/SHA-1), over the package's own pool.
// Types and documentation: passwords.d.ts. The code: lib/passwords/. The backends are loaded on
// first use, so that a bcrypt-only policy never loads the argon2 side it does not call.

const { createPasswords: create, REASONS } = require('./lib/passwords/passwords.js')
const { error } = require('./lib/passwords/errors.js')

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

// Over the queue tier: bcrypt and argon2 computed by its workers (a client from
// bcrypt-offload/queue's connect()); Django's PBKDF2 and Better Auth's scrypt, read-only formats
// of imported users, still on this process's pool (the tier has no job for them).
function tierBackends(client) {
  if (client === null || typeof client !== 'object' || typeof client.compare !== 'function' || typeof client.argon2?.verify !== 'function') {
    throw error('NotTierClient')
  }
  return Object.freeze({
    bcrypt: client,
    argon2: client.argon2,
    get kdf() {
      return backends.kdf
    },
  })
}

/**
 * A passwords module for `policy`: `{ algorithm: 'argon2id', memoryCost?, timeCost?, parallelism? }`
 * or `{ algorithm: 'bcrypt', cost? }`; with `{ tier: client }`, computed through the queue tier.
 */
const createPasswords = (policy, options) => create(policy, options?.tier === undefined ? backends : tierBackends(options.tier))

module.exports = { createPasswords, REASONS }
