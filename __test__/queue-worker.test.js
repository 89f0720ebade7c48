'use strict'

// The queue tier's workers against a redis-server this file starts and stops itself: the order they
// take jobs in, jobs past their deadline, and worker processes (the CLI) killed (SIGKILL) or stopped
// (SIGTERM) with jobs in hand. No timing thresholds: what must happen "soon" is waited for, and a
// test that waits too long fails by its timeout. The time to recover after SIGKILL is logged.

const test = require('node:test')
const assert = require('node:assert/strict')

const local = require('..')
const { redisForFile, until, queueTestFile, tier, cliTier, waitingCount, ms } = require('./redis-helpers.js')
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
      assert.equal(await redis.command('ZCARD', keys('prioritized')), compareFirst ? 4 : 0)
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
  const { client, close, addWorker, name, key } = await tier(redis, { workers: 0 })
  try {
    const id = require('node:crypto').randomUUID()
    const k = Buffer.from(key, 'base64')
    const s = envelope.sealRequest(k, name, id, { op: 'hash', setting: local.genSaltSync(FAST), data: 'late', deadline: Date.now() - 1 })
    await client.queue.add('hash', { k: envelope.keyId(k), s }, { jobId: id, removeOnComplete: true })
    const computed = local.stats().completed
    const worker = await addWorker()
    await until(() => worker.stats().expired === 1)
    assert.equal(worker.stats().hash, 0)
    assert.equal(local.stats().completed, computed)
  } finally {
    await close()
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
