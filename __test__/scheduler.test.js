'use strict'

// The pool's scheduler through the package: priorities, fair shares by key, deadlines, the per-class
// bounds and counters, and compareUnknown. Orders are observed on a pool of one thread and one lane
// (in a child process, since a process has one pool), where jobs start strictly one at a time, so
// the order they settle in is the order they started in. No timing thresholds: what a deadline
// changes is checked by what was and was not computed.

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const { promisify } = require('node:util')

const bcrypt = require('..')
const { SLOW, until } = require('./pool-helpers.js')

const entry = JSON.stringify(require.resolve('..'))
const helpers = JSON.stringify(require.resolve('./pool-helpers.js'))

// Runs `body` (an async function's body, with `b` the package, `SLOW` and `until` in scope) in a
// process whose pool has one thread of one lane, and returns what it returns.
async function inOneLane(body) {
  const code = `
    const b = require(${entry})
    const { SLOW, until } = require(${helpers})
    ;(async () => { ${body} })().then(
      (value) => process.stdout.write(JSON.stringify(value)),
      (err) => { console.error(err); process.exit(1) },
    )`
  const env = { ...process.env, BCRYPT_OFFLOAD_THREADS: '1', BCRYPT_OFFLOAD_LANES: '1' }
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', code], { env })
  return JSON.parse(stdout)
}

// In the child: holds the one lane with a minute-long hash until `release()`.
const BLOCK = `
  const blocker = new AbortController()
  const held = b.hash('blocker', SLOW, { signal: blocker.signal }).catch(() => {})
  await until(() => b.stats().running === 1)
  const release = async () => { blocker.abort(); await held }
`

test('a higher class always starts first; compares first inside a class; keys take turns', async () => {
  const order = await inOneLane(`
    ${BLOCK}
    const order = []
    const salt = '$2b$04$CCCCCCCCCCCCCCCCCCCCC.'
    const hash = b.hashSync('pw', salt)
    const calls = [
      ['low compare', () => b.compare('pw', hash, { priority: 'low' })],
      ['normal hash', () => b.hash('pw', salt)],
      ['normal compare', () => b.compare('pw', hash)],
      ['high hash', () => b.hash('pw', salt, { priority: 'high' })],
      ['low hash', () => b.hash('pw', salt, { priority: 'low' })],
      ['high compare', () => b.compare('pw', hash, { priority: 'high' })],
      ['unknown user', () => b.compareUnknown('pw', { rounds: 4 })],
    ]
    // A backlog of one key, then one call each of two other keys, all normal compares.
    for (let i = 0; i < 4; i++) calls.push(['attacker ' + i, () => b.compare('x', hash, { key: '203.0.113.9' })])
    calls.push(['alice', () => b.compare('pw', hash, { key: 'alice' })])
    calls.push(['bob', () => b.compare('pw', hash, { key: 'bob' })])
    const all = calls.map(([name, call]) => call().then(() => order.push(name)))
    await until(() => b.stats().queued === calls.length)
    await release()
    await Promise.all(all)
    return order
  `)
  assert.deepEqual(order, [
    'high compare',
    'high hash',
    // Normal compares: the unkeyed ones share a key, the attacker's backlog takes turns with
    // alice and bob, who each wait for one of its jobs at most.
    'normal compare',
    'attacker 0',
    'alice',
    'bob',
    'unknown user',
    'attacker 1',
    'attacker 2',
    'attacker 3',
    'normal hash',
    'low compare',
    'low hash',
  ])
})

test('a call still queued at its deadline rejects then, uncomputed; one that started finishes', async () => {
  const seen = await inOneLane(`
    ${BLOCK}
    const before = b.stats()
    const hash = b.hashSync('pw', 4)
    const late = await b.compare('pw', hash, { timeout: 20 }).catch((err) => err)
    // Rejected while the lane was still held: nothing was computed for it.
    const during = b.stats()
    await release()
    await until(() => b.stats().running === 0 && b.stats().queued === 0)
    const after = b.stats()
    // A deadline does not cut a job short once it runs: the lane is free, so this one starts at once
    // (seen running), and its cost-14 hash outlasts the 300 ms deadline.
    const long = b.hashSync('pw', 14)
    const started = b.compare('pw', long, { timeout: 300 })
    let settled = false
    started.finally(() => (settled = true)).catch(() => {})
    await until(() => b.stats().running === 1 || settled)
    const onTime = await started
    return {
      code: late.code, message: late.message, name: late.name,
      running: during.running, queuedDuring: during.queued,
      computed: after.compute.count - before.compute.count,
      expired: after.expired - before.expired,
      normalExpired: after.classes.normal.expired - before.classes.normal.expired,
      onTime,
    }
  `)
  assert.deepEqual(seen, {
    code: 'ERR_BCRYPT_DEADLINE',
    message: 'bcrypt-offload: the deadline passed before a lane was free; the job was dropped uncomputed',
    name: 'Error',
    running: 1,
    queuedDuring: 0,
    computed: 0,
    expired: 1,
    normalExpired: 1,
    onTime: true,
  })
})

test('a call that cannot start in time is refused at once, from the measured rate', async () => {
  const seen = await inOneLane(`
    // The rate is measured while jobs wait: keep the lane busy with a queue for a while.
    const salt = await b.genSalt(8)
    await Promise.all(Array.from({ length: 60 }, (_, i) => b.hash('warm ' + i, salt)))
    await until(() => b.stats().rate !== null)
    ${BLOCK}
    const hash = b.hashSync('pw', 12)
    const ahead = Array.from({ length: 20 }, () => b.compare('pw', hash))
    await until(() => b.stats().queued === 20)
    const before = b.stats()
    const refused = await b.compare('pw', hash, { timeout: 100 }).catch((err) => err)
    const between = b.stats()
    // Nothing of a higher class waits: a high call with the same deadline is queued.
    const high = b.compare('pw', hash, { priority: 'high', timeout: 60_000 })
    const pastDeadline = await b.compare('pw', hash, { deadline: Date.now() - 1 }).catch((err) => err)
    await release()
    await Promise.all([...ahead, high])
    return {
      code: refused.code,
      waitMs: refused.waitMs,
      foreseenMs: refused.message.match(/about (\\d+) ms/)?.[1] ?? refused.message,
      rejected: between.rejected - before.rejected,
      normalRejected: between.classes.normal.rejected - before.classes.normal.rejected,
      queuedAfterRefusal: between.queued,
      past: [pastDeadline.code, pastDeadline.message],
    }
  `)
  assert.equal(seen.code, 'ERR_BCRYPT_DEADLINE')
  assert.equal(Math.ceil(seen.waitMs), Number(seen.foreseenMs), 'the foreseen wait is on the error too')
  // Twenty cost-12 jobs ahead: far more than 100 ms of work at any rate this lane measured.
  assert.ok(Number(seen.foreseenMs) > 100, `foreseen wait: ${seen.foreseenMs}`)
  assert.equal(seen.rejected, 1)
  assert.equal(seen.normalRejected, 1)
  assert.equal(seen.queuedAfterRefusal, 20, 'the refused call was never queued')
  assert.deepEqual(seen.past, ['ERR_BCRYPT_DEADLINE', 'bcrypt-offload: the deadline had already passed; the job was not queued'])
})

test('compareUnknown does a compare\'s work at the given cost and answers false', async () => {
  const hash6 = bcrypt.hashSync('secret', 6)
  const steps = async (call) => {
    await until(() => bcrypt.stats().running === 0)
    const before = bcrypt.stats().laneSteps
    const value = await call()
    return [value, bcrypt.stats().laneSteps - before]
  }
  // A cost-c hash is 1 + 2^(c+1) key-schedule steps, whoever asked for it.
  assert.deepEqual(await steps(() => bcrypt.compare('wrong', hash6)), [false, 129])
  assert.deepEqual(await steps(() => bcrypt.compareUnknown('wrong', { rounds: 6 })), [false, 129])
  // Even the password a stored hash would accept: there is no account.
  assert.deepEqual(await steps(() => bcrypt.compareUnknown('secret', { rounds: 6 })), [false, 129])
  assert.deepEqual(await steps(() => bcrypt.compareUnknown(Buffer.from('secret'))), [false, 1 + 2 ** 11])
  const viaCallback = await new Promise((resolve, reject) =>
    bcrypt.compareUnknown('pw', { rounds: 4 }, (err, value) => (err ? reject(err) : resolve(value))),
  )
  assert.equal(viaCallback, false)
  assert.equal(bcrypt.compareUnknownSync('pw', 4), false)
  assert.throws(() => bcrypt.compareUnknownSync(42), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(bcrypt.compareUnknown(), { name: 'TypeError', code: 'ERR_MISSING_ARGS' })
  await assert.rejects(bcrypt.compareUnknown({}), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(bcrypt.compareUnknown('pw', { rounds: 'ten' }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
})

test('bad scheduling options are refused with a Node-style code, before anything is queued', async () => {
  const hash = bcrypt.hashSync('pw', 4)
  const before = bcrypt.stats()
  const cases = [
    [{ priority: 'urgent' }, TypeError, 'ERR_INVALID_ARG_VALUE'],
    [{ priority: 1 }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ priority: null }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ key: 42 }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ key: 'k'.repeat(1025) }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: -1 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: 2 ** 31 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: '100' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ deadline: NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ deadline: new Date(NaN) }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ deadline: Date.now() + 2 ** 32 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ deadline: '2026-01-01' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
  ]
  for (const [options, Class, code] of cases) {
    for (const call of [() => bcrypt.compare('pw', hash, options), () => bcrypt.hash('pw', 4, options), () => bcrypt.compareUnknown('pw', options)]) {
      await assert.rejects(call(), (err) => err instanceof Class && err.code === code, JSON.stringify(options))
    }
  }
  // The callback form gets the same error.
  const viaCallback = await new Promise((resolve) => bcrypt.compare('pw', hash, { priority: 'x' }, resolve))
  assert.equal(viaCallback.code, 'ERR_INVALID_ARG_VALUE')
  const after = bcrypt.stats()
  assert.equal(after.completed + after.rejected, before.completed + before.rejected, 'nothing reached the pool')
  // A Date and a time in ms are both deadlines; with a timeout too, the earlier counts.
  assert.equal(await bcrypt.compare('pw', hash, { deadline: new Date(Date.now() + 60_000) }), true)
  await assert.rejects(bcrypt.compare('pw', hash, { deadline: Date.now() + 60_000, timeout: 0 }), { code: 'ERR_BCRYPT_DEADLINE' })
})

test('each class has its own bound, in configure, stats() and the refusal', async (t) => {
  const { occupyAllLanes } = require('./pool-helpers.js')
  const release = await occupyAllLanes(bcrypt)
  t.after(() => bcrypt.configure({ maxQueue: Infinity }))
  bcrypt.configure({ maxQueue: { high: 1, normal: 0 } })
  const { classes } = bcrypt.stats()
  assert.deepEqual([classes.high.maxQueue, classes.normal.maxQueue, classes.low.maxQueue], [1, 0, Infinity])
  assert.equal(bcrypt.stats().maxQueue, 0, 'the top-level bound is the normal class\'s')
  await assert.rejects(bcrypt.hash('pw', 4), {
    code: 'ERR_BCRYPT_QUEUE_FULL',
    message: 'bcrypt-offload: 0 jobs are already queued at priority "normal" (maxQueue)',
  })
  const high = bcrypt.hash('pw', 4, { priority: 'high' })
  await assert.rejects(bcrypt.hash('pw', 4, { priority: 'high' }), { message: /1 jobs are already queued at priority "high"/ })
  const low = bcrypt.hash('pw', 4, { priority: 'low' })
  assert.equal(bcrypt.stats().classes.high.queued, 1)
  assert.equal(bcrypt.stats().classes.low.queued, 1)
  assert.throws(() => bcrypt.configure({ maxQueue: { urgent: 1 } }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => bcrypt.configure({ maxQueue: { high: -1 } }), { code: 'ERR_OUT_OF_RANGE', message: /maxQueue\.high/ })
  bcrypt.configure({ maxQueue: 5 })
  assert.deepEqual(Object.values(bcrypt.stats().classes).map((c) => c.maxQueue), [5, 5, 5])
  await release()
  await Promise.all([high, low])
})

test('the Prometheus series carry each class', async () => {
  const client = require('prom-client')
  const { registerPoolMetrics } = require('../lib/metrics.js')
  const registry = new client.Registry()
  registerPoolMetrics(client, registry, bcrypt.stats)
  await bcrypt.hash('pw', 4, { priority: 'low' })
  const text = await registry.metrics()
  const { low } = bcrypt.stats().classes
  assert.match(text, new RegExp(`^bcrypt_pool_class_completed_total\\{priority="low"\\} ${low.completed}$`, 'm'))
  assert.match(text, new RegExp(`^bcrypt_pool_class_queue_wait_seconds_count\\{priority="low"\\} ${low.queueWait.count}$`, 'm'))
  assert.match(text, /^bcrypt_pool_class_queued\{priority="high"\} 0$/m)
  assert.match(text, /^bcrypt_pool_expired_total \d+$/m)
  assert.match(text, new RegExp(`^bcrypt_pool_lane_steps_total ${bcrypt.stats().laneSteps}$`, 'm'))
})
