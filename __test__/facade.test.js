'use strict'

// The facade (lib/api.js) over a fake binding: call forms, aborts, and every native failure kind
// worded from the one error table, without building or loading the addon. The real binding's
// side of the same contract is tested by every other file here.

const test = require('node:test')
const assert = require('node:assert/strict')

const { createBcrypt, API_VERSION } = require('../lib/api.js')

const SALT = '$2b$04$CCCCCCCCCCCCCCCCCCCCC.'

// What the binding throws: a plain Error named by its kind, the facts as properties.
const nativeError = (kind, facts = {}) => Object.assign(new Error(kind), { code: kind, ...facts })

// A binding that records its calls; `hash` and `compare` answer through `pending`, which a test
// settles itself (or never, to keep a job "running").
function fakeBinding(overrides = {}) {
  const calls = []
  const pending = []
  class Cancellation {
    constructor() {
      this.cancels = 0
    }
    cancel() {
      this.cancels++
    }
  }
  const queue = (name) => (data, salt, cancellation) => {
    calls.push([name, data, salt])
    return new Promise((resolve, reject) => pending.push({ resolve, reject, cancellation }))
  }
  const binding = {
    API_VERSION,
    MIN_COST: 4,
    MAX_COST: 31,
    MAX_PASSWORD_BYTES: 72,
    MAX_THREADS: 8,
    MAX_LANES: 6,
    Cancellation,
    encodeSalt: (minor, cost) => `$2${minor}$${String(cost).padStart(2, '0')}$${'C'.repeat(21)}.`,
    hashSync: (data, salt) => `${salt}:${data}`,
    hash: queue('hash'),
    compareSync: () => true,
    compare: queue('compare'),
    getRounds: () => 4,
    hashInfo: () => ({ minor: 'b', cost: 10 }),
    calibrateSync: () => 12,
    calibrate: async () => 12,
    configure: (config) => calls.push(['configure', config]),
    poolStats: () => ({ threads: 2, lanesPerThread: 4, maxQueue: null }),
    ...overrides,
  }
  return { binding, calls, pending }
}

// One expectation in every form a call can take: promise, callback, and (where there is one) sync.
async function expectInEveryForm(bcrypt, name, args, check, { sync = true } = {}) {
  await assert.rejects(bcrypt[name](...args), check)
  const err = await new Promise((resolve) => bcrypt[name](...args, (e) => resolve(e)))
  assert.ok(check(err), String(err))
  if (sync) assert.throws(() => bcrypt[`${name}Sync`](...args), check)
}

test('a binding of another API version is refused', () => {
  const { binding } = fakeBinding({ API_VERSION: API_VERSION + 1 })
  assert.throws(() => createBcrypt(binding), { code: 'ERR_BCRYPT_API_MISMATCH' })
})

test('a binding that cannot count cores (WASI) is given Node\'s count, unless the environment sets one', () => {
  const { binding, calls } = fakeBinding({ COUNTS_CORES: false })
  createBcrypt(binding)
  assert.deepEqual(calls, [['configure', { threads: Math.min(require('node:os').availableParallelism(), binding.MAX_THREADS) }]])
  const native = fakeBinding({ COUNTS_CORES: true })
  createBcrypt(native.binding)
  assert.deepEqual(native.calls, [])
})

test('promise and callback forms deliver what the binding computes', async () => {
  const { binding, pending } = fakeBinding()
  const bcrypt = createBcrypt(binding)
  const p = bcrypt.hash('pw', SALT)
  pending[0].resolve('HASH')
  assert.equal(await p, 'HASH')
  let sync = true
  const args = new Promise((resolve) => {
    bcrypt.compare('pw', 'stored', (...a) => resolve([sync, ...a]))
    sync = false
  })
  pending[1].resolve(true)
  assert.deepEqual(await args, [false, undefined, true])
  assert.equal(bcrypt.hashSync('pw', SALT), `${SALT}:pw`)
})

test('each native kind becomes its row of the table, in every form', async () => {
  const kinds = [
    ['InvalidSalt', {}, { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /^Invalid salt\. Salt must be/ }],
    ['QueueFull', { maxQueue: 96 }, { name: 'Error', code: 'ERR_BCRYPT_QUEUE_FULL', message: /\b96 jobs are already queued/ }],
    ['PoolSpawn', { reason: 'no room' }, { name: 'Error', code: 'ERR_BCRYPT_POOL_SPAWN', message: /no room$/ }],
    ['BadEnv', { variable: 'BCRYPT_OFFLOAD_THREADS', value: 'many' }, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /^BCRYPT_OFFLOAD_THREADS must be a whole number from 1 to 8, got "many"$/ }],
    ['Internal', {}, { name: 'Error', code: 'ERR_BCRYPT_INTERNAL', message: /a bug/ }],
  ]
  for (const [kind, facts, expected] of kinds) {
    const thrower = () => {
      throw nativeError(kind, facts)
    }
    const check = (err) => {
      assert.equal(err.name, expected.name, kind)
      assert.equal(err.code, expected.code, kind)
      assert.match(err.message, expected.message, kind)
      return true
    }
    // Thrown when the job is queued ...
    await expectInEveryForm(createBcrypt(fakeBinding({ hash: thrower, hashSync: thrower }).binding), 'hash', ['pw', SALT], check)
    // ... or rejected later from the pool.
    const later = fakeBinding({ compare: async () => thrower() })
    await expectInEveryForm(createBcrypt(later.binding), 'compare', ['pw', 'stored'], check, { sync: false })
  }
})

test('configure and stats word the binding\'s refusals too', () => {
  const bcrypt = createBcrypt(
    fakeBinding({
      configure: () => {
        throw nativeError('PoolStarted', { running: 2 })
      },
      poolStats: () => {
        throw nativeError('BadEnv', { variable: 'BCRYPT_OFFLOAD_PRIORITY', value: 'high' })
      },
    }).binding,
  )
  assert.throws(() => bcrypt.configure({ threads: 3 }), { code: 'ERR_BCRYPT_POOL_STARTED', message: /already runs 2 threads/ })
  assert.throws(() => bcrypt.stats(), { name: 'RangeError', message: 'BCRYPT_OFFLOAD_PRIORITY must be "idle" or "normal", got "high"' })
  assert.throws(() => bcrypt.configure({ threads: 9 }), { message: 'threads must be a whole number from 1 to 8' })
})

test('an error that is not a native kind passes through untouched', async () => {
  const own = Object.assign(new Error('QueueFull'), { code: 'SOMETHING_ELSE' })
  const bcrypt = createBcrypt(fakeBinding({ hash: async () => Promise.reject(own) }).binding)
  await assert.rejects(bcrypt.hash('pw', SALT), (err) => err === own)
})

test('aborting a queued job cancels it once and rejects at once with the reason', async () => {
  const { binding, pending, calls } = fakeBinding()
  const bcrypt = createBcrypt(binding)
  const controller = new AbortController()
  const p = bcrypt.hash('pw', SALT, { signal: controller.signal })
  assert.equal(calls.length, 1)
  controller.abort('client gone')
  await assert.rejects(p, (err) => err instanceof bcrypt.AbortError && err.code === 'ABORT_ERR' && err.cause === 'client gone')
  assert.equal(pending[0].cancellation.cancels, 1)
  // The binding's own "cancelled" rejection that follows is swallowed.
  pending[0].reject(new Error('cancelled'))
  controller.abort()
  assert.equal(pending[0].cancellation.cancels, 1)
})

test('an aborted signal queues nothing; a settled call stops listening', async () => {
  const { binding, pending, calls } = fakeBinding()
  const bcrypt = createBcrypt(binding)
  await assert.rejects(bcrypt.compare('pw', 'stored', { signal: AbortSignal.abort() }), { name: 'AbortError' })
  assert.equal(calls.length, 0)
  const listening = new Set()
  const signal = {
    aborted: false,
    addEventListener: (_, fn) => listening.add(fn),
    removeEventListener: (_, fn) => listening.delete(fn),
  }
  const p = bcrypt.compare('pw', 'stored', { signal })
  assert.equal(listening.size, 1)
  pending[0].resolve(false)
  assert.equal(await p, false)
  assert.equal(listening.size, 0)
})

test('a refusal when the job is queued reaches the caller, and the listener is removed', async () => {
  const removed = []
  const signal = { aborted: false, addEventListener() {}, removeEventListener: (_, fn) => removed.push(fn) }
  const bcrypt = createBcrypt(
    fakeBinding({
      hash: () => {
        throw nativeError('QueueFull', { maxQueue: 0 })
      },
    }).binding,
  )
  await assert.rejects(bcrypt.hash('pw', SALT, { signal }), { code: 'ERR_BCRYPT_QUEUE_FULL' })
  assert.equal(removed.length, 1)
})

test('a hash for a number of rounds crosses into the binding once, with a new salt to encode', async () => {
  const encoded = []
  const synced = []
  const { binding, calls, pending } = fakeBinding({
    encodeSalt: (...args) => encoded.push(args),
    hashSync: (data, salt) => (synced.push(salt), 'the sync hash'),
  })
  const bcrypt = createBcrypt(binding)
  const hashing = bcrypt.hash('pw', 12)
  assert.equal(calls.length, 1)
  const [name, data, salt] = calls[0]
  assert.equal(name, 'hash')
  assert.equal(data, 'pw')
  assert.equal(salt.cost, 12)
  assert.equal(salt.seed.length, 16)
  pending[0].resolve('the hash')
  assert.equal(await hashing, 'the hash')
  // Clamped as bcrypt clamps, and likewise for the sync form; no salt string is encoded first.
  assert.equal(bcrypt.hashSync('pw', 99), 'the sync hash')
  assert.equal(synced[0].cost, 31)
  assert.equal(synced[0].seed.length, 16)
  bcrypt.hash('pw', 2)
  assert.equal(calls[1][2].cost, 4)
  assert.deepEqual(encoded, [])
})

test('configure crosses once with everything it changes, after checking it all', () => {
  const { binding, calls } = fakeBinding()
  const bcrypt = createBcrypt(binding)
  bcrypt.configure({ threads: 2, lanes: 'auto', maxQueue: { high: Infinity, low: 5 }, compareFirst: false })
  assert.deepEqual(calls, [
    ['configure', { threads: 2, lanes: 'auto', maxQueue: [{ priority: 0 }, { priority: 2, maxQueue: 5 }], compareFirst: false, memoryBudget: undefined }],
  ])
  // A bad value anywhere and nothing crosses.
  assert.throws(() => bcrypt.configure({ threads: 2, maxQueue: { normal: -1 } }), { code: 'ERR_OUT_OF_RANGE' })
  assert.equal(calls.length, 1)
})
