'use strict'

// The queue tier's client (bcrypt-offload/queue) against a redis-server this file starts and stops
// itself: answers and call forms as the local package's, many calls in flight, aborts, the bound on
// waiting jobs, close(). No timing thresholds: what must happen "soon" is waited for, and a test
// that waits too long fails by its timeout.

const test = require('node:test')
const assert = require('node:assert/strict')

const local = require('..')
const { redisForFile, until, queueTestFile, tier, waitingCount, waitingIds, secret, settle } = require('./redis-helpers.js')

queueTestFile()
const redis = redisForFile()

const FAST = 4

test('answers as the local package does, in every call form', { timeout: 30_000 }, async () => {
  const { client, close } = await tier(redis)
  try {
    const salt = local.genSaltSync(FAST)
    assert.equal(await client.hash('pässword', salt), local.hashSync('pässword', salt))
    const h = await client.hash(Buffer.from([0, 1, 2, 255]), FAST)
    assert.equal(local.compareSync(Buffer.from([0, 1, 2, 255]), h), true)
    assert.equal(await client.compare('pässword', local.hashSync('pässword', salt)), true)
    assert.equal(await client.compare('password', local.hashSync('pässword', salt)), false)
    assert.equal(await client.compare('pw', 'not a hash'), false)
    const viaCallback = await new Promise((resolve) => client.hash('cb', salt, (...args) => resolve(args)))
    assert.deepEqual(viaCallback, [undefined, local.hashSync('cb', salt)])
    const withOptions = await new Promise((resolve) => client.compare('cb', viaCallback[1], { signal: new AbortController().signal }, (...a) => resolve(a)))
    assert.deepEqual(withOptions, [undefined, true])
    // Errors are the package's own, worded from the same table, whether the worker or the
    // client found the fault.
    for (const [remote, here] of [
      [() => client.hash('pw', 'not a salt'), () => local.hash('pw', 'not a salt')],
      [() => client.hash('pw'), () => local.hash('pw')],
      [() => client.compare('pw', 42), () => local.compare('pw', 42)],
      [() => client.hash('x'.repeat(73), FAST, { rejectLongPasswords: true }), () => local.hash('x'.repeat(73), FAST, { rejectLongPasswords: true })],
      [() => client.hash('pw', FAST, { signal: AbortSignal.abort('gone') }), () => local.hash('pw', FAST, { signal: AbortSignal.abort('gone') })],
    ]) {
      const [a, b] = [await remote().catch((e) => e), await here().catch((e) => e)]
      assert.ok(a instanceof Error)
      assert.deepEqual([a.constructor, a.code, a.message], [b.constructor, b.code, b.message])
    }
    assert.equal(client.stats().pending, 0)
  } finally {
    await close()
  }
})

test('many calls in flight: each settles once, with its own answer', { timeout: 60_000 }, async () => {
  const { client, close } = await tier(redis, { workers: 2 })
  try {
    const passwords = Array.from({ length: 150 }, (_, i) => secret(`user${i}`))
    const settlements = passwords.map(() => 0)
    const hashes = await Promise.all(
      passwords.map((pw, i) => new Promise((resolve, reject) =>
        client.hash(pw, FAST, (err, h) => (settlements[i]++, err ? reject(err) : resolve(h))))),
    )
    const checks = await Promise.all(passwords.map((pw, i) => Promise.all([client.compare(pw, hashes[i]), client.compare(pw, hashes[(i + 1) % hashes.length])])))
    assert.deepEqual(checks, passwords.map(() => [true, false]))
    for (const [i, pw] of passwords.entries()) assert.equal(local.compareSync(pw, hashes[i]), true)
    // Waited for, not slept on: once close() returns, every call has settled and the reader of the
    // queue's events is closed, so no answer can come after this, a second one least of all.
    await client.close()
    assert.deepEqual(settlements, passwords.map(() => 1))
    assert.equal(client.stats().completed, 450)
  } finally {
    await close()
  }
})

test('an aborted call removes its job', { timeout: 30_000 }, async () => {
  const { client, close, keys } = await tier(redis, { workers: 0 })
  try {
    const controller = new AbortController()
    const call = settle(client.hash('abort me', FAST, { signal: controller.signal }))
    await until(async () => (await waitingCount(redis, keys)) === 1)
    const [id] = await waitingIds(redis, keys)
    assert.equal(await redis.command('EXISTS', keys(id)), 1)
    controller.abort(new Error('client went away'))
    const { error } = await call
    assert.equal(error.name, 'AbortError')
    assert.equal(error.cause.message, 'client went away')
    await until(async () => (await redis.command('EXISTS', keys(id))) === 0 && (await waitingCount(redis, keys)) === 0)
    assert.equal(client.stats().pending, 0)
  } finally {
    await close()
  }
})

test('past maxWaiting jobs waiting, calls reject at once with ERR_BCRYPT_QUEUE_FULL', { timeout: 30_000 }, async () => {
  const { client, close, addWorker, keys } = await tier(redis, { workers: 0, maxWaiting: 3 })
  try {
    const waiting = []
    for (let i = 0; i < 3; i++) {
      waiting.push(client.hash(`waiting ${i}`, FAST))
      await until(async () => (await waitingCount(redis, keys)) === i + 1)
    }
    const err = await client.hash('one too many', FAST).catch((e) => e)
    assert.equal(err.code, 'ERR_BCRYPT_QUEUE_FULL')
    assert.match(err.message, /3 jobs are already waiting/)
    const viaCallback = await new Promise((resolve) => client.compare('x', local.hashSync('x', local.genSaltSync(FAST)), resolve))
    assert.equal(viaCallback.code, 'ERR_BCRYPT_QUEUE_FULL')
    assert.equal(client.stats().refused, 2)
    await addWorker()
    const hashes = await Promise.all(waiting)
    hashes.forEach((h, i) => assert.equal(local.compareSync(`waiting ${i}`, h), true))
  } finally {
    await close()
  }
})

test('close(): calls in flight settle, later ones reject with ERR_BCRYPT_QUEUE_CLOSED', { timeout: 30_000 }, async () => {
  const { client, close } = await tier(redis, { workers: 0, timeout: 300 })
  try {
    const inFlight = settle(client.hash('pw', FAST))
    await until(() => client.stats().pending === 1)
    const closing = client.close()
    assert.equal((await client.hash('after', FAST).catch((e) => e)).code, 'ERR_BCRYPT_QUEUE_CLOSED')
    await closing
    assert.equal((await inFlight).error.code, 'ERR_BCRYPT_QUEUE_TIMEOUT')
  } finally {
    await close()
  }
})

test("a call's own timeout or deadline: ERR_BCRYPT_DEADLINE while its job waits, and its job is removed", { timeout: 30_000 }, async () => {
  const { client, close, keys } = await tier(redis, { workers: 0 })
  try {
    const stored = local.hashSync('pw', local.genSaltSync(FAST))
    const expected = await local.hash('pw', FAST, { deadline: 0 }).catch((e) => e)
    for (const [label, call] of [
      ['timeout, promise', () => client.hash('pw', FAST, { timeout: 100 })],
      ['deadline, promise', () => client.compare('pw', stored, { deadline: Date.now() + 100 })],
      ['timeout, callback', () => new Promise((resolve, reject) => client.compare('pw', stored, { timeout: 100 }, (err, ok) => (err ? reject(err) : resolve(ok))))],
    ]) {
      const err = await call().catch((e) => e)
      assert.equal(err.code, 'ERR_BCRYPT_DEADLINE', `${label}: ${err.message}`)
      assert.equal(err.constructor, expected.constructor)
      assert.equal(err.message, 'bcrypt-offload: the deadline passed before a lane was free; the job was dropped uncomputed')
    }
    await until(async () => (await waitingCount(redis, keys)) === 0 && client.stats().pending === 0)
    assert.equal(client.stats().expired, 3)
    assert.equal(client.stats().timedOut, 0)
  } finally {
    await close()
  }
})

test("a job a worker has started when the call's deadline passes finishes, and the call resolves", { timeout: 30_000 }, async () => {
  const { client, close, keys } = await tier(redis, { workers: 1 })
  try {
    // A hash long enough (cost 15) to still run at the deadline, taken at once by an idle worker.
    const deadlineMs = 500
    const since = performance.now()
    const call = settle(client.hash('started in time', 15, { timeout: deadlineMs }))
    await until(async () => (await redis.command('LLEN', keys('active'))) === 1)
    assert.ok(performance.now() - since < deadlineMs, 'the worker took the job before its deadline')
    const { value, error } = await call
    assert.ok(performance.now() - since > deadlineMs, 'it ran past its deadline')
    assert.equal(error, undefined)
    assert.equal(local.compareSync('started in time', value), true)
    assert.equal(client.stats().expired, 0)
  } finally {
    await close()
  }
})

test("compareUnknown: a worker does a compare's work at the cost asked, in a job named as any compare", { timeout: 30_000 }, async () => {
  const { client, close, addWorker, keys } = await tier(redis, { workers: 0 })
  try {
    const call = client.compareUnknown('nobody', { rounds: 5 })
    await until(async () => (await waitingCount(redis, keys)) === 1)
    const [id] = await waitingIds(redis, keys)
    assert.equal(String(await redis.command('HGET', keys(id), 'name')), 'compare')
    const steps = local.stats().laneSteps
    const worker = await addWorker()
    assert.equal(await call, false)
    // One hash at cost 5 is 1 + 2^6 key-schedule steps (the pool's own count; no other job ran).
    assert.equal(local.stats().laneSteps - steps, 1 + 2 ** 6)
    assert.equal(worker.stats().compare, 1)
    assert.deepEqual(await new Promise((resolve) => client.compareUnknown('nobody', { rounds: FAST }, (...args) => resolve(args))), [undefined, false])
    for (const args of [[], [42], ['pw', { rounds: 'ten' }], ['pw', { priority: 'urgent' }]]) {
      const [a, b] = [await client.compareUnknown(...args).catch((e) => e), await local.compareUnknown(...args).catch((e) => e)]
      assert.deepEqual([a.constructor, a.code, a.message], [b.constructor, b.code, b.message])
    }
  } finally {
    await close()
  }
})
