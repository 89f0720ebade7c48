'use strict'

// What a server under load needs beyond bcrypt's API: AbortSignal cancellation, a bounded queue,
// the pool's counters, rehash-on-login and cost calibration. No timing thresholds: where a test
// waits for something, a broken implementation would make it wait for minutes and time out.

const test = require('node:test')
const assert = require('node:assert/strict')
const bcrypt = require('..')
const { SLOW, until, settledLanes, occupyAllLanes: occupy, growth } = require('./pool-helpers.js')

const FAST = '$2b$04$CCCCCCCCCCCCCCCCCCCCC.'

const occupyAllLanes = () => occupy(bcrypt)

test('an already-aborted signal rejects before anything is queued', async () => {
  const before = bcrypt.stats()
  const reason = new Error('client went away')
  const err = await bcrypt.hash('pw', FAST, { signal: AbortSignal.abort(reason) }).catch((e) => e)
  assert.ok(err instanceof bcrypt.AbortError && err instanceof Error)
  assert.equal(err.name, 'AbortError')
  assert.equal(err.code, 'ABORT_ERR')
  assert.equal(err.cause, reason)
  await assert.rejects(bcrypt.compare('pw', bcrypt.hashSync('pw', FAST), { signal: AbortSignal.abort() }), { name: 'AbortError' })
  const after = bcrypt.stats()
  assert.equal(after.completed + after.cancelled, before.completed + before.cancelled)
})

test('aborting a running hash frees its lane and rejects with the reason', { timeout: 30_000 }, async () => {
  const controller = new AbortController()
  const pending = bcrypt.hash('pw', SLOW, { signal: controller.signal })
  await until(() => bcrypt.stats().running === 1)
  const before = bcrypt.stats()
  controller.abort('shutting down')
  await assert.rejects(pending, (err) => err.name === 'AbortError' && err.cause === 'shutting down')
  await until(() => bcrypt.stats().running === 0)
  // Counted once, as cancelled and not as computed. (Whether it had been timed waiting for its lane
  // when `before` was read depends on how far the thread had got: `waited` is left out.)
  const { waited, ...counted } = growth(before, bcrypt.stats())
  assert.deepEqual(counted, { completed: 0, computed: 0, cancelled: 1, rejected: 0 })
})

test('aborting a queued job drops it without computing it', { timeout: 30_000 }, async () => {
  const release = await occupyAllLanes()
  const controller = new AbortController()
  const queued = bcrypt.compare('pw', bcrypt.hashSync('pw', FAST), { signal: controller.signal })
  assert.equal(bcrypt.stats().queued, 1)
  controller.abort()
  await assert.rejects(queued, { name: 'AbortError' })
  const completed = bcrypt.stats().completed
  await release()
  await until(() => bcrypt.stats().queued === 0)
  assert.equal(bcrypt.stats().completed, completed, 'the aborted job was computed')
})

test('signals work with the callback form, and an unaborted signal changes nothing', async () => {
  const controller = new AbortController()
  const [err, h] = await new Promise((resolve) => bcrypt.hash('pw', FAST, { signal: controller.signal }, (...a) => resolve(a)))
  assert.equal(err, undefined)
  assert.equal(h, bcrypt.hashSync('pw', FAST))
  assert.equal(await bcrypt.compare('pw', h, { signal: controller.signal }), true)
  assert.throws(() => bcrypt.configure({ maxQueue: -1 }), { code: 'ERR_OUT_OF_RANGE' })
  await assert.rejects(bcrypt.hash('pw', FAST, { signal: 'nope' }), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('with maxQueue jobs waiting, new calls are refused at once and every call settles once', { timeout: 30_000 }, async () => {
  const release = await occupyAllLanes()
  bcrypt.configure({ maxQueue: 2 })
  try {
    const settled = []
    const track = (p) => p.then((v) => settled.push(['ok', v]), (e) => settled.push([e.code, e.message]))
    const waiting = [track(bcrypt.hash('a', FAST)), track(bcrypt.compare('b', bcrypt.hashSync('b', FAST)))]
    const rejectedBefore = bcrypt.stats().rejected
    const refused = await bcrypt.hash('c', FAST).catch((e) => e)
    assert.equal(refused.code, 'ERR_BCRYPT_QUEUE_FULL')
    assert.ok(refused instanceof Error)
    const refusedCb = await new Promise((resolve) => bcrypt.compare('d', bcrypt.hashSync('d', FAST), (e) => resolve(e)))
    assert.equal(refusedCb.code, 'ERR_BCRYPT_QUEUE_FULL')
    assert.equal(bcrypt.stats().rejected, rejectedBefore + 2)
    assert.equal(bcrypt.stats().maxQueue, 2)
    await release()
    await Promise.all(waiting)
    assert.deepEqual(settled.map(([kind]) => kind).sort(), ['ok', 'ok'])
  } finally {
    bcrypt.configure({ maxQueue: Infinity })
  }
  assert.equal(bcrypt.stats().maxQueue, Infinity)
})

test('stats: counters and histograms add up', async () => {
  await until(() => bcrypt.stats().running === 0 && bcrypt.stats().queued === 0)
  const before = bcrypt.stats()
  await Promise.all(Array.from({ length: 20 }, (_, i) => bcrypt.hash(`s${i}`, FAST)))
  // The counts change before a caller hears of its job (src/pool/worker.rs, settle_taken), so they
  // are final once the promises are.
  const s = bcrypt.stats()
  for (const key of ['threads', 'lanesPerThread', 'queued', 'running', 'completed', 'rejected', 'cancelled']) {
    assert.equal(typeof s[key], 'number', key)
  }
  for (const h of [s.queueWait, s.compute]) {
    assert.equal(h.counts.length, h.bucketsMs.length + 1)
    assert.equal(h.counts.reduce((a, b) => a + b, 0), h.count)
    assert.ok(h.sumMs > 0)
  }
  // 20 jobs, each computed once: they waited for a lane once and were timed in it once, and none was
  // cancelled or refused.
  assert.deepEqual(growth(before, s), { completed: 20, computed: 20, waited: 20, cancelled: 0, rejected: 0 })
})

test('needsRehash', () => {
  const b10 = bcrypt.hashSync('pw', bcrypt.genSaltSync(10))
  assert.equal(bcrypt.needsRehash(b10), false)
  assert.equal(bcrypt.needsRehash(b10, { rounds: 12 }), true)
  assert.equal(bcrypt.needsRehash(b10, { minor: 'a' }), true)
  assert.equal(bcrypt.needsRehash(b10.replace('$2b$', '$2y$')), true)
  assert.equal(bcrypt.needsRehash(bcrypt.hashSync('pw', FAST), { rounds: 4 }), false)
  assert.equal(bcrypt.needsRehash('not a hash'), true)
  assert.equal(bcrypt.needsRehash(`${b10}\0junk`), true)
  assert.throws(() => bcrypt.needsRehash(42), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => bcrypt.needsRehash(b10, { rounds: '12' }), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('calibrate picks a cost in range, larger for larger targets', async () => {
  // Both ends clamped: a nanosecond is far below a cost-4 hash, and 1e9 ms (11 days) above a cost-31
  // one (a day here). A 1 ms target is no end: it gave cost 5 where a cost-4 hash takes 0.7 ms.
  const small = bcrypt.calibrateSync(1e-6)
  const large = await bcrypt.calibrate(1e9)
  assert.equal(small, 4)
  assert.equal(large, 31)
  const mid = await bcrypt.calibrate(100)
  assert.ok(Number.isInteger(mid) && mid >= 4 && mid <= 31)
  for (const bad of [0, -5, NaN, Infinity, '100']) {
    assert.throws(() => bcrypt.calibrateSync(bad), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
    await assert.rejects(bcrypt.calibrate(bad), { name: 'RangeError' })
  }
})

test('maxQueue counts only calls that wait: a burst that free lanes can take is never refused', async () => {
  await settledLanes(bcrypt)
  await until(() => bcrypt.stats().running === 0 && bcrypt.stats().queued === 0)
  const { threads, lanesPerThread } = bcrypt.stats()
  bcrypt.configure({ maxQueue: 0 })
  try {
    const results = await Promise.allSettled(Array.from({ length: threads * lanesPerThread }, (_, i) => bcrypt.hash(`b${i}`, FAST)))
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), [])
  } finally {
    bcrypt.configure({ maxQueue: Infinity })
  }
})

test('rejectLongPasswords refuses what bcrypt would cut short, per call or by default', async () => {
  const long = 'é'.repeat(37) // 74 bytes as UTF-8
  const ok = 'é'.repeat(36) // 72 bytes
  const tooLong = { name: 'RangeError', code: 'ERR_BCRYPT_PASSWORD_TOO_LONG' }
  // The default stays bcrypt's: truncate.
  assert.equal(bcrypt.hashSync(long, FAST), bcrypt.hashSync(`${ok}x`, FAST))
  assert.throws(() => bcrypt.hashSync(long, FAST, { rejectLongPasswords: true }), tooLong)
  await assert.rejects(bcrypt.hash(Buffer.alloc(73), FAST, { rejectLongPasswords: true }), tooLong)
  const viaCallback = await new Promise((resolve) => bcrypt.hash(long, 4, { rejectLongPasswords: true }, (e) => resolve(e)))
  assert.equal(viaCallback.code, tooLong.code)
  assert.doesNotMatch(viaCallback.message, /é/, 'the message must not contain the password')
  assert.equal(typeof bcrypt.hashSync(ok, FAST, { rejectLongPasswords: true }), 'string')
  const storedLong = bcrypt.hashSync(`${ok}y`, FAST)
  bcrypt.configure({ rejectLongPasswords: true })
  try {
    await assert.rejects(bcrypt.hash(long, FAST), tooLong)
    assert.equal(typeof bcrypt.hashSync(long, FAST, { rejectLongPasswords: false }), 'string')
    // Verifying is never refused: stored hashes of long passwords must keep working.
    assert.equal(await bcrypt.compare(long, storedLong), true)
  } finally {
    bcrypt.configure({ rejectLongPasswords: false })
  }
  assert.throws(() => bcrypt.configure({ rejectLongPasswords: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('lanes: measured at start, pinned by configure or the environment, back to measured on "auto"', { timeout: 60_000 }, async () => {
  const { MAX_LANES } = require('../binding.js')
  await bcrypt.hash('start the pool', FAST)
  // The measurement runs on a thread of its own once the pool starts; the first hash never waits for it.
  await until(() => bcrypt.stats().lanesSource === 'measured')
  const measured = bcrypt.stats()
  assert.equal(measured.laneSpeedup.length, MAX_LANES)
  assert.equal(measured.laneSpeedup[0], 1)
  const best = Math.max(...measured.laneSpeedup)
  assert.ok(measured.laneSpeedup[measured.lanesPerThread - 1] >= 0.97 * best, JSON.stringify(measured.laneSpeedup))
  try {
    bcrypt.configure({ lanes: 1 })
    assert.deepEqual([bcrypt.stats().lanesPerThread, bcrypt.stats().lanesSource], [1, 'configured'])
    for (const bad of [0, MAX_LANES + 1, 2.5, 'six']) {
      // A string too: lanes takes one string, "auto", so 'six' is out of its range, not of the wrong type.
      assert.throws(() => bcrypt.configure({ lanes: bad }), {
        name: 'RangeError',
        code: 'ERR_OUT_OF_RANGE',
        message: `lanes must be a whole number from 1 to ${MAX_LANES}, or "auto"`,
      })
    }
    assert.equal(bcrypt.stats().lanesPerThread, 1)
  } finally {
    bcrypt.configure({ lanes: 'auto' })
  }
  assert.deepEqual([bcrypt.stats().lanesPerThread, bcrypt.stats().lanesSource], [measured.lanesPerThread, 'measured'])

  const { execFileSync } = require('node:child_process')
  const run = (env) =>
    execFileSync(process.execPath, ['-e', `
      const b = require(${JSON.stringify(require.resolve('..'))})
      b.hash('x', 4).then(() => console.log(JSON.stringify([b.stats().lanesPerThread, b.stats().lanesSource])),
        (e) => console.log(JSON.stringify([e.code, e.message])))`], { env: { ...process.env, ...env }, encoding: 'utf8' })
  assert.deepEqual(JSON.parse(run({ BCRYPT_OFFLOAD_LANES: '3' })), [3, 'env'])
  assert.deepEqual(JSON.parse(run({ BCRYPT_OFFLOAD_LANES: '9' })), ['ERR_OUT_OF_RANGE', `BCRYPT_OFFLOAD_LANES must be a whole number from 1 to ${MAX_LANES}, got "9"`])
})

test('a compare does not wait behind queued hashes, unless compareFirst is off', { timeout: 120_000 }, () => {
  // One pool thread, one lane: jobs run one at a time, each a few milliseconds apart, so the order
  // they settle in is the order the pool took them. 40 hashes are queued, then a compare; counted:
  // how many hashes settle before it.
  const { execFileSync } = require('node:child_process')
  const run = (compareFirst) =>
    JSON.parse(
      execFileSync(process.execPath, ['-e', `
        const b = require(${JSON.stringify(require.resolve('..'))})
        b.configure({ threads: 1, lanes: 1, compareFirst: ${compareFirst} })
        const salt = '$2b$06$CCCCCCCCCCCCCCCCCCCCC.'
        const stored = b.hashSync('pw', salt)
        let settled = 0
        const hashes = Array.from({ length: 40 }, (_, i) => b.hash('h' + i, salt).then(() => settled++))
        b.compare('pw', stored).then((ok) => [ok, settled]).then(([ok, before]) => Promise.all(hashes).then(() => console.log(JSON.stringify([ok, before, b.stats().compareFirst]))))
      `], { encoding: 'utf8' }),
    )
  const [ok, before, on] = run(true)
  assert.deepEqual([ok, on], [true, true])
  assert.ok(before < 20, `${before} of 40 hashes settled before the compare`)
  const [, inOrder, off] = run(false)
  assert.equal(off, false)
  assert.ok(inOrder >= 20, `${inOrder} of 40 hashes settled before the compare, in order of arrival`)
})
