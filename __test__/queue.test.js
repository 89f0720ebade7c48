'use strict'

// The queue tier (bcrypt-offload/queue) against real redis-server processes that these tests start
// and stop themselves: answers and call forms, nothing of a password at rest, tampering, a worker
// killed mid-job, Redis down, hung and restarted, the bound on waiting jobs, aborts, AUTH.
// No timing thresholds: what must happen "soon" is waited for, and a test that waits too long fails
// by its timeout. Measured times (recovery after SIGKILL, rejection while Redis is down) are logged.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const { randomBytes } = require('node:crypto')
const path = require('node:path')

const local = require('..')
const { haveRedis, startRedis, until, sleep } = require('./redis-helpers.js')

// npm test's pretest (scripts/system-deps.sh) installs redis-server; without it these tests fail
// saying so rather than pass unseen.
assert.ok(haveRedis(), 'redis-server is not installed: run scripts/system-deps.sh as root')
const { connect, startWorker, newKey } = require('../queue.js')
const envelope = require('../lib/queue/envelope.js')

const CLI = path.join(__dirname, '..', 'bin', 'bcrypt-offload.js')
const FAST = 4
let queues = 0
const queueName = () => `t${process.pid}-${++queues}`
const secret = (label) => `${label}-${randomBytes(8).toString('hex')}`
const ms = (since) => `${(performance.now() - since).toFixed(0)} ms`

// A client and in-process workers on one queue, with a fresh key.
async function tier(redis, { workers = 1, key = newKey(), ...clientOptions } = {}) {
  const name = clientOptions.name ?? queueName()
  const client = connect({ redis: redis.url, key, name, ...clientOptions })
  const started = []
  const addWorker = async (options = {}) => {
    const w = startWorker({ redis: redis.url, key, name, tls: clientOptions.tls, ...options })
    started.push(w)
    await w.ready()
    return w
  }
  for (let i = 0; i < workers; i++) await addWorker()
  await client.ready()
  return {
    client,
    key,
    name,
    workers: started,
    addWorker,
    keys: (type) => `bull:${name}:${type}`,
    async close() {
      await Promise.all([client.close(), ...started.map((w) => w.close({ graceMs: 100 }))])
    },
  }
}

// How many jobs wait for a worker: compares in BullMQ's wait list, hashes in its prioritized set
// (compareFirst, the default), and the ids of those waiting.
const waitingCount = async (redis, keys) => (await redis.command('LLEN', keys('wait'))) + (await redis.command('ZCARD', keys('prioritized')))
const waitingIds = async (redis, keys) =>
  [...(await redis.command('LRANGE', keys('wait'), 0, -1)), ...(await redis.command('ZRANGE', keys('prioritized'), 0, -1))].map(String)

// A worker process (the CLI), with one pool thread. Resolves once it says it is ready.
async function spawnWorker(redis, key, name) {
  const child = spawn(process.execPath, [CLI, 'worker', '--redis', redis.url, '--name', name], {
    // One thread of six lanes (pinned: the tests count on six jobs in hand per worker).
    env: { ...process.env, BCRYPT_OFFLOAD_QUEUE_KEY: key, BCRYPT_OFFLOAD_THREADS: '1', BCRYPT_OFFLOAD_LANES: '6' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  child.output = ''
  child.stdout.on('data', (d) => (child.output += d))
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  await until(() => child.output.includes('jobs at once') || child.exitCode !== null)
  assert.equal(child.exitCode, null, child.output)
  return child
}

// A test that fails midway may leave clients, workers and servers behind; their reconnecting
// sockets would keep this file's process alive after its last test. Once every test has run, this
// process exits by itself (the timer is unref'd: it never holds the process up when all is closed).
test.after(() => setTimeout(() => process.exit(), 5000).unref())

const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }))

test('the queue tier', { timeout: 180_000 }, async (t) => {
  const redis = await startRedis()
  t.after(() => redis.destroy())

  await t.test('answers as the local package does, in every call form', { timeout: 30_000 }, async () => {
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

  await t.test('no password or hash rests in Redis, its AOF, RDB, event stream or slowlog', { timeout: 60_000 }, async () => {
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
    // Calls that end other ways: timed out with no worker, and refused by a worker with another key
    // (a failed job).
    const late = await tier(server, { workers: 0, name, key, timeout: 200 })
    try {
      const err = await late.client.hash(needles[needles.push(secret('timed-out-password')) - 1], FAST).catch((e) => e)
      assert.equal(err.code, 'ERR_BCRYPT_QUEUE_TIMEOUT')
    } finally {
      await late.close()
    }
    const stranger = await tier(server, { workers: 0, name, key })
    const outsider = startWorker({ redis: server.url, key: newKey(), name })
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

  await t.test('a result rewritten or replayed from another job rejects, never resolves wrong', { timeout: 30_000 }, async () => {
    const { client, close, name, workers } = await tier(redis)
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
      const completed = (await redis.command('XRANGE', `bull:${name}:events`, `(${since}`, '+'))
        .map(([, fields]) => Object.fromEntries(fields.map(String).flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]]]))))
        .filter((e) => e.event === 'completed')
        .map((e) => JSON.parse(e.returnvalue))
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

  await t.test('a request rewritten in Redis is refused, never computed', { timeout: 30_000 }, async () => {
    const { client, close, addWorker, keys } = await tier(redis, { workers: 0 })
    try {
      // Two queued jobs; the second's request is replaced by the first's (a replay under another id).
      const first = settle(client.compare('pw one', local.hashSync('pw one', local.genSaltSync(FAST))))
      await until(async () => (await redis.command('LLEN', keys('wait'))) === 1)
      const second = settle(client.compare('pw two', local.hashSync('pw one', local.genSaltSync(FAST))))
      await until(async () => (await redis.command('LLEN', keys('wait'))) === 2)
      const [idSecond, idFirst] = (await redis.command('LRANGE', keys('wait'), 0, -1)).map(String)
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

  await t.test('many calls in flight: each settles once, with its own answer', { timeout: 60_000 }, async () => {
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
      await sleep(50) // a second settlement would have been called by now
      assert.deepEqual(settlements, passwords.map(() => 1))
      assert.equal(client.stats().completed, 450)
    } finally {
      await close()
    }
  })

  await t.test('a worker killed mid-job (SIGKILL): its jobs complete on another worker', { timeout: 60_000 }, async () => {
    const key = newKey()
    const name = queueName()
    const client = connect({ redis: redis.url, key, name, timeout: 60_000 })
    const victim = await spawnWorker(redis, key, name)
    const survivor = await spawnWorker(redis, key, name)
    try {
      await client.ready()
      // Six lanes each: both workers full, each job long enough (cost 12) to be cut short.
      const passwords = Array.from({ length: 12 }, (_, i) => secret(`killed-${i}`))
      const calls = passwords.map((pw) => client.hash(pw, 12))
      await until(async () => (await redis.command('LLEN', `bull:${name}:active`)) === 12)
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
      victim.kill('SIGKILL')
      survivor.kill('SIGKILL')
      await client.close()
    }
  })

  await t.test('SIGTERM: a worker finishes the jobs in hand, then exits', { timeout: 60_000 }, async () => {
    const key = newKey()
    const name = queueName()
    const client = connect({ redis: redis.url, key, name, timeout: 60_000 })
    const worker = await spawnWorker(redis, key, name)
    try {
      await client.ready()
      const passwords = Array.from({ length: 6 }, (_, i) => secret(`term-${i}`))
      const calls = passwords.map((pw) => client.hash(pw, 12))
      await until(async () => (await redis.command('LLEN', `bull:${name}:active`)) === 6)
      worker.kill('SIGTERM')
      const hashes = await Promise.all(calls)
      assert.deepEqual(await Promise.all(passwords.map((pw, i) => local.compare(pw, hashes[i]))), passwords.map(() => true))
      assert.deepEqual(await worker.exited, { code: 0, signal: null })
      assert.match(worker.output, /SIGTERM, finishing the jobs in hand/)
    } finally {
      worker.kill('SIGKILL')
      await client.close()
    }
  })

  await t.test('Redis down: calls reject at once (or run locally, if asked), and work again once it is back', { timeout: 60_000 }, async () => {
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

  await t.test('close() returns while Redis is down, for clients and workers alike', { timeout: 30_000 }, async () => {
    const server = await startRedis()
    t.after(() => server.destroy())
    const { client, workers } = await tier(server)
    const never = connect({ redis: 'redis://127.0.0.1:1', key: newKey(), name: queueName() })
    assert.equal((await never.hash('pw', FAST).catch((e) => e)).code, 'ERR_BCRYPT_QUEUE_UNAVAILABLE')
    assert.equal(local.compareSync('up', await client.hash('up', FAST)), true)
    await server.kill()
    await Promise.all([client.close(), never.close(), workers[0].close({ graceMs: 100 })])
  })

  await t.test('Redis hung (SIGSTOP): calls reject within their deadline, never hang, and recover', { timeout: 60_000 }, async () => {
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

  await t.test('Redis restarted with AOF: queued jobs survive and complete', { timeout: 60_000 }, async () => {
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

  await t.test('an aborted call removes its job', { timeout: 30_000 }, async () => {
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

  await t.test('past maxWaiting jobs waiting, calls reject at once with ERR_BCRYPT_QUEUE_FULL', { timeout: 30_000 }, async () => {
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

  await t.test('workers take compares before queued hashes; compareFirst: false keeps arrival order', { timeout: 30_000 }, async () => {
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

  await t.test('a worker drops a job whose deadline has passed, without computing it', { timeout: 30_000 }, async () => {
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

  await t.test('close(): calls in flight settle, later ones reject with ERR_BCRYPT_QUEUE_CLOSED', { timeout: 30_000 }, async () => {
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

  await t.test('AUTH: a password in the URL; without it, a clear error that does not show it', { timeout: 30_000 }, async () => {
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

  await t.test('TLS: rediss:// with a CA of your own', { timeout: 30_000 }, async () => {
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
})

test('settings: the key, the URL and the limits are checked before anything connects', () => {
  const redis = 'redis://127.0.0.1:1'
  const saved = process.env.BCRYPT_OFFLOAD_QUEUE_KEY
  delete process.env.BCRYPT_OFFLOAD_QUEUE_KEY
  try {
    const key = randomBytes(32)
    for (const [options, code, message] of [
      [{ redis }, 'ERR_BCRYPT_QUEUE_KEY', /got none/],
      [{ redis, key: randomBytes(16) }, 'ERR_BCRYPT_QUEUE_KEY', /got 16 bytes/],
      [{ redis, key: 'not base64!' }, 'ERR_BCRYPT_QUEUE_KEY', /not base64/],
      [{ redis: 'http://127.0.0.1', key }, 'ERR_INVALID_ARG_VALUE', /redis:\/\/ or rediss:\/\//],
      [{ redis: 'not a url', key }, 'ERR_INVALID_ARG_VALUE', /not a URL/],
      [{ redis, key, timeout: 0 }, 'ERR_OUT_OF_RANGE', /timeout/],
      [{ redis, key, maxWaiting: -1 }, 'ERR_OUT_OF_RANGE', /maxWaiting/],
      [{ redis, key, fallback: 'yes' }, 'ERR_OUT_OF_RANGE', /fallback/],
      [{ redis, key, compareFirst: 'yes' }, 'ERR_INVALID_ARG_TYPE', /compareFirst must be a boolean/],
      [{ redis, key, name: 'a:b' }, 'ERR_OUT_OF_RANGE', /name/],
    ]) {
      assert.throws(() => connect(options), (err) => err.code === code && message.test(err.message) && !err.message.includes(key.toString('base64')))
    }
    assert.throws(() => startWorker({ redis }), { code: 'ERR_BCRYPT_QUEUE_KEY' })
    process.env.BCRYPT_OFFLOAD_QUEUE_KEY = key.toString('base64')
    assert.throws(() => connect({ redis: 'http://x' }), { code: 'ERR_INVALID_ARG_VALUE' })
  } finally {
    if (saved === undefined) delete process.env.BCRYPT_OFFLOAD_QUEUE_KEY
    else process.env.BCRYPT_OFFLOAD_QUEUE_KEY = saved
  }
  const { optionsFromUrl } = require('../lib/queue/redis.js')
  const o = optionsFromUrl('rediss://user:p%40ss@cache.internal:6380/2', { tls: { ca: 'CA' } }, () => new Error())
  assert.deepEqual(
    { host: o.host, port: o.port, db: o.db, username: o.username, password: o.password, tls: o.tls },
    { host: 'cache.internal', port: 6380, db: 2, username: 'user', password: 'p@ss', tls: { servername: 'cache.internal', ca: 'CA' } },
  )
  assert.equal(optionsFromUrl('redis://[::1]:7000', {}, () => new Error()).host, '::1')
})

test('npm run demo:cluster: its own Redis, workers and the gateway; register and log in; stops clean', { timeout: 60_000 }, async () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bcrypt-offload-cluster-test-'))
  const cluster = spawn(process.execPath, [path.join(__dirname, '..', 'demo', 'cluster.js')], {
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, QUEUE_WORKERS: '2', BCRYPT_COST: '4' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  cluster.stdout.on('data', (d) => (output += d))
  const exited = new Promise((resolve) => cluster.once('exit', (code, signal) => resolve({ code, signal })))
  try {
    await until(() => /ready: (http:\/\/\S+)/.test(output) || cluster.exitCode !== null)
    const [, base] = output.match(/ready: (http:\/\/\S+)/)
    const redisDir = output.match(/data in (\S+)/)[1]
    assert.ok(fs.existsSync(redisDir))
    const post = (route, body) => fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    assert.equal((await post('/register', { username: 'ada', password: 'correct horse' })).status, 201)
    assert.equal((await post('/login', { username: 'ada', password: 'correct horse' })).status, 200)
    assert.equal((await post('/login', { username: 'ada', password: 'wrong horse' })).status, 401)
    assert.match(await (await fetch(`${base}/metrics`)).text(), /bcrypt_queue_client_calls_total\{outcome="completed"\} [1-9]/)
    cluster.kill('SIGTERM')
    assert.deepEqual(await exited, { code: 0, signal: null })
    assert.equal(output.match(/stopped/g)?.length, 2, output)
    assert.equal(fs.existsSync(redisDir), false, 'the temp dir is removed')
  } finally {
    cluster.kill('SIGKILL')
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
})

test('rehash-db wraps legacy MD5/SHA-1 digests through the tier, and resumes after a crash', { timeout: 90_000 }, async (t) => {
  const fs = require('node:fs')
  const os = require('node:os')
  const crypto = require('node:crypto')
  const Database = require('better-sqlite3')
  const { compareLegacy } = require('../queue.js')
  const redis = await startRedis()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bcrypt-offload-rehash-'))
  t.after(async () => {
    await redis.destroy()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const file = path.join(dir, 'users.sqlite')
  const rows = 60
  const db = new Database(file)
  db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, password TEXT)')
  const insert = db.prepare('INSERT INTO users (name, password) VALUES (?, ?)')
  for (let i = 0; i < rows; i++) insert.run(`u${i}`, crypto.createHash(i % 2 ? 'md5' : 'sha1').update(`password ${i}`).digest('hex'))
  insert.run('modern', local.hashSync('already bcrypt', local.genSaltSync(FAST)))
  const wrapped = () => db.prepare("SELECT count(*) AS n FROM users WHERE password GLOB '*:$2b$*'").get().n

  const key = newKey()
  const worker = startWorker({ redis: redis.url, key, name: 'rehash' })
  t.after(() => worker.close())
  await worker.ready()
  const run = () => {
    const child = spawn(process.execPath, [CLI, 'rehash-db', '--db', file, '--table', 'users', '--cost', '10', '--batch', '6', '--redis', redis.url, '--name', 'rehash'], {
      env: { ...process.env, BCRYPT_OFFLOAD_QUEUE_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.output = ''
    child.stdout.on('data', (d) => (child.output += d))
    child.stderr.on('data', (d) => (child.output += d))
    child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    return child
  }
  // A crash after some batches are committed.
  const first = run()
  await until(() => wrapped() >= 12 || first.exitCode !== null)
  first.kill('SIGKILL')
  await first.exited
  const committed = wrapped()
  assert.ok(committed > 0 && committed < rows && committed % 6 === 0, `whole batches only: ${committed}`)
  const second = run()
  assert.deepEqual(await second.exited, { code: 0, signal: null }, second.output)
  assert.match(second.output, new RegExp(`${rows - committed} legacy digests to wrap`))
  assert.match(second.output, new RegExp(`100% ${rows - committed}/${rows - committed} rows`))
  assert.match(second.output, new RegExp(`wrapped ${rows - committed} rows in [0-9.]+ s \\([0-9.]+ rows/s\\)`))
  console.log(`# rehash-db: killed after ${committed} rows, the second run did the other ${rows - committed}: ${second.output.match(/wrapped .*/)[0]}`)
  const stored = db.prepare('SELECT name, password FROM users ORDER BY id').all()
  db.close()
  for (const [i, { name, password }] of stored.entries()) {
    if (name === 'modern') {
      assert.deepEqual(await compareLegacy(local, 'already bcrypt', password), { ok: true, upgrade: false })
      continue
    }
    assert.match(password, i % 2 ? /^md5:\$2b\$10\$/ : /^sha1:\$2b\$10\$/)
    assert.deepEqual(await compareLegacy(local, `password ${i}`, password), { ok: true, upgrade: true })
  }
  assert.deepEqual(await compareLegacy(local, 'wrong', stored[0].password), { ok: false, upgrade: true })
})
