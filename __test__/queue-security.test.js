'use strict'

// The queue tier's security against redis-server processes this file starts and stops itself:
// nothing of a password at rest anywhere Redis keeps data, results and requests rewritten or
// replayed by someone who can write to Redis but has no key, AUTH and TLS. No timing thresholds:
// what must happen "soon" is waited for, and a test that waits too long fails by its timeout.

const test = require('node:test')
const assert = require('node:assert/strict')
const { randomBytes } = require('node:crypto')
const path = require('node:path')

const local = require('..')
const { startRedis, redisForFile, queueTestFile, tier, queueName, secret, settle, until, waitingCount, waitingIds, completedEvents } = require('./redis-helpers.js')
const { connect, startWorker, newKey } = require('../queue.js')
const envelope = require('../lib/queue/envelope.js')

queueTestFile()
const redis = redisForFile()

const FAST = 4

test('no password or hash rests in Redis, its AOF, RDB, event stream or slowlog', { timeout: 60_000 }, async (t) => {
  // Every write in the append-only file at once, every command in the slowlog, strings stored
  // uncompressed: what the tier leaves anywhere would be found by a plain search.
  const server = await startRedis({
    args: ['--appendonly', 'yes', '--appendfsync', 'always', '--slowlog-log-slower-than', '0', '--slowlog-max-len', '100000', '--rdbcompression', 'no'],
  })
  t.after(() => server.destroy())
  const { client, close, key, name } = await tier(server)
  const needles = []
  try {
    const passwords = Array.from({ length: 12 }, (_, i) => secret(`plaintext-password-${i}`))
    needles.push(...passwords)
    const hashes = await Promise.all(passwords.map((pw, i) => client.hash(i % 2 ? pw : Buffer.from(pw), FAST)))
    needles.push(...hashes)
    assert.deepEqual(await Promise.all(passwords.map((pw, i) => client.compare(pw, hashes[i]))), passwords.map(() => true))
    const controller = new AbortController()
    const aborted = settle(client.hash(needles[needles.push(secret('aborted-password')) - 1], 12, { signal: controller.signal }))
    controller.abort()
    assert.equal((await aborted).error.name, 'AbortError')
  } finally {
    await close()
  }
  // Calls that end other ways: timed out with no worker, and a caller with another key refused by
  // a worker whose key the earlier callers announced (a failed job).
  const late = await tier(server, { workers: 0, name, key, timeout: 200 })
  try {
    const err = await late.client.hash(needles[needles.push(secret('timed-out-password')) - 1], FAST).catch((e) => e)
    assert.equal(err.code, 'ERR_BCRYPT_QUEUE_TIMEOUT')
  } finally {
    await late.close()
  }
  const stranger = await tier(server, { workers: 0, name, key: newKey() })
  const outsider = startWorker({ redis: server.url, key, name })
  try {
    await outsider.ready()
    const err = await stranger.client.hash(needles[needles.push(secret('refused-password')) - 1], FAST).catch((e) => e)
    assert.equal(err.code, 'ERR_BCRYPT_QUEUE_TAMPERED')
    assert.match(err.message, /the request \(a worker holds another key\)/)
    assert.equal(outsider.stats().rejected, 1)
  } finally {
    await Promise.all([stranger.close(), outsider.close()])
  }

  // A control value written in the clear, to show the search finds what is there.
  const control = secret('control-plaintext')
  await server.command('SET', 'control', control)
  const found = []
  const search = (where, bytes) => {
    for (const needle of [...needles, control]) if (bytes.includes(Buffer.from(needle))) found.push(`${needle} in ${where}`)
  }
  const flatten = (v) => (Array.isArray(v) ? Buffer.concat(v.map(flatten)) : Buffer.from(v === null ? '' : Buffer.isBuffer(v) ? v : String(v)))
  const keys = (await server.command('KEYS', '*')).map(String)
  for (const k of keys) search(`DUMP ${k}`, flatten(await server.command('DUMP', k)))
  search('the event stream', flatten(await server.command('XRANGE', `bull:${name}:events`, '-', '+')))
  search('the slowlog', flatten(await server.command('SLOWLOG', 'GET', '100000')))
  await server.command('SAVE')
  const files = server.files()
  assert.ok(files.some((f) => f.path.endsWith('.rdb')) && files.some((f) => /aof/.test(f.path)), files.map((f) => f.path).join())
  for (const f of files) search(path.basename(f.path), f.bytes)
  assert.ok(found.some((f) => f.startsWith(control)), 'the search found the control value')
  assert.deepEqual(found.filter((f) => !f.startsWith(control)), [])
  // And the jobs are gone: only the queue's own bookkeeping keys remain.
  assert.deepEqual(keys.filter((k) => k.startsWith(`bull:${name}:`) && /^[0-9a-f-]{36}$/.test(k.split(':')[2])), [])
  console.log(`# secrets: searched ${keys.length} keys, the event stream, the slowlog and ${files.length} files for ${needles.length} passwords and hashes: none found`)
})

test('a result rewritten or replayed from another job rejects, never resolves wrong', { timeout: 30_000 }, async () => {
  const { client, close, name, workers, keys } = await tier(redis)
  // What an attacker who can write to Redis (but has no key) can do: answer jobs with results
  // of their choosing, copied from other jobs or made up.
  const { Worker } = require('bullmq')
  let forged
  const attacker = new Worker(name, async () => forged(), { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null }, autorun: false })
  try {
    const salt = local.genSaltSync(FAST)
    const stored = local.hashSync('right password', salt)
    // Real results, as they pass through the event stream.
    const since = (await redis.command('XREVRANGE', `bull:${name}:events`, '+', '-', 'COUNT', '1'))[0]?.[0] ?? '0-0'
    assert.equal(await client.compare('right password', stored), true)
    assert.equal(await client.hash('alice password', FAST).then((h) => local.compareSync('alice password', h)), true)
    const completed = (await completedEvents(redis, keys, since)).map((e) => JSON.parse(e.returnvalue))
    assert.equal(completed.length, 2)
    const [trueResult, aliceHash] = completed
    await workers[0].close()
    attacker.run()
    const outcomes = []
    for (const [label, forge, call] of [
      ["another job's `true`, for a wrong password", () => trueResult, () => client.compare('wrong password', stored)],
      ["another user's hash", () => aliceHash, () => client.hash('bob password', FAST)],
      ['a flipped bit', () => { const b = Buffer.from(trueResult, 'base64'); b[20] ^= 1; return b.toString('base64') }, () => client.compare('wrong password', stored)],
      ['a result sealed under another key', () => envelope.sealResult(randomBytes(32), name, 'x', { value: true }), () => client.compare('wrong password', stored)],
      ['plain `true`', () => true, () => client.compare('wrong password', stored)],
      ['an "expired" in the clear', () => ({ expired: true }), () => client.compare('wrong password', stored)],
    ]) {
      forged = forge
      const outcome = await settle(call())
      outcomes.push([label, outcome.error?.code ?? `resolved ${outcome.value}`])
    }
    assert.deepEqual(outcomes, outcomes.map(([label]) => [label, 'ERR_BCRYPT_QUEUE_TAMPERED']))
    assert.equal(client.stats().tampered, outcomes.length)
  } finally {
    await attacker.close()
    await close()
  }
})

test('a request rewritten in Redis is refused, never computed', { timeout: 30_000 }, async () => {
  const { client, close, addWorker, keys } = await tier(redis, { workers: 0 })
  try {
    // Two queued jobs; the second's request is replaced by the first's (a replay under another id).
    const first = settle(client.compare('pw one', local.hashSync('pw one', local.genSaltSync(FAST))))
    await until(async () => (await waitingCount(redis, keys)) === 1)
    const second = settle(client.compare('pw two', local.hashSync('pw one', local.genSaltSync(FAST))))
    await until(async () => (await waitingCount(redis, keys)) === 2)
    const [idFirst, idSecond] = await waitingIds(redis, keys)
    const data = await redis.command('HGET', keys(idFirst), 'data')
    await redis.command('HSET', keys(idSecond), 'data', data)
    const worker = await addWorker()
    assert.equal((await first).value, true)
    const err = (await second).error
    assert.equal(err?.code, 'ERR_BCRYPT_QUEUE_TAMPERED')
    assert.match(err.message, /the request/)
    assert.equal(worker.stats().rejected, 1)
  } finally {
    await close()
  }
})

test('AUTH: a password in the URL; without it, a clear error that does not show it', { timeout: 30_000 }, async (t) => {
  const password = `pa:ss@word/${randomBytes(4).toString('hex')}`
  const server = await startRedis({ password })
  t.after(() => server.destroy())
  const { client, close } = await tier(server)
  const anonymous = connect({ redis: `redis://127.0.0.1:${server.port}`, key: newKey(), name: queueName() })
  const wrong = connect({ redis: `redis://:nope@127.0.0.1:${server.port}`, key: newKey(), name: queueName() })
  try {
    assert.equal(local.compareSync('authed', await client.hash('authed', FAST)), true)
    for (const c of [anonymous, wrong]) {
      const err = await c.hash('pw', FAST).catch((e) => e)
      assert.equal(err.code, 'ERR_BCRYPT_QUEUE_UNAVAILABLE')
      assert.match(err.message, /NOAUTH|WRONGPASS|auth/i)
      assert.ok(!err.message.includes(password) && !JSON.stringify(err).includes(password))
    }
  } finally {
    await Promise.all([close(), anonymous.close(), wrong.close()])
  }
})

test('TLS: rediss:// with a CA of your own', { timeout: 30_000 }, async (t) => {
  const server = await startRedis({ tls: true, password: 'tls-pass' })
  t.after(() => server.destroy())
  const { client, close } = await tier(server, { tls: { ca: server.ca } })
  const untrusting = connect({ redis: server.url, key: newKey(), name: queueName() })
  try {
    assert.equal(local.compareSync('over tls', await client.hash('over tls', FAST)), true)
    const err = await untrusting.hash('pw', FAST).catch((e) => e)
    assert.equal(err.code, 'ERR_BCRYPT_QUEUE_UNAVAILABLE')
    assert.match(err.message, /certificate/i)
  } finally {
    await Promise.all([close(), untrusting.close()])
  }
})
