'use strict'

// More of what someone who can write Redis does to the queue tier, on a real redis-server (see
// queue-hostile-redis.test.js for the first part): event stream entries of a size or number the
// attacker chooses, a large entry at the stream's head, the admission set and the events key
// poisoned, and a worker's key record deleted. Cheap by design: where the attack needs hundreds of
// megabytes, a test lowers the limit the code documents for it (READS in lib/queue/client.js) and
// proves the mechanism with a small entry. No timing thresholds: what must happen is waited for.

const test = require('node:test')
const assert = require('node:assert/strict')

const local = require('..')
const { until, queueTestFile, redisForFile, tier, queueName } = require('./redis-helpers.js')
const { READS } = require('../lib/queue/client.js')
const { connect, startWorker, newKey } = require('../queue.js')

queueTestFile()
const redis = redisForFile()

const FAST = 4

// Runs `body` with READS[name] set to `value` (the reader reads it at each read), then restores it.
async function withRead(name, value, body) {
  const before = READS[name]
  READS[name] = value
  try {
    return await body()
  } finally {
    READS[name] = before
  }
}

const info = async (section) => Object.fromEntries(String(await redis.command('INFO', section)).split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(':')))

test('an entry whose field is over the read limit is passed over, and its call answered from its job', { timeout: 60_000 }, async () => {
  const { client, close } = await tier(redis, { timeout: 20_000 })
  try {
    assert.equal(local.compareSync('before', await client.hash('before', FAST)), true)
    // Below a sealed result's length: every answer's entry is passed over, as a 512 MB one would be.
    await withRead('FIELD_MAX', 16, async () => {
      for (const pw of ['over 1', 'over 2']) assert.equal(local.compareSync(pw, await client.hash(pw, FAST)), true)
    })
    assert.ok(client.stats().recovered >= 2, 'the answers came from their jobs')
    assert.equal(client.stats().reader, 'running')
    assert.equal(client.stats().timedOut, 0)
  } finally {
    await close()
  }
})

test('a burst of entries larger than one read is read in several, every call answered', { timeout: 60_000 }, async () => {
  const { client, close, keys } = await tier(redis, { timeout: 20_000 })
  try {
    await withRead('READ_COUNT', 3, async () => {
      await redis.command('EVAL', "for i = 1, 50 do redis.call('XADD', KEYS[1], '*', 'event', 'completed', 'jobId', 'x' .. i, 'returnvalue', '\"x\"') end", 1, keys('events'))
      const passwords = Array.from({ length: 8 }, (_, i) => `burst ${i}`)
      const hashes = await Promise.all(passwords.map((pw) => client.hash(pw, FAST)))
      hashes.forEach((h, i) => assert.equal(local.compareSync(passwords[i], h), true))
    })
    assert.equal(client.stats().recovered, 0, 'every answer read from the stream')
  } finally {
    await close()
  }
})

test('a large entry at the head of the stream stays in Redis: the reader\'s checks do not fetch it', { timeout: 60_000 }, async () => {
  const { client, close, keys } = await tier(redis, { timeout: 20_000 })
  const HEAD = 4 << 20
  try {
    await redis.command('DEL', keys('events'))
    await redis.command('EVAL', "redis.call('XADD', KEYS[1], '*', 'event', 'progress', 'jobId', 'x', 'data', string.rep('A', tonumber(ARGV[1])))", 1, keys('events'), HEAD)
    assert.equal(local.compareSync('after', await client.hash('after', FAST)), true)
    // Several of the reader's checks of the stream (once a second while idle; XINFO STREAM, from a
    // script or not, counts in commandstats), and what Redis sent meanwhile.
    const xinfoCalls = async () => Number(/calls=(\d+)/.exec((await info('commandstats'))['cmdstat_xinfo|stream'] ?? 'calls=0')[1])
    const sentBefore = Number((await info('stats')).total_net_output_bytes)
    const calls = await xinfoCalls()
    await until(async () => (await xinfoCalls()) >= calls + 3, 50)
    const sent = Number((await info('stats')).total_net_output_bytes) - sentBefore
    assert.ok(sent < HEAD, `${sent} bytes sent over 3 checks of a stream whose head entry is ${HEAD} bytes`)
    assert.equal(client.stats().connected, true)
  } finally {
    await close()
  }
})

test('forged reservations that never lapse, or a string at the admission key, do not close the queue', { timeout: 60_000 }, async () => {
  const { client, close, keys } = await tier(redis, { timeout: 20_000, maxWaiting: 10 })
  try {
    assert.equal(local.compareSync('before', await client.hash('before', FAST)), true)
    const forged = Array.from({ length: 100 }, (_, i) => ['+inf', `forged ${i}`]).flat()
    await redis.command('ZADD', keys('admission'), ...forged)
    assert.equal(local.compareSync('after inf', await client.hash('after inf', FAST)), true)
    await redis.command('DEL', keys('admission'))
    await redis.command('SET', keys('admission'), 'x')
    assert.equal(local.compareSync('after string', await client.hash('after string', FAST)), true)
    assert.equal(client.stats().refused, 0)
    assert.equal(client.stats().unavailable, 0)
  } finally {
    await close()
  }
})

// The largest stream entry id there is: Redis makes no id after it.
const MAX_ID = '18446744073709551615-18446744073709551615'

test('an events stream that can take no more entries, or a string there, is cleared and calls go on', { timeout: 60_000 }, async () => {
  const { client, close, keys } = await tier(redis, { timeout: 20_000 })
  try {
    assert.equal(local.compareSync('before', await client.hash('before', FAST)), true)
    await redis.command('XADD', keys('events'), MAX_ID, 'event', 'noise')
    assert.equal(local.compareSync('after max id', await client.hash('after max id', FAST)), true)
    await redis.command('DEL', keys('events'))
    await redis.command('SET', keys('events'), 'x')
    assert.equal(local.compareSync('after string', await client.hash('after string', FAST)), true)
    assert.equal(client.stats().unavailable, 0)
    assert.equal(client.stats().connected, true)
    // Adds that fail for another reason (a string where BullMQ keeps jobs waiting): not connected,
    // until an add goes through again.
    await redis.command('SET', keys('prioritized'), 'x')
    await assert.rejects(client.hash('refused', FAST), { code: 'ERR_BCRYPT_QUEUE_UNAVAILABLE' })
    assert.equal(client.stats().connected, false)
    await redis.command('DEL', keys('prioritized'))
    assert.equal(local.compareSync('again', await client.hash('again', FAST)), true)
    assert.equal(client.stats().connected, true)
  } finally {
    await close()
  }
})

test('a deleted key record and a forged job naming another key do not stop a right worker started afterwards', { timeout: 60_000 }, async () => {
  const key = newKey()
  const name = queueName()
  const { Queue } = require('bullmq')
  const attacker = new Queue(name, { connection: { host: '127.0.0.1', port: redis.port } })
  const client = connect({ redis: redis.url, key, name, timeout: 30_000 })
  let worker
  try {
    await client.ready()
    const records = (await redis.command('KEYS', `bull:${name}:keycheck:*`)).map(String)
    assert.equal(records.length, 1)
    await redis.command('DEL', ...records)
    await attacker.add('hash', { k: 'ffffffffffffffff', s: Buffer.alloc(600, 7).toString('base64') }, { jobId: 'forged' })
    const errors = []
    worker = startWorker({ redis: redis.url, key, name, concurrency: 1, onError: (err) => errors.push(err) })
    await worker.ready()
    await until(() => worker.stats().keyRefused)
    // Stepped aside, as a worker with another key would; it looks again, finds its key proven, and
    // answers the client (which never reconnected).
    const hashes = await Promise.all(['a', 'b'].map((pw) => client.hash(pw, FAST)))
    assert.equal(local.compareSync('a', hashes[0]), true)
    assert.equal(local.compareSync('b', hashes[1]), true)
    assert.equal(worker.stats().keyRefused, false)
  } finally {
    await Promise.all([client.close(), worker?.close({ graceMs: 100 }), attacker.close()])
  }
})
