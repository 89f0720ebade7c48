'use strict'

// PBKDF2-SHA256 as Django stores it (django.contrib.auth.hashers.PBKDF2PasswordHasher), read-only
// for users imported from a Django app:
//   pbkdf2_sha256$<iterations>$<salt>$<base64 of the 32-byte key>
// The salt is used as its literal text (UTF-8), not decoded; the password as UTF-8, unnormalised;
// the key is as long as SHA-256's output. Django's own test suite pins
// `pbkdf2_sha256$30000$seasalt$VrX+V8drCGo68wlvy6rfu8i1d1pfkdeXA4LJkRGJodY=` for 'lètmein'
// (tests/auth_tests/test_hashers.py, test_pbkdf2), which __test__/passwords.test.js checks.
// Computed by lib/kdf.js on the package's pool.

const crypto = require('node:crypto')

const { REASONS } = require('./errors.js')

const PREFIX = 'pbkdf2_sha256$'
const SHAPE = /^pbkdf2_sha256\$([1-9]\d{0,8})\$([^$]{1,256})\$([A-Za-z0-9+/]{43}=)$/
const KEY_BYTES = 32
// Django 6.0 makes 1,200,000 iterations. A stored count above ten million (several seconds of a
// core) is refused (TOO_COSTLY) rather than computed: no login can wait for it, and a huge one
// would hold a pool thread hostage.
const MAX_STORED_ITERATIONS = 10_000_000

function parse(stored) {
  if (!stored.startsWith(PREFIX)) return undefined
  const match = SHAPE.exec(stored)
  if (!match) return { reason: REASONS.MALFORMED }
  const iterations = Number(match[1])
  if (iterations > MAX_STORED_ITERATIONS) return { reason: REASONS.TOO_COSTLY }
  return { format: 'django-pbkdf2-sha256', iterations, salt: match[2], key: Buffer.from(match[3], 'base64') }
}

async function verify({ kdf }, password, parsed, schedule) {
  const secret = typeof password === 'string' ? Buffer.from(password, 'utf8') : Buffer.from(password)
  try {
    const key = await kdf.pbkdf2Sha256(secret, Buffer.from(parsed.salt, 'utf8'), parsed.iterations, KEY_BYTES, schedule)
    return crypto.timingSafeEqual(key, parsed.key)
  } finally {
    secret.fill(0)
  }
}

// Read-only: the policy never makes one.
const current = () => false

module.exports = { parse, verify, current, MAX_STORED_ITERATIONS }
