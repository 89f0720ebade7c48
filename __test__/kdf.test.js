'use strict'

// lib/kdf.js (PBKDF2-HMAC-SHA256 and scrypt on the pool, for bcrypt-offload/passwords) against
// Node's own crypto.pbkdf2Sync and crypto.scryptSync over random inputs, published vectors, its bad
// input, and its place on the pool: scheduled, cancelled, and scrypt's memory held to the budget.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fc = require('fast-check')

const kdf = require('../lib/kdf.js')
const bcrypt = require('..')

const bytes = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.uint8Array({ maxLength: 64 }).map(Buffer.from))

test('pbkdf2Sha256 equals crypto.pbkdf2Sync over random inputs', async () => {
  await fc.assert(
    fc.asyncProperty(bytes, bytes, fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 100 }), async (pw, salt, c, len) => {
      const ours = await kdf.pbkdf2Sha256(pw, salt, c, len)
      assert.ok(Buffer.isBuffer(ours))
      assert.deepEqual(ours, crypto.pbkdf2Sync(pw, salt, c, len, 'sha256'))
    }),
    { numRuns: 200 },
  )
})

test("pbkdf2Sha256: Django's own test vector for pbkdf2_sha256", async () => {
  // django/tests/auth_tests/test_hashers.py, test_pbkdf2: 'lètmein', salt 'seasalt', 30000.
  const key = await kdf.pbkdf2Sha256('lètmein', 'seasalt', 30000, 32)
  assert.equal(key.toString('base64'), 'VrX+V8drCGo68wlvy6rfu8i1d1pfkdeXA4LJkRGJodY=')
})

test('scrypt equals crypto.scryptSync over random inputs', async () => {
  const cost = fc.record({ logN: fc.integer({ min: 1, max: 8 }), r: fc.integer({ min: 1, max: 8 }), p: fc.integer({ min: 1, max: 3 }) })
  await fc.assert(
    fc.asyncProperty(bytes, bytes, cost, fc.integer({ min: 1, max: 100 }), async (pw, salt, { logN, r, p }, len) => {
      const N = 2 ** logN
      const ours = await kdf.scrypt(pw, salt, { N, r, p, keyLength: len })
      assert.deepEqual(ours, crypto.scryptSync(pw, salt, len, { N, r, p }))
    }),
    { numRuns: 200 },
  )
})

test("scrypt at Better Auth's parameters (N=16384, r=16, p=1, 64 bytes) equals crypto.scryptSync", async () => {
  const params = { N: 16384, r: 16, p: 1 }
  const ours = await kdf.scrypt('pässword', '0123456789abcdef0123456789abcdef', { ...params, keyLength: 64 })
  const node = crypto.scryptSync('pässword', '0123456789abcdef0123456789abcdef', 64, { ...params, maxmem: 64 * 1024 * 1024 })
  assert.deepEqual(ours, node)
})

test('bad input rejects with a Node-style code, before anything is queued', async () => {
  const before = bcrypt.stats()
  const cases = [
    [() => kdf.pbkdf2Sha256(42, 's', 1, 32), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => kdf.pbkdf2Sha256('p', null, 1, 32), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => kdf.pbkdf2Sha256('p', 's', 0, 32), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => kdf.pbkdf2Sha256('p', 's', 1.5, 32), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => kdf.pbkdf2Sha256('p', 's', '1', 32), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => kdf.pbkdf2Sha256('p', 's', 1, 0), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => kdf.pbkdf2Sha256('p', 's', 1, 1025), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => kdf.pbkdf2Sha256('p', 's', 1, 32, { priority: 'x' }), TypeError, 'ERR_INVALID_ARG_VALUE'],
    [() => kdf.scrypt('p', 's', { N: 1000, r: 8, p: 1, keyLength: 32 }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => kdf.scrypt('p', 's', { N: 1, r: 8, p: 1, keyLength: 32 }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => kdf.scrypt('p', 's', { N: 16, r: 0, p: 1, keyLength: 32 }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => kdf.scrypt('p', 's', { N: 16, r: 1, p: 0, keyLength: 32 }), RangeError, 'ERR_OUT_OF_RANGE'],
    [() => kdf.scrypt('p', 's', { N: 16, r: 1, p: 1 }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    [() => kdf.scrypt('p', 's', null), TypeError, 'ERR_INVALID_ARG_TYPE'],
  ]
  for (const [call, Class, code] of cases) {
    await assert.rejects(call(), (err) => err instanceof Class && err.code === code, call.toString())
  }
  const after = bcrypt.stats()
  assert.equal(after.completed, before.completed, 'nothing was computed')
})

test('scheduled as bcrypt jobs: an aborted signal, a past deadline, a priority', async () => {
  await assert.rejects(kdf.pbkdf2Sha256('p', 's', 1, 32, { signal: AbortSignal.abort() }), { name: 'AbortError' })
  await assert.rejects(kdf.scrypt('p', 's', { N: 16, r: 1, p: 1, keyLength: 32 }, { deadline: Date.now() - 1 }), {
    code: 'ERR_BCRYPT_DEADLINE',
  })
  const before = bcrypt.stats().classes.high.completed
  await kdf.scrypt('p', 's', { N: 16, r: 1, p: 1, keyLength: 32 }, { priority: 'high', key: 'k' })
  assert.equal(bcrypt.stats().classes.high.completed, before + 1)
})

test("scrypt's memory counts against the pool's budget", async (t) => {
  const { budget } = bcrypt.stats().memory
  t.after(() => bcrypt.configure({ argon2MemoryBudget: budget }))
  bcrypt.configure({ argon2MemoryBudget: 8 * 1024 * 1024 })
  // 128 · 16384 · 16 bytes: 32 MiB, more than the whole budget.
  const err = await kdf.scrypt('p', 's', { N: 16384, r: 16, p: 1, keyLength: 64 }).catch((e) => e)
  assert.ok(err instanceof RangeError)
  assert.equal(err.code, 'ERR_BCRYPT_MEMORY_BUDGET')
  assert.equal(err.memory, 128 * 16 * (16384 + 1 + 1))
  // PBKDF2 holds next to nothing: it runs under any budget.
  assert.equal((await kdf.pbkdf2Sha256('p', 's', 1, 32)).length, 32)
})

test('equal compares bytes without telling how much matched', () => {
  assert.equal(kdf.equal(Buffer.from('abc'), Buffer.from('abc')), true)
  assert.equal(kdf.equal(Buffer.from('abc'), Buffer.from('abd')), false)
  assert.equal(kdf.equal(Buffer.from('abc'), Buffer.from('ab')), false)
  assert.throws(() => kdf.equal('abc', Buffer.from('abc')), { code: 'ERR_INVALID_ARG_TYPE' })
})
