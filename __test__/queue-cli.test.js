'use strict'

// What is built on the queue tier, run as users run it, each with the redis-server it needs:
// `npm run demo:cluster` (its own Redis, worker processes and the gateway) and the CLI's rehash-db.
// No timing thresholds: what must happen "soon" is waited for, and a test that waits too long fails
// by its timeout.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const path = require('node:path')

const local = require('..')
const { startRedis, until, queueTestFile, CLI } = require('./redis-helpers.js')
const { startWorker, newKey } = require('../queue.js')

queueTestFile()

const FAST = 4

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
