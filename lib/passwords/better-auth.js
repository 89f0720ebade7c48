'use strict'

// scrypt as Better Auth stores it, read-only for users imported from a Better Auth app:
//   <salt>:<key>     32 hex characters, a colon, 128 hex characters
// From better-auth/better-auth, packages/better-auth/src/crypto/password.ts (read at commit
// a0a34d22): hashPassword draws 16 random bytes and hex-encodes them as the salt, and generateKey
// runs @noble/hashes' scrypt with N = 16384, r = 16, p = 1, dkLen = 64 over
// password.normalize('NFKC') and that salt *as its hex text* (a string, so UTF-8 of the 32
// characters, not the 16 bytes); the key is stored as lowercase hex and compared in constant time.
// Computed by lib/kdf.js on the package's pool.

const crypto = require('node:crypto')

const { REASONS } = require('./errors.js')

const LOOKS_LIKE = /^[0-9a-f]+:[0-9a-f]+$/i
const SHAPE = /^([0-9a-f]{32}):([0-9a-f]{128})$/i
const PARAMS = Object.freeze({ N: 16384, r: 16, p: 1, keyLength: 64 })

function parse(stored) {
  if (!LOOKS_LIKE.test(stored)) return undefined
  const match = SHAPE.exec(stored)
  if (!match) return { reason: REASONS.MALFORMED }
  return { format: 'better-auth-scrypt', salt: match[1], key: Buffer.from(match[2], 'hex') }
}

async function verify({ kdf }, password, parsed, schedule) {
  // A string is normalised as Better Auth does; bytes are taken as they are.
  const secret = typeof password === 'string' ? Buffer.from(password.normalize('NFKC'), 'utf8') : Buffer.from(password)
  try {
    const key = await kdf.scrypt(secret, Buffer.from(parsed.salt, 'utf8'), PARAMS, schedule)
    return crypto.timingSafeEqual(key, parsed.key)
  } finally {
    secret.fill(0)
  }
}

// Read-only: the policy never makes one.
const current = () => false

module.exports = { parse, verify, current, PARAMS }
