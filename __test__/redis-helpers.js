'use strict'

// Real redis-server processes for the queue tier's tests, each on a free loopback port with a data
// directory of its own under a temp dir (never the system service). Started, stopped, frozen
// (SIGSTOP), killed and restarted by the tests themselves. No timing thresholds: waits poll until
// their condition holds, and a broken server makes the test runner's timeout fail the test.

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const tls = require('node:tls')
const os = require('node:os')
const path = require('node:path')
const { setTimeout: sleep } = require('node:timers/promises')

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
 * data.
 */
async function startRedis({ args = [], password, tls: useTls = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bcrypt-offload-redis-'))
  const port = await freePort()
  const cert = useTls ? selfSigned(dir) : undefined
  const auth = password ? `:${encodeURIComponent(password)}@` : ''
  const server = {
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
  }
  return server.start()
}

module.exports = { haveRedis, startRedis, until, sleep }
