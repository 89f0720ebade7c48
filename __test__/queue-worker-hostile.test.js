'use strict'

// Workers under faults and a hostile Redis (issue #22), against redis-server processes this file
// starts itself: a worker holding another key, forged jobs, errors that would carry the AUTH
// password, and the queue-depth gauges on /metrics. No timing thresholds: what must happen "soon" is
// waited for, and a test that waits too long fails by its timeout.

const test = require('node:test')
const assert = require('node:assert/strict')
const { inspect } = require('node:util')
const { spawn } = require('node:child_process')

const local = require('..')
const { startRedis, redisForFile, queueTestFile, tier, queueName, secret, settle, until, CLI } = require('./redis-helpers.js')
const { connect, startWorker, newKey } = require('../queue.js')
const envelope = require('../lib/queue/envelope.js')

queueTestFile()
const redis = redisForFile()

const FAST = 4
const keyIdOf = (key) => envelope.keyId(Buffer.from(key, 'base64'))

test('a worker with another key puts back the jobs it took, stops taking jobs and says so', { timeout: 60_000 }, async () => {
  const { client, close, addWorker } = await tier(redis, { workers: 0, timeout: 30_000 })
  try {
    const errors = []
    // Alone at first, so that it meets jobs (before the fix it failed each at once:
    // ERR_BCRYPT_QUEUE_TAMPERED for the caller).
    const wrong = await addWorker({ key: newKey(), concurrency: 2, onError: (err) => errors.push(err) })
    const failedEarly = []
    const first = Array.from({ length: 4 }, (_, i) => settle(client.hash(`first ${i}`, FAST)).then((o) => (o.error && failedEarly.push(o.error.code), o)))
    await until(() => errors.some((e) => e.code === 'ERR_BCRYPT_QUEUE_WORKER_KEY') || failedEarly.length > 0)
    assert.deepEqual(failedEarly, [], 'no call fails for the wrong worker')
    assert.match(errors[0].message, /this worker's key \(id [0-9a-f]{16}\) is not the clients'/)
    assert.equal(wrong.stats().keyRefused, true)
    assert.ok(wrong.stats().returned >= 1, JSON.stringify(wrong.stats()))
    assert.equal(wrong.stats().rejected, 0)
    // Two workers with the clients' key: every call answered, the early ones too.
    await addWorker()
    await addWorker()
    const burst = Array.from({ length: 60 }, (_, i) => settle(client.hash(`burst ${i}`, FAST)))
    const outcomes = await Promise.all([...first, ...burst])
    const failed = outcomes.filter((o) => o.error).map((o) => o.error.code)
    assert.deepEqual(failed, [], `${failed.length} of ${outcomes.length} calls failed`)
    assert.deepEqual(await Promise.all(outcomes.slice(0, 4).map((o, i) => local.compare(`first ${i}`, o.value))), [true, true, true, true])
    assert.equal(wrong.stats().hash, 0)
    assert.equal(wrong.stats().keyRefused, true, 'it stays stopped: no client announced its key')
    assert.equal(errors.filter((e) => e.code === 'ERR_BCRYPT_QUEUE_WORKER_KEY').length, 1, 'said once')
    console.log(`# wrong-key worker: put back ${wrong.stats().returned} jobs; all ${outcomes.length} calls answered by the two right workers`)
  } finally {
    await close()
  }
})

test('forged jobs do not stop a worker whose key a client announced; a worker met by them first resumes once one does', { timeout: 60_000 }, async () => {
  const key = newKey()
  const name = queueName()
  const { Queue } = require('bullmq')
  // The attacker: writes to Redis, has no key.
  const attacker = new Queue(name, { connection: { host: '127.0.0.1', port: redis.port } })
  const forge = (id, k) => attacker.add('hash', { k, s: Buffer.alloc(600, 7).toString('base64') }, { jobId: id })
  const errors = []
  const worker = startWorker({ redis: redis.url, key, name, concurrency: 2, onError: (err) => errors.push(err) })
  let client
  try {
    await worker.ready()
    // Before any client has connected, a forged job naming another key is all the worker knows:
    // it cannot tell it from a wrong key of its own, so it puts it back and waits.
    await forge('forged-early', 'ffffffffffffffff')
    await until(() => worker.stats().keyRefused)
    assert.equal(errors[0].code, 'ERR_BCRYPT_QUEUE_WORKER_KEY')
    // A client with its key connects (and announces it): the worker resumes, fails the forged job
    // and answers the client.
    client = connect({ redis: redis.url, key, name })
    await client.ready()
    const hash = await client.hash('after the forgery', FAST)
    assert.equal(await local.compare('after the forgery', hash), true)
    await until(() => worker.stats().rejected === 1)
    assert.equal(worker.stats().keyRefused, false)
    // Now forged jobs of every kind: another key's id, this key's id with a sealed request that does
    // not open, no data at all. Each is failed; the worker keeps answering.
    await forge('forged-other', '0123456789abcdef')
    await forge('forged-same', keyIdOf(key))
    await attacker.add('hash', {}, { jobId: 'forged-empty' })
    await until(() => worker.stats().rejected === 4)
    const calls = await Promise.all(Array.from({ length: 6 }, (_, i) => client.hash(`later ${i}`, FAST)))
    assert.equal(calls.length, 6)
    assert.equal(worker.stats().keyRefused, false)
    assert.equal(errors.filter((e) => e.code === 'ERR_BCRYPT_QUEUE_WORKER_KEY').length, 1)
  } finally {
    await Promise.all([client?.close(), worker.close({ graceMs: 100 }), attacker.close()])
  }
})

test('the CLI worker with another key exits with code 3, and the job waits for a right worker', { timeout: 60_000 }, async () => {
  const { client, close, addWorker } = await tier(redis, { workers: 0, timeout: 30_000 })
  const child = spawn(process.execPath, [CLI, 'worker', '--name', client.queue.name], {
    env: { ...process.env, BCRYPT_OFFLOAD_REDIS: redis.url, BCRYPT_OFFLOAD_QUEUE_KEY: newKey(), BCRYPT_OFFLOAD_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  try {
    await until(() => output.includes('jobs at once') || child.exitCode !== null)
    const call = settle(client.hash('waits for the right worker', FAST))
    assert.deepEqual(await exited, { code: 3, signal: null }, output)
    assert.match(output, /ERR_BCRYPT_QUEUE_WORKER_KEY|is not the clients'/)
    await addWorker()
    const { value, error } = await call
    assert.equal(error, undefined)
    assert.equal(await local.compare('waits for the right worker', value), true)
  } finally {
    child.kill('SIGKILL')
    await close()
  }
})

test("errors handed to onError carry no AUTH password, whatever prints them", { timeout: 30_000 }, async (t) => {
  const password = secret('redis-password')
  const server = await startRedis({ password })
  t.after(() => server.destroy())
  // A wrong password: ioredis's error carries the AUTH command with its arguments.
  const wrongPassword = secret('wrong-redis-password')
  const errors = []
  const worker = startWorker({ redis: `redis://:${wrongPassword}@127.0.0.1:${server.port}`, key: newKey(), name: queueName(), onError: (err) => errors.push(err) })
  try {
    await until(() => errors.length >= 2)
  } finally {
    await worker.close({ graceMs: 100 })
  }
  for (const err of errors) {
    for (const shown of [inspect(err, { depth: 10, showHidden: true }), JSON.stringify(err), err.stack, String(err)]) {
      assert.equal(shown.includes(wrongPassword), false, shown)
    }
    assert.ok(err instanceof Error)
  }
  assert.ok(errors.some((e) => /WRONGPASS|NOAUTH|invalid/i.test(e.message)), errors.map((e) => e.message).join('\n'))
  assert.equal(worker.stats().lastError.includes(wrongPassword), false)
})

test('/metrics: jobs waiting by priority and the oldest one\'s age, read from Redis', { timeout: 60_000 }, async () => {
  const client = require('prom-client')
  const { registerWorkerMetrics } = require('../lib/metrics.js')
  const stored = local.hashSync('pw', local.genSaltSync(FAST))
  const { client: bcrypt, close, addWorker } = await tier(redis, { workers: 0 })
  try {
    const worker = await addWorker({ concurrency: 1 })
    const registry = new client.Registry()
    registerWorkerMetrics(client, registry, worker)
    const scrape = async () => {
      const text = await registry.metrics()
      const value = (series) => Number(text.match(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm'))?.[1])
      return {
        high: value('bcrypt_queue_waiting{priority="high"}'),
        normal: value('bcrypt_queue_waiting{priority="normal"}'),
        low: value('bcrypt_queue_waiting{priority="low"}'),
        oldest: value('bcrypt_queue_oldest_waiting_seconds'),
      }
    }
    assert.deepEqual(await scrape(), { high: 0, normal: 0, low: 0, oldest: 0 })
    // The worker stops taking jobs; calls of each class wait in Redis.
    await worker.worker.pause()
    const before = Date.now()
    const calls = [
      bcrypt.hash('h1', FAST, { priority: 'high' }),
      bcrypt.compare('pw', stored, { priority: 'high' }),
      bcrypt.hash('n1', FAST),
      bcrypt.compare('pw', stored),
      bcrypt.hash('n2', FAST, { priority: 'normal' }),
      bcrypt.hash('l1', FAST, { priority: 'low' }),
    ]
    await until(() => bcrypt.stats().added === calls.length)
    const { oldest, ...counts } = await scrape()
    const upper = (Date.now() - before) / 1000
    assert.deepEqual(counts, { high: 2, normal: 3, low: 1 })
    assert.ok(oldest >= 0 && oldest <= upper, `${oldest} s: between 0 and ${upper} s, the time since the first call`)
    worker.worker.resume()
    await Promise.all(calls)
    assert.deepEqual(await scrape(), { high: 0, normal: 0, low: 0, oldest: 0 })
  } finally {
    await close()
  }
})
