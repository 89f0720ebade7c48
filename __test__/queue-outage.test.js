'use strict'

// The queue tier when Redis fails, each test on a redis-server of its own that it kills (SIGKILL),
// freezes (SIGSTOP) and restarts: calls reject at once or within their deadline, or run locally if
// asked; close() never hangs; jobs survive a restart with AOF. No timing thresholds: what must happen
// "soon" is waited for, and a test that waits too long fails by its timeout. Measured times
// (rejection while Redis is down or hung, recovery) are logged.

const test = require('node:test')
const assert = require('node:assert/strict')

const local = require('..')
const { startRedis, until, queueTestFile, tier, waitingCount, queueName, settle, ms } = require('./redis-helpers.js')
const { connect, newKey } = require('../queue.js')

queueTestFile()

const FAST = 4

test('Redis down: calls reject at once (or run locally, if asked), and work again once it is back', { timeout: 60_000 }, async (t) => {
  const server = await startRedis()
  t.after(() => server.destroy())
  const { client, close, key, name } = await tier(server, { timeout: 5000 })
  const fallback = connect({ redis: server.url, key, name, fallback: 'local' })
  try {
    await fallback.ready()
    assert.equal(local.compareSync('up', await client.hash('up', FAST)), true)
    await server.kill()
    let since = performance.now()
    const err = await client.hash('down', FAST).catch((e) => e)
    assert.equal(err.code, 'ERR_BCRYPT_QUEUE_UNAVAILABLE', err.message)
    console.log(`# Redis down: a call rejected with ${err.code} in ${ms(since)} (${err.message})`)
    since = performance.now()
    const locally = await fallback.hash('down', FAST)
    assert.equal(local.compareSync('down', locally), true)
    assert.equal(fallback.stats().local, 1)
    console.log(`# Redis down: with fallback 'local', answered in ${ms(since)}`)
    await server.start()
    since = performance.now()
    const stored = local.hashSync('back', local.genSaltSync(FAST))
    await until(async () => (await settle(client.compare('back', stored))).value === true, 50)
    console.log(`# Redis restarted: calls answered by the tier again ${ms(since)} after it accepted connections`)
  } finally {
    await Promise.all([close(), fallback.close()])
  }
})

test('close() returns while Redis is down, for clients and workers alike', { timeout: 30_000 }, async (t) => {
  const server = await startRedis()
  t.after(() => server.destroy())
  const { client, workers } = await tier(server)
  const never = connect({ redis: 'redis://127.0.0.1:1', key: newKey(), name: queueName() })
  assert.equal((await never.hash('pw', FAST).catch((e) => e)).code, 'ERR_BCRYPT_QUEUE_UNAVAILABLE')
  assert.equal(local.compareSync('up', await client.hash('up', FAST)), true)
  await server.kill()
  await Promise.all([client.close(), never.close(), workers[0].close({ graceMs: 100 })])
})

test('Redis hung (SIGSTOP): calls reject within their deadline, never hang, and recover', { timeout: 60_000 }, async (t) => {
  const server = await startRedis()
  t.after(() => server.destroy())
  const { client, close, key, name, keys } = await tier(server, { timeout: 3000, commandTimeout: 500 })
  const fallback = connect({ redis: server.url, key, name, fallback: 'local', timeout: 3000, commandTimeout: 500 })
  try {
    await fallback.ready()
    assert.equal(local.compareSync('up', await fallback.hash('up', FAST)), true)
    // A call in a worker's hands when Redis stops answering: its result cannot arrive.
    let since = performance.now()
    const inFlight = settle(client.hash('in flight', 14))
    await until(async () => (await server.command('LLEN', keys('active'))) === 1)
    server.freeze()
    const first = performance.now()
    const err = await client.hash('hung', FAST).catch((e) => e)
    assert.equal(err.code, 'ERR_BCRYPT_QUEUE_UNAVAILABLE', err.message)
    console.log(`# Redis hung: a new call rejected with ${err.code} in ${ms(first)}`)
    const next = performance.now()
    assert.equal((await client.hash('hung', FAST).catch((e) => e)).code, 'ERR_BCRYPT_QUEUE_UNAVAILABLE')
    console.log(`# Redis hung: the next call rejected in ${ms(next)}`)
    const locally = await fallback.hash('hung', FAST)
    assert.equal(local.compareSync('hung', locally), true)
    const late = await inFlight
    assert.equal(late.error?.code, 'ERR_BCRYPT_QUEUE_TIMEOUT')
    console.log(`# Redis hung: the call in flight rejected with ${late.error.code} ${ms(since)} after it was made (timeout 3000 ms)`)
    server.thaw()
    since = performance.now()
    const stored = local.hashSync('back', local.genSaltSync(FAST))
    await until(async () => (await settle(client.compare('back', stored))).value === true, 50)
    console.log(`# Redis resumed: calls answered again after ${ms(since)}`)
  } finally {
    server.thaw()
    await Promise.all([close(), fallback.close()])
  }
})

test('Redis restarted with AOF: queued jobs survive and complete', { timeout: 60_000 }, async (t) => {
  const server = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] })
  t.after(() => server.destroy())
  const { client, close, addWorker, keys } = await tier(server, { workers: 0, timeout: 60_000 })
  try {
    const salt = local.genSaltSync(FAST)
    const stored = local.hashSync('right', salt)
    const calls = [client.hash('one', salt), client.hash(Buffer.from('two'), salt), client.compare('right', stored), client.compare('wrong', stored)]
    await until(async () => (await waitingCount(server, keys)) === calls.length)
    // Redis answers a write only once it is in the AOF (appendfsync always), so once the client has
    // its answers, the jobs are on disk. (Killed before that, the calls would reject, rightly,
    // with ERR_BCRYPT_QUEUE_UNAVAILABLE, although their jobs may survive.)
    await until(() => client.stats().added === calls.length)
    await server.kill()
    await server.start()
    assert.equal(await waitingCount(server, keys), calls.length)
    await addWorker()
    assert.deepEqual(await Promise.all(calls), [local.hashSync('one', salt), local.hashSync('two', salt), true, false])
  } finally {
    await close()
  }
})
