'use strict'

// The queue tier's workers against a redis-server this file starts and stops itself: the order they
// take jobs in, jobs past their deadline, and worker processes (the CLI) killed (SIGKILL) or stopped
// (SIGTERM) with jobs in hand. No timing thresholds: what must happen "soon" is waited for, and a
// test that waits too long fails by its timeout. The time to recover after SIGKILL is logged.

const test = require('node:test')
const assert = require('node:assert/strict')

const local = require('..')
const { redisForFile, until, queueTestFile, tier, cliTier, waitingCount, waitingIds, completedEvents, settle, ms } = require('./redis-helpers.js')
const { createErrors, fromWire } = require('../lib/errors.js')
const envelope = require('../lib/queue/envelope.js')

queueTestFile()
const redis = redisForFile()

const FAST = 4

test('workers take compares before queued hashes; compareFirst: false keeps arrival order', { timeout: 30_000 }, async () => {
  const stored = local.hashSync('pw', local.genSaltSync(FAST))
  for (const compareFirst of [true, false]) {
    const { client, close, addWorker, keys } = await tier(redis, { workers: 0, compareFirst })
    try {
      const done = []
      const calls = []
      for (let i = 0; i < 4; i++) calls.push(client.hash(`h${i}`, FAST).then(() => done.push('hash')))
      await until(() => client.stats().added === 4)
      calls.push(client.compare('pw', stored).then((ok) => done.push(`compare ${ok}`)))
      await until(() => client.stats().added === 5)
      assert.equal(await waitingCount(redis, keys), 5)
      // Normal calls: all in BullMQ's prioritized set, compares ahead of hashes with compareFirst.
      assert.equal(await redis.command('ZCARD', keys('prioritized')), 5)
      // One job at a time, so the order they complete in is the order the worker took them.
      await addWorker({ concurrency: 1 })
      await Promise.all(calls)
      const compare = compareFirst ? ['compare true'] : []
      assert.deepEqual(done, [...compare, 'hash', 'hash', 'hash', 'hash', ...(compareFirst ? [] : ['compare true'])])
    } finally {
      await close()
    }
  }
})

test('a worker drops a job whose deadline has passed, without computing it', { timeout: 30_000 }, async () => {
  const { client, close, addWorker, name, key, keys } = await tier(redis, { workers: 0 })
  try {
    const k = Buffer.from(key, 'base64')
    // Past the tier's deadline (the caller gave up), and past the call's own start-by deadline
    // only: the first is answered "expired", the second ERR_BCRYPT_DEADLINE, as the caller's pool
    // would have answered it.
    const late = [
      { deadline: Date.now() - 1 },
      { deadline: Date.now() + 60_000, startBy: Date.now() - 1 },
    ]
    const ids = []
    for (const times of late) {
      const id = require('node:crypto').randomUUID()
      const s = envelope.sealRequest(k, name, id, { op: 'hash', setting: local.genSaltSync(FAST), data: 'late', ...times })
      await client.queue.add('hash', { k: envelope.keyId(k), s }, { jobId: id, removeOnComplete: true })
      ids.push(id)
    }
    const computed = local.stats().completed
    // One job at a time, and no warm-up hash (a worker measuring its lanes computes one).
    const worker = await addWorker({ concurrency: 1 })
    await until(() => worker.stats().expired === 2)
    assert.equal(worker.stats().hash, 0)
    assert.equal(local.stats().completed, computed)
    // The sealed answers, from the event stream.
    const completed = await completedEvents(redis, keys)
    const answers = ids.map((id) => envelope.openResult(k, name, id, JSON.parse(completed.find((e) => e.jobId === id).returnvalue)))
    assert.deepEqual(answers, [{ expired: true }, { error: { kind: 'Deadline', facts: { waitMs: null } } }])
    const { fromNative } = createErrors(require('../binding.js'))
    assert.equal(fromNative(fromWire(answers[1].error)).code, 'ERR_BCRYPT_DEADLINE')
  } finally {
    await close()
  }
})

test('across workers: high before normal before low, compares before hashes in a class; the pool gets the class', { timeout: 60_000 }, async () => {
  const stored = local.hashSync('pw', local.genSaltSync(FAST))
  const arrivals = ['low hash', 'low compare', 'normal hash', 'normal compare', 'high hash', 'high compare']
  for (const compareFirst of [true, false]) {
    const { client, close, addWorker, keys } = await tier(redis, { workers: 0, compareFirst })
    try {
      // One worker taking one job at a time, held busy by a long hash while the others are queued.
      await addWorker({ concurrency: 1 })
      const before = local.stats().classes
      const blocker = settle(client.hash('blocker', 14))
      await until(async () => (await redis.command('LLEN', keys('active'))) === 1)
      const taken = []
      const calls = []
      for (const label of arrivals) {
        const [priority, op] = label.split(' ')
        const call = op === 'hash' ? client.hash(label, FAST, { priority }) : client.compare('pw', stored, { priority, key: label })
        calls.push(call.then(() => taken.push(label)))
        await until(() => client.stats().added === calls.length + 1) // one after the other: arrival order is known
      }
      const ids = await waitingIds(redis, keys)
      assert.equal(ids.length, arrivals.length, 'all six wait while the worker holds the long hash')
      assert.equal(await client.stats().pending, arrivals.length + 1)
      // Where BullMQ keeps them, in the order workers take them: the wait list is priority 0.
      const waitList = (await redis.command('LRANGE', keys('wait'), 0, -1)).map(String)
      const priorities = await Promise.all(ids.map(async (id) => (waitList.includes(id) ? 0 : Number(await redis.command('HGET', keys(id), 'priority')))))
      assert.deepEqual(priorities, compareFirst ? [0, 1, 2, 3, 4, 5] : [0, 0, 2, 2, 4, 4])
      assert.ok(!(await blocker).error)
      await Promise.all(calls)
      const byClass = compareFirst ? ['compare', 'hash'] : ['hash', 'compare']
      assert.deepEqual(taken, ['high', 'normal', 'low'].flatMap((priority) => byClass.map((op) => `${priority} ${op}`)))
      // The worker's pool scheduled each job in its own class (the blocker is normal).
      const after = local.stats().classes
      assert.deepEqual(['high', 'normal', 'low'].map((c) => after[c].completed - before[c].completed), [2, 3, 2])
    } finally {
      await close()
    }
  }
})

test('a worker killed mid-job (SIGKILL): its jobs complete on another worker', { timeout: 60_000 }, async () => {
  const { inHand, workers: [victim, survivor], close } = await cliTier(redis, { workers: 2 })
  try {
    // Six lanes each: both workers full, each job long enough (cost 12) to be cut short.
    const { passwords, calls } = await inHand(12, 'killed')
    const killedAt = performance.now()
    victim.kill('SIGKILL')
    const hashes = await Promise.all(calls)
    console.log(`# SIGKILL: all 12 calls answered ${ms(killedAt)} after one of two workers was killed holding 6 of them`)
    const checks = await Promise.all(passwords.map((pw, i) => local.compare(pw, hashes[i])))
    assert.deepEqual(checks, passwords.map(() => true))
    survivor.kill('SIGTERM')
    assert.deepEqual(await survivor.exited, { code: 0, signal: null })
    const done = JSON.parse(survivor.output.match(/stopped (.*)/)[1])
    assert.ok(done.hash > 6, `the survivor computed the victim's jobs too (${done.hash})`)
  } finally {
    await close()
  }
})

test('SIGTERM: a worker finishes the jobs in hand, then exits', { timeout: 60_000 }, async () => {
  const { inHand, workers: [worker], close } = await cliTier(redis)
  try {
    const { passwords, calls } = await inHand(6, 'term')
    worker.kill('SIGTERM')
    const hashes = await Promise.all(calls)
    assert.deepEqual(await Promise.all(passwords.map((pw, i) => local.compare(pw, hashes[i]))), passwords.map(() => true))
    assert.deepEqual(await worker.exited, { code: 0, signal: null })
    assert.match(worker.output, /SIGTERM, finishing the jobs in hand/)
  } finally {
    await close()
  }
})
