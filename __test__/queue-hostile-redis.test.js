'use strict'

// The caller's side of the queue tier against what someone who can write Redis (or a stalled event
// loop, or a burst) does to it, on a real redis-server: forged and malformed entries in the event
// stream, a stream deleted or given an id no later entry can pass, a reader's connection cut or its
// key of the wrong type, a client whose answers were trimmed from the stream while it stalled, and
// a burst made in one tick against `maxWaiting` from two clients. No timing thresholds: what must
// happen is waited for, and a test that waits too long fails by its timeout.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')

const local = require('..')
const { until, queueTestFile, redisForFile, tier, cliTier, waitingCount, settle } = require('./redis-helpers.js')
const { connect, newKey } = require('../queue.js')

queueTestFile()
const redis = redisForFile()

const FAST = 4
// The largest stream entry id there is: Redis makes no id after it.
const MAX_ID = '18446744073709551615-18446744073709551615'

// The connections blocked in XREAD (clients' event readers), as CLIENT LIST lines.
async function blockedReaders() {
  const list = String(await redis.command('CLIENT', 'LIST'))
  return list.split('\n').filter((line) => / flags=b /.test(line) && / cmd=xread/.test(line))
}

test('malformed entries in the event stream leave every client reading it', { timeout: 60_000 }, async () => {
  const { client, close, keys } = await tier(redis, { timeout: 5000 })
  try {
    assert.equal(local.compareSync('before', await client.hash('before', FAST)), true)
    const events = keys('events')
    await redis.command('XADD', events, '*', 'event', 'completed', 'jobId', 'x', 'returnvalue', 'not json')
    await redis.command('XADD', events, '*', 'event', 'completed', 'jobId', 'y')
    await redis.command('XADD', events, '*', 'event', 'progress', 'jobId', 'z', 'data', '{bad')
    await redis.command('XADD', events, '*', 'noise', '1')
    await redis.command('XADD', events, '*', 'jobId', '__proto__', 'event', 'completed', 'returnvalue', '{}')
    for (const pw of ['after 1', 'after 2']) assert.equal(local.compareSync(pw, await client.hash(pw, FAST)), true)
    assert.equal(client.stats().reader, 'running')
    assert.equal(client.stats().connected, true)
    assert.equal(client.stats().timedOut, 0)
  } finally {
    await close()
  }
})

test('a forged entry with the largest id, then DEL of the stream: the reader starts over', { timeout: 60_000 }, async () => {
  const { client, close, keys } = await tier(redis, { timeout: 5000 })
  try {
    assert.equal(local.compareSync('before', await client.hash('before', FAST)), true)
    const events = keys('events')
    // While the reader blocks, so that Redis hands it the forged entry before it runs the DEL.
    await until(async () => (await blockedReaders()).length > 0)
    await redis.command('XADD', events, MAX_ID, 'event', 'completed', 'jobId', 'x', 'returnvalue', '"x"')
    await redis.command('DEL', events)
    for (const pw of ['after 1', 'after 2']) assert.equal(local.compareSync(pw, await client.hash(pw, FAST)), true)
    assert.equal(client.stats().timedOut, 0)
  } finally {
    await close()
  }
})

test('a reader that cannot read says so in stats(), and reads again from where it was', { timeout: 60_000 }, async () => {
  const { client, close, keys } = await tier(redis, { timeout: 10_000 })
  try {
    assert.equal(client.stats().reader, 'running')
    const events = keys('events')
    // The stream's key made a string: every XREAD fails (WRONGTYPE) until it is a stream again.
    await redis.command('DEL', events)
    await redis.command('SET', events, 'not a stream')
    await until(() => client.stats().reader === 'restarting')
    assert.equal(client.stats().connected, false)
    assert.equal(client.stats().readerRestarts, 1)
    await redis.command('DEL', events)
    assert.equal(local.compareSync('after', await client.hash('after', FAST)), true)
    assert.equal(client.stats().reader, 'running')
    assert.equal(client.stats().connected, true)
    // Its connection cut mid-read: it reconnects and goes on, and counts the restart.
    const [line] = await blockedReaders()
    await redis.command('CLIENT', 'KILL', 'ID', line.match(/\bid=(\d+)/)[1])
    await until(() => client.stats().readerRestarts === 2)
    assert.equal(local.compareSync('after kill', await client.hash('after kill', FAST)), true)
    assert.equal(client.stats().reader, 'running')
  } finally {
    await close()
  }
})

test('answers trimmed from the event stream while the caller stalled still reach it', { timeout: 180_000 }, async () => {
  const { client, close } = await cliTier(redis, { workers: 1 })
  const port = String(redis.port)
  const cli = (...args) => {
    const out = spawnSync('redis-cli', ['-p', port, ...args], { encoding: 'utf8' })
    assert.equal(out.status, 0, out.stderr)
    return out.stdout.trim()
  }
  try {
    const n = 24
    const passwords = Array.from({ length: n }, (_, i) => `stalled ${i}`)
    const calls = passwords.map((pw) => settle(client.hash(pw, FAST)))
    await until(() => client.stats().added === n)
    const events = client.queue.keys.events
    // The caller's event loop stalls (spawnSync blocks it) while the worker process answers every
    // call, and then other traffic (12,000 entries, 3,000 jobs of another gateway, trimmed as
    // BullMQ trims: MAXLEN ~ 10,000) pushes those answers off the stream before the caller reads
    // them.
    const ours = "local n = 0 for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do if e[2][2] == 'completed' and e[2][4] ~= 'another' then n = n + 1 end end return n"
    while (Number(cli('EVAL', ours, '1', events)) < n) spawnSync('sleep', ['0.05'])
    const flood = "for i = 1, 12000 do redis.call('XADD', KEYS[1], 'MAXLEN', '~', 10000, '*', 'event', 'completed', 'jobId', 'another', 'returnvalue', '\"x\"') end"
    cli('EVAL', flood, '1', events)
    assert.equal(cli('EVAL', ours, '1', events), '0') // none of the answers is left in the stream
    const outcomes = await Promise.all(calls)
    outcomes.forEach(({ value, error }, i) => assert.equal(value && local.compareSync(passwords[i], value), true, error?.message))
    assert.ok(client.stats().recovered > 0, 'some answers came from their jobs')
  } finally {
    await close()
  }
})

test('jobs kept for a lagging caller do not stay: removed once answered, or once a worker finishes an abandoned one', { timeout: 60_000 }, async () => {
  const { client, close, keys } = await tier(redis)
  // Every key of a job: its hash, bull:<name>:<id>, and what hangs off it (its lock).
  const jobKeys = async () => (await redis.command('KEYS', keys('*'))).map(String).filter((k) => /^[0-9a-f-]{36}$/.test(k.split(':')[2]))
  try {
    const passwords = Array.from({ length: 5 }, (_, i) => `answered ${i}`)
    const hashes = await Promise.all(passwords.map((pw) => client.hash(pw, FAST)))
    hashes.forEach((h, i) => assert.equal(local.compareSync(passwords[i], h), true))
    await until(async () => (await jobKeys()).length === 0)
    // Aborted while a worker computes it (so it cannot be removed then): the worker finishes it,
    // and then it goes too, though no later job finishes to trigger BullMQ's own removal by age.
    const controller = new AbortController()
    const aborted = settle(client.hash('abandoned', 12, { signal: controller.signal }))
    await until(async () => (await redis.command('LLEN', keys('active'))) === 1)
    controller.abort()
    assert.equal((await aborted).error.name, 'AbortError')
    await until(async () => (await jobKeys()).length === 0)
    assert.equal(await redis.command('ZCARD', keys('completed')), 0)
  } finally {
    await close()
  }
})

test('maxWaiting bounds a burst made in one tick, across clients', { timeout: 60_000 }, async () => {
  const { client, close, key, name, keys } = await tier(redis, { workers: 0, maxWaiting: 10, timeout: 3000 })
  const other = connect({ redis: redis.url, key, name, maxWaiting: 10, timeout: 3000 })
  try {
    await other.ready()
    const burst = [client, other].flatMap((c) => Array.from({ length: 250 }, (_, i) => settle(c.hash(`burst ${i}`, FAST))))
    await until(() => client.stats().refused + client.stats().added + other.stats().refused + other.stats().added === 500)
    assert.equal(client.stats().added + other.stats().added, 10)
    assert.equal(await waitingCount(redis, keys), 10)
    const codes = (await Promise.all(burst)).map(({ error }) => error?.code)
    assert.equal(codes.filter((c) => c === 'ERR_BCRYPT_QUEUE_FULL').length, 490)
  } finally {
    await Promise.all([close(), other.close()])
  }
})

test('timeout and commandTimeout past what a timer can wait are refused, naming the limit', () => {
  const key = newKey()
  for (const setting of ['timeout', 'commandTimeout']) {
    for (const value of [2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      assert.throws(() => connect({ redis: redis.url, key, [setting]: value }), (err) => {
        assert.ok(err instanceof RangeError)
        assert.equal(err.code, 'ERR_OUT_OF_RANGE')
        assert.match(err.message, new RegExp(`^${setting} must be .* up to 2147483647$`))
        return true
      })
    }
  }
})

test('the longest timeout a timer can wait is taken, and a call under it is answered', { timeout: 60_000 }, async () => {
  const { client, close } = await tier(redis, { timeout: 2 ** 31 - 1, commandTimeout: 2 ** 31 - 1 })
  try {
    assert.equal(local.compareSync('longest', await client.hash('longest', FAST)), true)
  } finally {
    await close()
  }
})
