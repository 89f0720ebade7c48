'use strict'

// The CLI refusing what it would otherwise leak or silently change (issue #22): a Redis password on
// the command line, a rehash-db id column that is not unique, a cost out of range, the database's
// journal mode, a metrics host that cannot be listened on. Against real redis-server processes and
// SQLite files of the test's own. No timing thresholds.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const local = require('..')
const { startRedis, queueTestFile, until, secret, queueName, settle, CLI } = require('./redis-helpers.js')
const { connect, newKey } = require('../queue.js')

queueTestFile()

const FAST = 4

// The CLI as a process: resolves its exit and everything it wrote, once it exits.
function run(args, env = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdoutText = ''
  child.stderrText = ''
  child.stdout.on('data', (d) => (child.stdoutText += d))
  child.stderr.on('data', (d) => (child.stderrText += d))
  child.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stdout: child.stdoutText, stderr: child.stderrText })),
  )
  return child
}
const runToEnd = (args, env) => run(args, env).exited

// A SQLite file of legacy digests, in the journal mode SQLite starts with (delete).
function legacyDb(t, { rows = 6, schema = 'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, password TEXT)' } = {}) {
  const Database = require('better-sqlite3')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bcrypt-offload-cli-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'users.sqlite')
  const db = new Database(file)
  db.exec(schema)
  const insert = db.prepare('INSERT INTO users (id, name, password) VALUES (?, ?, ?)')
  const ids = schema.includes('PRIMARY KEY') ? Array.from({ length: rows }, (_, i) => i + 1) : Array.from({ length: rows }, (_, i) => Math.floor(i / 2) + 1)
  ids.forEach((id, i) => insert.run(id, `u${i}`, crypto.createHash('md5').update(`password ${i}`).digest('hex')))
  db.close()
  const read = () => {
    const d = new Database(file, { readonly: true })
    try {
      return {
        journal: d.pragma('journal_mode', { simple: true }),
        wrapped: d.prepare("SELECT count(*) AS n FROM users WHERE password GLOB 'md5:$2b$*'").get().n,
        costs: d.prepare("SELECT DISTINCT substr(password, 9, 2) AS cost FROM users WHERE password GLOB 'md5:$2b$*'").all().map((r) => r.cost),
      }
    } finally {
      d.close()
    }
  }
  return { file, read }
}

test('--redis with a password is refused (exit 2) without repeating it; BCRYPT_OFFLOAD_REDIS and --redis-file are not on argv', { timeout: 60_000 }, async (t) => {
  const password = secret('redis-password')
  const server = await startRedis({ password })
  t.after(() => server.destroy())
  const key = newKey()
  const withPassword = `redis://:${password}@127.0.0.1:${server.port}`
  for (const args of [
    ['worker', '--redis', withPassword],
    ['worker', '--redis', `redis://user:${password}@127.0.0.1:${server.port}/0`],
    ['worker', '--redis', `not a url:${password}@somewhere`],
    ['rehash-db', '--db', 'x.sqlite', '--table', 'users', '--redis', withPassword],
  ]) {
    const { code, signal, stdout, stderr } = await runToEnd(args, { BCRYPT_OFFLOAD_QUEUE_KEY: key })
    assert.deepEqual({ code, signal }, { code: 2, signal: null }, stderr)
    assert.match(stderr, /--redis must not carry a password .*BCRYPT_OFFLOAD_REDIS .*--redis-file/)
    assert.equal(`${stdout}${stderr}`.includes(password), false, 'the password is not repeated')
  }
  // A URL without a password is taken from --redis as before (here: wrong, AUTH fails, but it runs).
  // And the two ways to give one with a password: neither puts it on the command line.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bcrypt-offload-cli-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'redis-url')
  fs.writeFileSync(file, `${withPassword}\n`, { mode: 0o600 })
  for (const [how, args, env] of [
    ['--redis-file', ['--redis-file', file], {}],
    ['BCRYPT_OFFLOAD_REDIS', [], { BCRYPT_OFFLOAD_REDIS: withPassword }],
  ]) {
    const name = queueName()
    const child = run(['worker', '--name', name, ...args], { BCRYPT_OFFLOAD_QUEUE_KEY: key, BCRYPT_OFFLOAD_THREADS: '1', ...env })
    const client = connect({ redis: withPassword, key, name })
    try {
      await until(() => child.stdoutText.includes('jobs at once') || child.exitCode !== null)
      assert.equal(child.exitCode, null, `${how}: ${child.stderrText}`)
      assert.equal(fs.readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes(password), false, `${how}: not in the process's arguments`)
      const hash = await client.hash('through the file', FAST)
      assert.equal(await local.compare('through the file', hash), true)
    } finally {
      child.kill('SIGTERM')
      await child.exited
      await client.close()
    }
  }
  const both = await runToEnd(['worker', '--redis', 'redis://127.0.0.1:1', '--redis-file', file], { BCRYPT_OFFLOAD_QUEUE_KEY: key })
  assert.equal(both.code, 2)
  assert.match(both.stderr, /give --redis or --redis-file, not both/)
  const missing = await runToEnd(['worker', '--redis-file', path.join(dir, 'absent')], { BCRYPT_OFFLOAD_QUEUE_KEY: key })
  assert.equal(missing.code, 2)
  assert.match(missing.stderr, /--redis-file: cannot read ".*absent" \(ENOENT\)/)
})

test('rehash-db refuses an --id-column that is not unique (before the fix: exit 0, rows left undone)', { timeout: 30_000 }, async (t) => {
  const { file, read } = legacyDb(t, { schema: 'CREATE TABLE users (id INTEGER, name TEXT, password TEXT)' })
  const { code, stderr } = await runToEnd(['rehash-db', '--db', file, '--table', 'users', '--cost', String(FAST), '--batch', '2', '--local'])
  assert.equal(code, 2, stderr)
  assert.match(stderr, /--id-column id must be unique and never NULL .*: users has 6 rows, 3 distinct ids, 0 NULL/)
  assert.equal(read().wrapped, 0, 'nothing touched')
})

test('rehash-db refuses a --cost out of range rather than clamping it (0, 3, 99 became 10, 4, 31)', { timeout: 30_000 }, async (t) => {
  const { file, read } = legacyDb(t)
  for (const cost of ['0', '3', '32', '99']) {
    const { code, stderr } = await runToEnd(['rehash-db', '--db', file, '--table', 'users', '--cost', cost, '--local'])
    assert.equal(code, 2, stderr)
    assert.match(stderr, new RegExp(`--cost must be from 4 to 31, got ${cost}\\b`))
  }
  assert.equal(read().wrapped, 0, 'nothing touched')
  // In range, the cost asked for is the one stored.
  const { code, stdout, stderr } = await runToEnd(['rehash-db', '--db', file, '--table', 'users', '--cost', '5', '--local'])
  assert.equal(code, 0, stderr)
  assert.match(stdout, /\(cost 5\)/)
  assert.deepEqual(read(), { journal: 'delete', wrapped: 6, costs: ['05'] })
})

test('rehash-db puts the journal mode back and says it used WAL (before the fix: WAL for good, unsaid)', { timeout: 30_000 }, async (t) => {
  const { file, read } = legacyDb(t)
  assert.equal(read().journal, 'delete')
  const { code, stdout, stderr } = await runToEnd(['rehash-db', '--db', file, '--table', 'users', '--cost', String(FAST), '--local'])
  assert.equal(code, 0, stderr)
  assert.match(stdout, /journal mode WAL for the run \(it was delete; put back at the end, or if this run is killed with PRAGMA journal_mode = DELETE\)/)
  assert.deepEqual(read(), { journal: 'delete', wrapped: 6, costs: ['04'] })
})

test('worker --metrics-host that is no address, or a port in use: a clean message and an exit code, no stack', { timeout: 30_000 }, async (t) => {
  const server = await startRedis()
  t.after(() => server.destroy())
  const env = { BCRYPT_OFFLOAD_QUEUE_KEY: newKey(), BCRYPT_OFFLOAD_REDIS: server.url, BCRYPT_OFFLOAD_THREADS: '1' }
  for (const host of ['256.0.0.1', '1.2.3', 'bad host', '-x']) {
    const { code, signal, stderr } = await runToEnd(['worker', '--metrics-port', '0', `--metrics-host=${host}`], env)
    assert.deepEqual({ code, signal }, { code: 2, signal: null }, stderr)
    assert.match(stderr, /--metrics-host must be an IP address or a host name/)
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace')
  }
  const tooHigh = await runToEnd(['worker', '--metrics-port', '70000'], env)
  assert.equal(tooHigh.code, 2)
  assert.match(tooHigh.stderr, /--metrics-port must be from 0 to 65535, got 70000/)
  // A port someone else holds.
  const holder = net.createServer()
  await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve))
  t.after(() => holder.close())
  const { code, stdout, stderr } = await runToEnd(['worker', '--metrics-port', String(holder.address().port)], env)
  assert.equal(code, 1, stderr)
  assert.match(stderr, new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${holder.address().port}: EADDRINUSE`))
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace')
  assert.doesNotMatch(stdout, /jobs at once/, 'it never started taking jobs')
})

test("worker --metrics-port: /metrics has the queue's depth by priority, its oldest job's age and the key gauge", { timeout: 60_000 }, async (t) => {
  const server = await startRedis()
  t.after(() => server.destroy())
  const key = newKey()
  const name = queueName()
  const client = connect({ redis: server.url, key, name, timeout: 60_000 })
  const child = run(['worker', '--name', name, '--metrics-port', '0', '--concurrency', '1'], {
    BCRYPT_OFFLOAD_QUEUE_KEY: key,
    BCRYPT_OFFLOAD_REDIS: server.url,
    BCRYPT_OFFLOAD_THREADS: '1',
  })
  const controller = new AbortController()
  t.after(async () => {
    child.kill('SIGKILL')
    controller.abort()
    await client.close()
  })
  await until(() => /metrics on (http:\S+)/.test(child.stdoutText) || child.exitCode !== null)
  const url = child.stdoutText.match(/metrics on (http:\S+)/)[1]
  const scrape = async () => (await fetch(url)).text()
  const series = (text, name) => Number(text.match(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm'))?.[1])
  const idle = await scrape()
  for (const priority of ['high', 'normal', 'low']) assert.equal(series(idle, `bcrypt_queue_waiting{priority="${priority}"}`), 0)
  assert.equal(series(idle, 'bcrypt_queue_oldest_waiting_seconds'), 0)
  assert.equal(series(idle, 'bcrypt_queue_worker_key_refused'), 0)
  // The worker's one lane held by a long hash (cost 18: seconds), then calls that wait behind it.
  const { signal } = controller
  settle(client.hash('blocker', 18, { signal }))
  await until(async () => (await server.command('LLEN', `bull:${name}:active`)) === 1)
  const before = Date.now()
  for (const priority of ['high', 'high', 'normal', 'low']) settle(client.hash(priority, FAST, { priority, signal }))
  await until(() => client.stats().added === 5)
  const busy = await scrape()
  const upper = (Date.now() - before) / 1000
  assert.deepEqual(
    ['high', 'normal', 'low'].map((priority) => series(busy, `bcrypt_queue_waiting{priority="${priority}"}`)),
    [2, 1, 1],
  )
  const oldest = series(busy, 'bcrypt_queue_oldest_waiting_seconds')
  assert.ok(oldest >= 0 && oldest <= upper, `${oldest} s: between 0 and ${upper} s, the time since the first waiting call`)
})
