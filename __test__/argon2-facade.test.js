'use strict'

// The argon2 facade (lib/argon2/api.js) over a fake binding: what crosses into the binding (the
// defaults filled in, a salt drawn, raw or encoded, the secret), the native failures worded from
// the one error table, and the API handshake, without loading the addon.

const test = require('node:test')
const assert = require('node:assert/strict')

const { createArgon2 } = require('../lib/argon2/api.js')
const { API_VERSION } = require('../lib/api.js')

const nativeError = (kind, facts = {}) => Object.assign(new Error(kind), { code: kind, ...facts })

function fakeBinding(overrides = {}) {
  const calls = []
  const binding = {
    API_VERSION,
    MAX_THREADS: 8,
    MAX_LANES: 6,
    ARGON2_DEFAULT_MEMORY_COST: 19456,
    ARGON2_DEFAULT_TIME_COST: 2,
    ARGON2_DEFAULT_PARALLELISM: 1,
    ARGON2_DEFAULT_HASH_LENGTH: 32,
    ARGON2_DEFAULT_SALT_LENGTH: 16,
    ARGON2_MIN_MEMORY_COST_PER_LANE: 8,
    ARGON2_MAX_PARALLELISM: 0xffffff,
    ARGON2_MIN_HASH_LENGTH: 4,
    ARGON2_MIN_SALT_LENGTH: 8,
    KDF_MAX_KEY_LENGTH: 1024,
    Cancellation: class {
      cancel() {}
      expire() {
        return false
      }
    },
    argon2Hash: async (password, options, cancellation, schedule) => {
      calls.push(['argon2Hash', password, options, schedule])
      return '$argon2id$…'
    },
    argon2HashRaw: async (password, options) => {
      calls.push(['argon2HashRaw', password, options])
      return Buffer.alloc(options.hashLength)
    },
    argon2HashSync: (password, options) => {
      calls.push(['argon2HashSync', password, options])
      return '$argon2id$…'
    },
    argon2Verify: async (digest, password, secret, cancellation, schedule) => {
      calls.push(['argon2Verify', digest, password, secret, schedule])
      return true
    },
    argon2Info: (digest) =>
      digest.startsWith('$argon2') ? { variant: 2, version: 0x13, memoryCost: 19456, timeCost: 2, parallelism: 1 } : null,
    ...overrides,
  }
  return { binding, calls }
}

test('hash crosses once with the defaults filled in and 16 fresh salt bytes', async () => {
  const { binding, calls } = fakeBinding()
  const argon2 = createArgon2(binding)
  assert.equal(await argon2.hash('pw'), '$argon2id$…')
  await argon2.hash('pw')
  const [[name, password, options, schedule], [, , again]] = calls
  assert.equal(name, 'argon2Hash')
  assert.equal(password, 'pw')
  assert.equal(schedule, undefined)
  const { salt, ...rest } = options
  assert.deepEqual(rest, {
    variant: 2,
    version: 0x13,
    memoryCost: 19456,
    timeCost: 2,
    parallelism: 1,
    hashLength: 32,
    secret: undefined,
    associatedData: undefined,
  })
  assert.equal(salt.length, 16)
  assert.notDeepEqual(salt, again.salt, 'a new salt each call')
})

test('raw picks the raw call; the caller’s salt, secret, data and schedule pass through', async () => {
  const { binding, calls } = fakeBinding()
  const argon2 = createArgon2(binding)
  const salt = Buffer.alloc(8, 1)
  const secret = Buffer.from('pepper')
  const raw = await argon2.hash(Buffer.from('pw'), { raw: true, hashLength: 16, salt, secret, type: argon2.argon2i })
  assert.equal(raw.length, 16)
  assert.equal(calls[0][0], 'argon2HashRaw')
  assert.equal(calls[0][2].salt, salt)
  assert.equal(calls[0][2].secret, secret)
  assert.equal(calls[0][2].variant, 1)
  await argon2.hash('pw', { priority: 'low', key: 'k' })
  assert.deepEqual(calls[1][3], { class: 2, key: 'k', timeoutMs: undefined })
  assert.equal(await argon2.verify('$argon2id$x', 'pw', { secret, priority: 'high' }), true)
  assert.deepEqual(calls[2], ['argon2Verify', '$argon2id$x', 'pw', secret, { class: 0, key: undefined, timeoutMs: undefined }])
})

test('native failures are worded from the table', async () => {
  const failing = (kind, facts) => async () => {
    throw nativeError(kind, facts)
  }
  const { binding } = fakeBinding({
    argon2Hash: failing('BadOption', { option: 'memoryCost' }),
    argon2Verify: failing('MemoryBudget', { memory: 2048, budget: 1024 }),
  })
  const argon2 = createArgon2(binding)
  await assert.rejects(argon2.hash('pw'), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /^memoryCost must be at least 8 KiB per lane/ })
  const err = await argon2.verify('$argon2id$x', 'pw').catch((e) => e)
  assert.ok(err instanceof RangeError)
  assert.equal(err.code, 'ERR_BCRYPT_MEMORY_BUDGET')
  assert.deepEqual([err.memory, err.budget], [2048, 1024])
})

test('needsRehash reads the digest through the binding and compares against the defaults', () => {
  const argon2 = createArgon2(fakeBinding().binding)
  assert.equal(argon2.needsRehash('$argon2id$…'), false)
  assert.equal(argon2.needsRehash('$argon2id$…', { timeCost: 3 }), true)
  assert.throws(() => argon2.needsRehash('nope'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
})

test('a binding of another API version is refused', () => {
  assert.throws(() => createArgon2(fakeBinding({ API_VERSION: API_VERSION + 1 }).binding), { code: 'ERR_BCRYPT_API_MISMATCH' })
})
