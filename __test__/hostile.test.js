'use strict'

// What trying to break the package found (issue #10), each case as it was reported: hostile
// options, a pool that cannot start, calibration on a busy machine, settings across worker threads.
// No timing thresholds: what must happen is counted, or waited for until the test's timeout.

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const { Worker } = require('node:worker_threads')
const { setImmediate: tick } = require('node:timers/promises')

const bcrypt = require('..')
const promises = require('../promises')
const { until, occupyAllLanes, growth } = require('./pool-helpers.js')

const entry = JSON.stringify(require.resolve('..'))
const FAST = '$2b$04$CCCCCCCCCCCCCCCCCCCCC.'
const wrongType = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }

// Runs `fn` and collects every rejection no one handled meanwhile.
async function unhandledDuring(fn) {
  const seen = []
  const onUnhandled = (reason) => seen.push(reason)
  process.on('unhandledRejection', onUnhandled)
  try {
    await fn()
    for (let i = 0; i < 5; i++) await tick()
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
  return seen
}

const viaCallback = (call) => new Promise((resolve) => call((...args) => resolve(args)))

test('a signal without removeEventListener is refused before anything runs', async () => {
  const duck = { aborted: false, addEventListener() {} }
  const seen = await unhandledDuring(async () => {
    await assert.rejects(bcrypt.hash('pw', FAST, { signal: duck }), wrongType)
    await assert.rejects(bcrypt.compare('pw', bcrypt.hashSync('pw', FAST), { signal: duck }), wrongType)
  })
  assert.deepEqual(seen, [])
})

test("a signal whose own methods throw fails that call, in every form, and nothing else", async () => {
  const broken = new Error('removeEventListener broke')
  const signal = { aborted: false, addEventListener() {}, removeEventListener() { throw broken } }
  const seen = await unhandledDuring(async () => {
    await assert.rejects(bcrypt.hash('pw', FAST, { signal }), (err) => err === broken)
    const [err] = await viaCallback((cb) => bcrypt.compare('pw', bcrypt.hashSync('pw', FAST), { signal }, cb))
    assert.equal(err, broken)
  })
  assert.deepEqual(seen, [])
})

test('an addEventListener that throws queues nothing', async () => {
  await until(() => bcrypt.stats().running + bcrypt.stats().queued === 0)
  const before = bcrypt.stats()
  const signal = { aborted: false, addEventListener() { throw null }, removeEventListener() {} }
  await assert.rejects(bcrypt.hash('pw', FAST, { signal }), (err) => err === null)
  const after = bcrypt.stats()
  assert.equal(after.completed + after.cancelled + after.running + after.queued, before.completed + before.cancelled)
})

test('a callback is never told "success, no result": a falsy throw arrives wrapped', async () => {
  const throwing = [
    { get signal() { throw undefined } },
    { signal: { aborted: false, addEventListener() { throw null }, removeEventListener() {} } },
  ]
  for (const options of throwing) {
    for (const call of [(cb) => bcrypt.hash('pw', FAST, options, cb), (cb) => bcrypt.compare('pw', FAST, options, cb)]) {
      const [err, value] = await viaCallback(call)
      assert.ok(err instanceof Error, String(err))
      assert.equal(err.code, 'ERR_FALSY_VALUE_REJECTION')
      assert.ok(err.reason === undefined || err.reason === null)
      assert.equal(value, undefined)
    }
  }
})

test('something other than options in the options place is refused, not ignored', async () => {
  for (const third of [AbortSignal.abort(), Buffer.from('x'), [], new Map(), new Uint8Array(2)]) {
    await assert.rejects(bcrypt.hash('pw', FAST, third), wrongType)
    await assert.rejects(bcrypt.compare('pw', FAST, third), wrongType)
    assert.throws(() => bcrypt.hashSync('pw', FAST, third), wrongType)
    const [err] = await viaCallback((cb) => bcrypt.hash('pw', FAST, third, cb))
    assert.equal(err.code, 'ERR_INVALID_ARG_TYPE')
  }
  // Plain objects, with or without a prototype, are options.
  assert.equal(await bcrypt.hash('pw', FAST, Object.create(null)), bcrypt.hashSync('pw', FAST))
})

test('fake typed arrays get bcrypt\'s TypeError, and a redefined byteLength fools nothing', async () => {
  const u16 = new Uint16Array(2)
  Object.setPrototypeOf(u16, Uint8Array.prototype)
  for (const fake of [new Proxy(new Uint8Array(3), {}), Object.create(Uint8Array.prototype), u16]) {
    assert.throws(() => bcrypt.hashSync(fake, FAST), wrongType)
    assert.throws(() => bcrypt.compareSync(fake, FAST), wrongType)
    assert.throws(() => bcrypt.truncates(fake), wrongType)
    await assert.rejects(bcrypt.hash(fake, FAST), wrongType)
    await assert.rejects(bcrypt.compare(fake, FAST), wrongType)
  }
  const long = Buffer.alloc(100, 'a')
  Object.defineProperty(long, 'byteLength', { value: 10 })
  assert.throws(() => bcrypt.hashSync(long, FAST, { rejectLongPasswords: true }), { code: 'ERR_BCRYPT_PASSWORD_TOO_LONG' })
  assert.equal(bcrypt.truncates(long), true)
})

test('salts whose version is not 2 are refused (documented: bcrypt hashes them as $2$/$2a$)', () => {
  for (const salt of ['$1$04$CCCCCCCCCCCCCCCCCCCCC.', '$0a$04$CCCCCCCCCCCCCCCCCCCCC.', '$1b$04$CCCCCCCCCCCCCCCCCCCCC.']) {
    assert.throws(() => bcrypt.hashSync('pw', salt), { code: 'ERR_INVALID_ARG_VALUE' })
  }
})

test('configure is all or nothing', () => {
  const out = execFileSync(process.execPath, ['-e', `
    const b = require(${entry})
    let code
    try { b.configure({ threads: 1, maxQueue: -1, rejectLongPasswords: true }) } catch (e) { code = e.code }
    b.hash('x'.repeat(100), 4).then((h) => console.log(JSON.stringify({ code, threads: b.stats().threads, hashed: h.length })))
  `], { encoding: 'utf8', env: { ...process.env, BCRYPT_OFFLOAD_THREADS: '3' } })
  assert.deepEqual(JSON.parse(out), { code: 'ERR_OUT_OF_RANGE', threads: 3, hashed: 60 })
})

test('a pool that fails to start releases its threads, and a smaller one starts later', () => {
  // An address-space limit that a thousand pool threads' stacks do not fit in. The threads are
  // counted by name from /proc.
  const script = `
    const fs = require('node:fs')
    const b = require(${entry})
    const poolThreads = () => fs.readdirSync('/proc/self/task')
      .filter((t) => { try { return fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').startsWith('bcrypt-pool-') } catch { return false } }).length
    ;(async () => {
      b.configure({ threads: require(${JSON.stringify(require.resolve('../binding.js'))}).MAX_THREADS })
      const failed = await b.hash('x', 4).catch((e) => e)
      const left = poolThreads()
      b.configure({ threads: 2 })
      const hash = await b.hash('x', 4)
      // A new thread names itself once it runs: wait for both (a pool that never starts them
      // would hang here until the test's timeout).
      while (poolThreads() < 2) await new Promise((resolve) => setTimeout(resolve, 5))
      console.log(JSON.stringify({ code: failed.code, left, threads: b.stats().threads, running: poolThreads(), ok: b.compareSync('x', hash) }))
    })()
  `
  const out = execFileSync('bash', ['-c', 'ulimit -v 1400000 && exec "$0" -e "$1"', process.execPath, script], { encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out), { code: 'ERR_BCRYPT_POOL_SPAWN', left: 0, threads: 2, running: 2, ok: true })
})

test('calibrate times the computation, not the queue in front of it', { timeout: 60_000 }, async () => {
  // Behind the queue the probe once looked 16x slower (cost 12 became 8). Now it runs on a thread of
  // its own: with every lane held by a minute-long hash and jobs queued behind them, it answers (a
  // probe sent through the pool would wait there until the test's timeout), and the pool's totals
  // show it took neither a place in the queue nor a lane.
  const release = await occupyAllLanes(bcrypt)
  const queued = Array.from({ length: 4 }, (_, i) => bcrypt.hash(`queued ${i}`, FAST))
  try {
    const before = bcrypt.stats()
    assert.equal(before.queued, 4)
    const cost = await bcrypt.calibrate(250)
    assert.ok(Number.isInteger(cost) && cost >= 4 && cost <= 31, String(cost))
    const after = bcrypt.stats()
    assert.deepEqual(growth(before, after), { completed: 0, computed: 0, waited: 0, cancelled: 0, rejected: 0 })
    assert.deepEqual([after.running, after.queued], [before.running, before.queued])
  } finally {
    await release()
    await Promise.all(queued)
  }
})

test('calibrate returns the promise implementation chosen with promises.use', async () => {
  class Tagged extends Promise {}
  promises.use(Tagged)
  try {
    // A nanosecond's cost is 4 on any machine (the least there is).
    const p = bcrypt.calibrate(1e-6)
    assert.ok(p instanceof Tagged)
    assert.equal(await p, 4)
    const refused = bcrypt.calibrate(-1)
    assert.ok(refused instanceof Tagged)
    await assert.rejects(refused, { code: 'ERR_OUT_OF_RANGE' })
  } finally {
    promises.use(Promise)
  }
})

test('stats() under load: no total ever goes back, and each grows by exactly the jobs run', async () => {
  const N = 2000
  await until(() => bcrypt.stats().running + bcrypt.stats().queued === 0)
  const before = bcrypt.stats()
  let done = false
  const work = Promise.all(Array.from({ length: N }, (_, i) => bcrypt.hash(`s${i}`, FAST))).then(() => { done = true })
  // Read on every turn of the loop while the pool's threads write. Each total is a counter, or a sum
  // of counters, that is only ever added to: one read after another must never see less.
  let last = before
  let partWay = 0 // samples that saw some of the burst done and some not
  while (!done) {
    const s = bcrypt.stats()
    for (const [total, grew] of Object.entries(growth(last, s))) assert.ok(grew >= 0, `${total} went back by ${-grew}`)
    for (const h of ['compute', 'queueWait']) {
      s[h].counts.forEach((n, i) => assert.ok(n >= last[h].counts[i], `${h} bucket ${i} went back from ${last[h].counts[i]} to ${n}`))
    }
    if (s.completed > before.completed && s.completed < before.completed + N) partWay++
    last = s
    await tick()
  }
  await work
  assert.ok(partWay > 0, 'no sample was read while the burst ran')
  // The counts change before a caller hears of its job (src/pool/worker.rs, settle_taken): with
  // every promise settled they are final. Each job completed, was timed waiting and computing once.
  assert.deepEqual(growth(before, bcrypt.stats()), { completed: N, computed: N, waited: N, cancelled: 0, rejected: 0 })
})

test('scopes: pool settings are the process\'s, rejectLongPasswords is the calling module\'s', async () => {
  const before = bcrypt.stats().maxQueue
  const w = new Worker(`
    const { parentPort } = require('node:worker_threads')
    const b = require(${entry})
    b.configure({ maxQueue: 12345, rejectLongPasswords: true })
    parentPort.postMessage(b.stats().maxQueue)
  `, { eval: true })
  assert.equal(await new Promise((resolve) => w.once('message', resolve)), 12345)
  await w.terminate()
  try {
    // The queue bound is the one pool's, so it outlives the worker that set it ...
    assert.equal(bcrypt.stats().maxQueue, 12345)
    // ... while the long-password default stayed with the worker's copy of the module.
    assert.equal(typeof (await bcrypt.hash('x'.repeat(100), FAST)), 'string')
  } finally {
    bcrypt.configure({ maxQueue: before })
  }
})
