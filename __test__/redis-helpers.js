'use strict'

// Real redis-server processes for the queue tier's tests, each on a free loopback port with a data
// directory of its own under a temp dir (never the system service). Started, stopped, frozen
// (SIGSTOP), killed and restarted by the tests themselves. No timing thresholds: waits poll until
// their condition holds, and a broken server makes the test runner's timeout fail the test.
// Below them, the tier on such a server: a client with in-process workers or worker processes (the
// CLI), and what every queue test file sets up.

const assert = require('node:assert/strict')
const { randomBytes } = require('node:crypto')
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const tls = require('node:tls')
const os = require('node:os')
const path = require('node:path')
const { setTimeout: sleep } = require('node:timers/promises')

const { connect, startWorker, newKey } = require('../queue.js')

const haveRedis = () => spawnSync('redis-server', ['--version']).status === 0

async function until(condition, everyMs = 10) {
  while (!(await condition())) await sleep(everyMs)
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

// One RESP command over a fresh socket: the tests' own view of Redis, independent of the code
// under test. Returns the parsed reply (bulk strings as Buffers), or throws Redis's error.
function command(port, args, { password, ca } = {}) {
  const encode = (parts) =>
    Buffer.concat([
      Buffer.from(`*${parts.length}\r\n`),
      ...parts.map((p) => {
        const b = Buffer.isBuffer(p) ? p : Buffer.from(String(p))
        return Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')])
      }),
    ])
  return new Promise((resolve, reject) => {
    const socket = ca ? tls.connect({ port, host: '127.0.0.1', ca }) : net.connect(port, '127.0.0.1')
    let buffer = Buffer.alloc(0)
    const replies = []
    const expected = password ? 2 : 1
    socket.on('error', reject)
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      for (;;) {
        const parsed = parse(buffer, 0)
        if (!parsed) return
        replies.push(parsed.value)
        buffer = buffer.subarray(parsed.end)
        if (replies.length === expected) {
          socket.end()
          const reply = replies[expected - 1]
          return reply instanceof Error ? reject(reply) : resolve(reply)
        }
      }
    })
    socket.write(Buffer.concat([...(password ? [encode(['AUTH', password])] : []), encode(args)]))
  })
}

function parse(buf, at) {
  const eol = buf.indexOf('\r\n', at)
  if (eol < 0) return null
  const type = String.fromCharCode(buf[at])
  const line = buf.toString('utf8', at + 1, eol)
  const next = eol + 2
  if (type === '+') return { value: line, end: next }
  if (type === '-') return { value: new Error(line), end: next }
  if (type === ':') return { value: Number(line), end: next }
  if (type === '$') {
    const n = Number(line)
    if (n < 0) return { value: null, end: next }
    if (buf.length < next + n + 2) return null
    return { value: buf.subarray(next, next + n), end: next + n + 2 }
  }
  if (type === '*') {
    const n = Number(line)
    if (n < 0) return { value: null, end: next }
    const items = []
    let pos = next
    for (let i = 0; i < n; i++) {
      const item = parse(buf, pos)
      if (!item) return null
      items.push(item.value)
      pos = item.end
    }
    return { value: items, end: pos }
  }
  throw new Error(`unexpected RESP type ${type}`)
}

// A self-signed certificate for 127.0.0.1, made with openssl.
function selfSigned(dir) {
  const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')]
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  if (made.status !== 0) throw new Error('openssl could not make a certificate')
  return { key, cert, ca: fs.readFileSync(cert) }
}

/**
 * A redis-server of the test's own. `args`: extra server arguments (`['--appendonly', 'yes']`);
 * `password`: requirepass; `tls`: serve TLS only (a self-signed certificate; `server.ca` trusts it).
 * Its directory survives `kill()`, so `start()` again restarts it on the same port over the same
 * data. `server`: the object to make it of (one handed out before the server starts).
 */
async function startRedis({ args = [], password, tls: useTls = false } = {}, server = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bcrypt-offload-redis-'))
  const port = await freePort()
  const cert = useTls ? selfSigned(dir) : undefined
  const auth = password ? `:${encodeURIComponent(password)}@` : ''
  Object.assign(server, {
    port,
    dir,
    password,
    ca: cert?.ca,
    url: `${useTls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    process: undefined,
    command: (...parts) => command(port, parts, { password, ca: cert?.ca }),
    async start() {
      const ports = cert
        ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', cert.cert, '--tls-key-file', cert.key, '--tls-auth-clients', 'no']
        : ['--port', String(port)]
      const argv = [...ports, '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no']
      argv.push('--daemonize', 'no', '--protected-mode', 'no', '--logfile', path.join(dir, 'redis.log'), ...args)
      if (password) argv.push('--requirepass', password)
      const child = spawn('redis-server', argv, { stdio: 'ignore' })
      server.process = child
      child.exited = new Promise((resolve) => child.once('exit', resolve))
      await until(async () => {
        if (child.exitCode !== null) throw new Error(`redis-server exited: ${fs.readFileSync(path.join(dir, 'redis.log'), 'utf8')}`)
        return server.command('PING').then((r) => r === 'PONG', (err) => /LOADING/.test(err.message) ? false : !/ECONNREFUSED/.test(err.message) && Promise.reject(err))
      })
      return server
    },
    /** Stops it the hard way (no save), as a crash would. */
    async kill() {
      const child = server.process
      if (!child || child.exitCode !== null) return
      child.kill('SIGCONT')
      child.kill('SIGKILL')
      await child.exited
    },
    freeze: () => server.process.kill('SIGSTOP'),
    thaw: () => server.process.kill('SIGCONT'),
    /** Every file under its directory, with its bytes (AOF parts, RDB). */
    files() {
      const out = []
      const walk = (d) => {
        for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, entry.name)
          if (entry.isDirectory()) walk(p)
          else if (!/\.(log|pem)$/.test(entry.name)) out.push({ path: p, bytes: fs.readFileSync(p) })
        }
      }
      walk(dir)
      return out
    },
    async destroy() {
      await server.kill()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  })
  return server.start()
}

// --- The tier ---

const CLI = path.join(__dirname, '..', 'bin', 'bcrypt-offload.js')
let queues = 0
const queueName = () => `t${process.pid}-${++queues}`
const secret = (label) => `${label}-${randomBytes(8).toString('hex')}`
const ms = (since) => `${(performance.now() - since).toFixed(0)} ms`
const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }))

/**
 * What a queue test file does first. npm test's pretest (scripts/system-deps.sh) installs
 * redis-server; without it the file fails saying so rather than pass unseen. And a test that fails
 * midway may leave clients, workers and servers behind, whose reconnecting sockets would keep the
 * file's process alive after its last test: once every test has run, it exits by itself (the timer
 * is unref'd: it never holds the process up when all is closed).
 */
function queueTestFile() {
  assert.ok(haveRedis(), 'redis-server is not installed: run scripts/system-deps.sh as root')
  require('node:test').after(() => setTimeout(() => process.exit(), 5000).unref())
}

/** One redis-server for all of a file's tests: started before the first, destroyed after the last. */
function redisForFile() {
  const { before, after } = require('node:test')
  const server = {}
  before(() => startRedis({}, server))
  after(() => server.destroy())
  return server
}

// Redis's keys for a queue's `type` (wait, active, events, a job's id ...).
const keysOf = (name) => (type) => `bull:${name}:${type}`

/** A client and in-process workers on one queue of their own, with a fresh key. */
async function tier(redis, { workers = 1, ...clientOptions } = {}) {
  const { key = newKey(), name = queueName() } = clientOptions
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
    keys: keysOf(name),
    async close() {
      await Promise.all([client.close(), ...started.map((w) => w.close({ graceMs: 100 }))])
    },
  }
}

// How many jobs wait for a worker, in BullMQ's wait list (high compares) or its prioritized set (the
// others: lib/queue/client.js, priorityOf), and the ids of those waiting, in the order workers take
// them: the wait list from its tail, then the prioritized set by score.
const waitingCount = async (redis, keys) => (await redis.command('LLEN', keys('wait'))) + (await redis.command('ZCARD', keys('prioritized')))
const waitingIds = async (redis, keys) =>
  [...(await redis.command('LRANGE', keys('wait'), 0, -1)).reverse(), ...(await redis.command('ZRANGE', keys('prioritized'), 0, -1))].map(String)

// The queue's `completed` events after the stream entry `since` (exclusive; all by default), each as
// its fields: `jobId`, `returnvalue` (the sealed result, as JSON), ...
const completedEvents = async (redis, keys, since = '-') =>
  (await redis.command('XRANGE', keys('events'), since === '-' ? since : `(${since}`, '+'))
    .map(([, fields]) => Object.fromEntries(fields.map(String).flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]]]))))
    .filter((e) => e.event === 'completed')

// A worker process (the CLI), with one pool thread and `args` besides. Resolves once it says it is
// ready.
async function spawnWorker(redis, key, name, args = []) {
  const child = spawn(process.execPath, [CLI, 'worker', '--redis', redis.url, '--name', name, ...args], {
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

/**
 * A client (timeout a minute) and `workers` worker processes (the CLI) on one queue of their own,
 * with a fresh key. `inHand(n, label)` makes n hashes long enough (cost 12) to be cut short and
 * waits until workers hold all n; it returns the passwords and the calls.
 */
async function cliTier(redis, { workers = 1 } = {}) {
  const key = newKey()
  const name = queueName()
  const client = connect({ redis: redis.url, key, name, timeout: 60_000 })
  const started = []
  const close = async () => {
    for (const w of started) w.kill('SIGKILL')
    await client.close()
  }
  try {
    for (let i = 0; i < workers; i++) started.push(await spawnWorker(redis, key, name))
    await client.ready()
  } catch (err) {
    await close()
    throw err
  }
  const keys = keysOf(name)
  async function inHand(n, label) {
    const passwords = Array.from({ length: n }, (_, i) => secret(`${label}-${i}`))
    const calls = passwords.map((pw) => client.hash(pw, 12))
    await until(async () => (await redis.command('LLEN', keys('active'))) === n)
    return { passwords, calls }
  }
  return { client, workers: started, inHand, close }
}

module.exports = {
  haveRedis,
  startRedis,
  until,
  sleep,
  CLI,
  queueName,
  secret,
  ms,
  settle,
  queueTestFile,
  redisForFile,
  tier,
  waitingCount,
  waitingIds,
  completedEvents,
  cliTier,
  spawnWorker,
}
