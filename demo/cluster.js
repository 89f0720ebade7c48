'use strict'

// `npm run demo:cluster`: the demo app on the hashing tier, all on this machine. Starts
//   - a redis-server of its own (Debian's; scripts/system-deps.sh installs it) on a free loopback
//     port, with its data (AOF) in a temp dir: never the system service;
//   - QUEUE_WORKERS worker processes (`bcrypt-offload worker`, default 2), sharing the cores;
//   - the Express gateway (demo/server.js) with BCRYPT_BACKEND=queue, on PORT (default 3000).
// A fresh key is made for the run unless BCRYPT_OFFLOAD_QUEUE_KEY is set. Ctrl-C (or SIGTERM)
// stops it all (the workers finish their jobs in hand) and removes the temp dir.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const { setTimeout: sleep } = require('node:timers/promises')

const { newKey } = require('../queue.js')

const root = path.join(__dirname, '..')
const workers = Number(process.env.QUEUE_WORKERS ?? 2)
const port = process.env.PORT ?? '3000'

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address()
      server.close(() => resolve(free))
    })
  })
}

// Resolves when `child` prints a line matching `pattern`; rejects if it exits first.
function waitFor(child, pattern, label) {
  return new Promise((resolve, reject) => {
    let seen = ''
    const onData = (chunk) => {
      seen += chunk
      process.stdout.write(String(chunk).replace(/^(?=.)/gm, `[${label}] `))
      const match = seen.match(pattern)
      if (match) resolve(match)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', (chunk) => process.stderr.write(String(chunk).replace(/^(?=.)/gm, `[${label}] `)))
    child.once('exit', (code, signal) => reject(new Error(`${label} exited (${signal ?? code}) before it was ready`)))
  })
}

async function ping(redisPort) {
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(redisPort, '127.0.0.1', () => socket.write('PING\r\n'))
      socket.once('data', (d) => (socket.destroy(), resolve(String(d).startsWith('+PONG'))))
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    await sleep(20)
  }
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bcrypt-offload-cluster-'))
  const redisPort = await freePort()
  const children = []
  let stopping = false
  const stop = async (code = 0) => {
    if (stopping) return
    stopping = true
    // Gateway first (no new calls), then the workers (they finish their jobs), then Redis.
    for (const group of [children.filter((c) => c.role === 'gateway'), children.filter((c) => c.role === 'worker'), children.filter((c) => c.role === 'redis')]) {
      await Promise.all(group.map((c) => (c.exitCode === null && c.signalCode === null ? (c.kill('SIGTERM'), c.exited) : null)))
    }
    fs.rmSync(dir, { recursive: true, force: true })
    process.exit(code)
  }
  process.on('SIGINT', () => stop())
  process.on('SIGTERM', () => stop())
  const start = (role, command, args, env) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    child.role = role
    child.exited = new Promise((resolve) => child.once('exit', resolve))
    child.once('exit', (code, signal) => {
      if (!stopping) {
        console.error(`[cluster] ${role} ${child.pid} exited (${signal ?? code}); stopping`)
        stop(1)
      }
    })
    children.push(child)
    return child
  }

  const redis = start('redis', 'redis-server', [
    '--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes',
    '--protected-mode', 'yes', '--logfile', path.join(dir, 'redis.log'),
  ])
  redis.once('error', (err) => {
    console.error(`[cluster] could not start redis-server (${err.message}); run scripts/system-deps.sh`)
    stop(1)
  })
  await ping(redisPort)
  const url = `redis://127.0.0.1:${redisPort}`
  const env = { BCRYPT_OFFLOAD_REDIS: url, BCRYPT_OFFLOAD_QUEUE_KEY: process.env.BCRYPT_OFFLOAD_QUEUE_KEY ?? newKey() }
  console.log(`[cluster] redis-server ${redis.pid} on ${url}, data in ${dir}`)

  // The workers share this machine's cores, as the demo's cluster mode shares them.
  const threads = String(Math.max(1, Math.floor(os.availableParallelism() / workers)))
  await Promise.all(
    Array.from({ length: workers }, (_, i) => {
      const w = start('worker', process.execPath, [path.join(root, 'bin', 'bcrypt-offload.js'), 'worker'], { ...env, BCRYPT_OFFLOAD_THREADS: threads })
      return waitFor(w, /jobs at once/, `worker ${i + 1}`)
    }),
  )
  const gateway = start('gateway', process.execPath, [path.join(__dirname, 'server.js')], { ...env, BCRYPT_BACKEND: 'queue', PORT: port, WORKERS: '1' })
  const [, address] = await waitFor(gateway, /on (http:\/\/\S+)/, 'gateway')
  console.log(`[cluster] ready: ${address} (gateway) → ${url} → ${workers} workers × ${threads} pool threads. Ctrl-C stops it all.`)
}

main().catch((err) => {
  console.error(`[cluster] ${err.message}`)
  process.exit(1)
})
