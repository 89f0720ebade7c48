'use strict'

// The demo's login guard (bcrypt-offload/guard) over any backend of demo/backends.js, so that the
// same /login runs on every package the page compares. bcrypt-offload schedules the guard's
// compares (class, fair-share key, deadline) and has compareUnknown; on the other packages the
// scheduling options are ignored and an unknown account is compared against a decoy hash made at
// start, which costs the same work.

const { randomBytes } = require('node:crypto')

const { createGuard } = require('../guard.js')

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * The signing keys from GUARD_KEYS (comma-separated base64, the first signs; createGuard wants
 * 32 bytes or more each), else one random key for this process, said once on the console: then
 * device cookies do not survive a restart. Errors name the key's position, never its text.
 */
function guardKeys(env = process.env, log = console.log) {
  const text = env.GUARD_KEYS
  if (!text) {
    log('GUARD_KEYS is not set: device cookies are signed with a random key, so they end with this process')
    return [randomBytes(32)]
  }
  return text.split(',').map((key, i) => {
    const trimmed = key.trim()
    if (!BASE64.test(trimmed)) throw new RangeError(`GUARD_KEYS: key ${i + 1} is not base64`)
    return Buffer.from(trimmed, 'base64')
  })
}

// What the guard needs, compare and compareUnknown with scheduling options, from a demo backend
// (whose functions take the signal and the schedule as arguments).
function guardBcrypt(backend, cost) {
  if (backend.compareUnknown) {
    return {
      compare: (password, hash, { signal, ...schedule }) => backend.compare(password, hash, signal, schedule),
      compareUnknown: (password, { rounds, signal, ...schedule }) => backend.compareUnknown(password, rounds, signal, schedule),
    }
  }
  const decoy = backend.hash('decoy password', cost)
  // Handled where it is awaited; until then a failure must not crash start-up.
  decoy.catch(() => {})
  return {
    compare: (password, hash, { signal, ...schedule }) => backend.compare(password, hash, signal, schedule),
    compareUnknown: async (password, { signal, rounds, ...schedule }) => {
      await backend.compare(password, await decoy, signal, schedule)
      return false
    },
  }
}

// The same over bcrypt-offload/passwords (demo/policy.js's switch): whatever format the account
// has stored, verified at its own cost; an unknown account costs a verify at the policy's.
function guardPasswords(policy) {
  return {
    compare: async (password, hash, schedule) => (await policy.current().verify(password, hash, schedule)).ok,
    compareUnknown: (password, { rounds, ...schedule }) => policy.current().verifyUnknown(password, schedule),
  }
}

/**
 * The guard of one demo app; over `policy` (demo/policy.js) when given, else over `backend`. `secure: false` because the demo serves plain http on localhost,
 * where a browser never sends a Secure cookie back; behind HTTPS, leave the default (true).
 */
function createDemoGuard({ backend, cost, keys = [randomBytes(32)], policy }) {
  const bcrypt = policy ? guardPasswords(policy) : guardBcrypt(backend, cost)
  return createGuard({ bcrypt, keys, rounds: cost, cookie: { secure: false } })
}

module.exports = { createDemoGuard, guardKeys }
