#!/usr/bin/env node
'use strict'

// `npx bcrypt-offload <command>`: the queue tier's processes. No secret is ever an argument (`ps`
// shows every process's command line to every user of the machine): the key comes from
// BCRYPT_OFFLOAD_QUEUE_KEY (base64, 32 bytes), and a Redis URL with a password from
// BCRYPT_OFFLOAD_REDIS or a file (--redis-file); --redis with a password is refused.

const fs = require('node:fs')
const { isIP } = require('node:net')
const { parseArgs } = require('node:util')

// Exit codes: 0 stopped by a signal, 1 a failure, 2 a wrong command line, 3 the worker's key is not
// the clients' (it put back the jobs it took).
const EXIT = { failure: 1, usage: 2, wrongKey: 3 }

const USAGE = `usage:
  bcrypt-offload worker [--redis URL | --redis-file FILE] [--cluster] [--name NAME] [--prefix PREFIX]
                        [--threads N] [--concurrency N] [--metrics-port PORT] [--metrics-host HOST]
      computes the queue's jobs on this machine's pool until SIGTERM or SIGINT
  bcrypt-offload keygen
      prints a new key for BCRYPT_OFFLOAD_QUEUE_KEY
  bcrypt-offload rehash-db --db FILE --table TABLE [--id-column id] [--hash-column password]
                        [--cost 10] [--batch 64] [--redis URL | --redis-file FILE] [--cluster] [--name NAME]
                        [--local]
      wraps a table's legacy MD5/SHA-1 hex digests in bcrypt, through the tier (or --local: this
      machine's pool); resumable

  --redis takes a URL without a password (ps would show it to every user): give one with a
  password in BCRYPT_OFFLOAD_REDIS, or in a file read with --redis-file (a mounted secret).
  --cluster: the URL names one node of a Redis Cluster (the queue's keys under the prefix {bull}).

environment:
  BCRYPT_OFFLOAD_QUEUE_KEY   the shared key, base64 (required by worker and rehash-db)
  BCRYPT_OFFLOAD_REDIS       the Redis URL when neither --redis nor --redis-file is given
                             (redis:// or rediss://)
  BCRYPT_OFFLOAD_THREADS     the pool's size (worker), as for the package

exit codes: 0 stopped by SIGTERM/SIGINT (or done), 1 a failure, 2 a wrong command line,
  3 (worker) its key is not the clients'
`

const int = (value, what) => {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) fail(`${what} must be a whole number, got ${JSON.stringify(value)}`)
  return n
}

function fail(message) {
  process.stderr.write(`bcrypt-offload: ${message}\n\n${USAGE}`)
  process.exit(EXIT.usage)
}

const redisOptions = {
  redis: { type: 'string' },
  'redis-file': { type: 'string' },
  cluster: { type: 'boolean', default: false },
}

// Whether an argument is a URL with a password, or something that may hold one (it does not parse
// and has an "@"): either way it is refused, and never repeated.
function carriesPassword(value) {
  try {
    return new URL(value).password !== ''
  } catch {
    return value.includes('@')
  }
}

/** The Redis URL of the command line: --redis (without a password) or --redis-file; else undefined. */
function redisUrl(o) {
  if (o.redis !== undefined && o['redis-file'] !== undefined) fail('give --redis or --redis-file, not both')
  if (o.redis !== undefined && carriesPassword(o.redis)) {
    fail('--redis must not carry a password (ps shows every process\'s arguments): put the URL in BCRYPT_OFFLOAD_REDIS or in a file given with --redis-file')
  }
  if (o['redis-file'] === undefined) return o.redis
  try {
    return fs.readFileSync(o['redis-file'], 'utf8').trim()
  } catch (err) {
    return fail(`--redis-file: cannot read ${JSON.stringify(o['redis-file'])} (${err.code ?? err.message})`)
  }
}

// A host to listen on: an IP address, or a name the system resolves. All digits and dots but not an
// address (256.0.0.1) is neither: refused here rather than failing in listen's lookup.
function listenHost(host) {
  const name = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
  if (isIP(host) || (name.test(host) && !/^[0-9.]+$/.test(host))) return host
  return fail(`--metrics-host must be an IP address or a host name, got ${JSON.stringify(host)}`)
}

function listenPort(value) {
  const port = int(value, '--metrics-port')
  if (port > 65535) fail(`--metrics-port must be from 0 to 65535, got ${port}`)
  return port
}

function parse(args, options) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values
  } catch (err) {
    return fail(err.message)
  }
}

async function worker(args) {
  const o = parse(args, {
    ...redisOptions,
    name: { type: 'string' },
    prefix: { type: 'string' },
    threads: { type: 'string' },
    concurrency: { type: 'string' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string', default: '127.0.0.1' },
  })
  const redis = redisUrl(o)
  const threads = int(o.threads, '--threads')
  const concurrency = int(o.concurrency, '--concurrency')
  const metrics = o['metrics-port'] === undefined ? undefined : { port: listenPort(o['metrics-port']), host: listenHost(o['metrics-host']) }
  const { startWorker } = require('../queue.js')
  // The metrics server listens first: if it cannot, the worker exits before taking any job.
  let handle
  const server = metrics && (await serveMetrics(() => handle, metrics))
  let lastLogged = 0
  let stopping = false
  // The key is not the clients': the worker has put back what it took; say so and exit (an
  // orchestrator shows the exit code, and restarts it once the key is fixed).
  const wrongKey = async (err) => {
    if (stopping) return
    stopping = true
    console.error(`bcrypt-offload worker ${process.pid}: ${err.message}`)
    await handle.close()
    server?.close()
    process.exit(EXIT.wrongKey)
  }
  handle = startWorker({
    redis,
    name: o.name,
    prefix: o.prefix,
    cluster: o.cluster,
    threads,
    concurrency,
    onError: (err) => {
      if (err.code === 'ERR_BCRYPT_QUEUE_WORKER_KEY') return wrongKey(err)
      // Redis down: say so, at most every 5 s (BullMQ reports every failed reconnect).
      if (Date.now() - lastLogged < 5000) return
      lastLogged = Date.now()
      console.error(`bcrypt-offload worker ${process.pid}: ${err.message}`)
    },
  })
  const stats = handle.stats()
  await handle.ready()
  console.log(
    `bcrypt-offload worker ${process.pid}: queue ${stats.name}, ${stats.pool.threads} pool threads × ${stats.pool.lanesPerThread} lanes = ${stats.concurrency} jobs at once` +
      (server ? `, metrics on http://${metrics.host}:${server.address().port}/metrics` : ''),
  )

  // SIGTERM: finish the jobs in hand (within the grace period), then exit. A second signal exits at
  // once; jobs still in hand go back to the queue when their locks lapse (about 3 s).
  const stop = async (signal) => {
    if (stopping) process.exit(EXIT.failure)
    stopping = true
    console.log(`bcrypt-offload worker ${process.pid}: ${signal}, finishing the jobs in hand`)
    await handle.close()
    server?.close()
    console.log(`bcrypt-offload worker ${process.pid}: stopped`, JSON.stringify({ ...handle.stats(), pool: undefined }))
    process.exit(0)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

// /metrics and /stats of the worker `current()` returns (set once the server listens). Rejects with
// listen's error (a port in use, a name that does not resolve).
async function serveMetrics(current, { port, host }) {
  let client
  try {
    client = require('prom-client')
  } catch {
    fail('--metrics-port needs prom-client: npm install prom-client')
  }
  const { registerWorkerMetrics } = require('../lib/metrics.js')
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry })
  registerWorkerMetrics(client, registry, { stats: () => current().stats(), waiting: () => current().waiting() })
  const http = require('node:http')
  const server = http.createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.setHeader('content-type', registry.contentType)
      return res.end(await registry.metrics())
    }
    if (req.url === '/stats') {
      res.setHeader('content-type', 'application/json')
      return res.end(JSON.stringify(current().stats()))
    }
    res.statusCode = 404
    res.end()
  })
  try {
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, resolve)
    })
  } catch (err) {
    process.stderr.write(`bcrypt-offload: cannot serve metrics on ${host}:${port}: ${err.code ?? err.message}\n`)
    process.exit(EXIT.failure)
  }
  return server
}

async function main() {
  const [command, ...args] = process.argv.slice(2)
  switch (command) {
    case 'worker':
      return worker(args)
    case 'keygen':
      return console.log(require('../lib/queue/envelope.js').newKey())
    case 'rehash-db':
      return require('../lib/cli/rehash-db.js').cli(args, { parse, int, fail, redisOptions, redisUrl })
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      return process.stdout.write(USAGE)
    default:
      fail(`unknown command ${JSON.stringify(command)}`)
  }
}

main().catch((err) => {
  console.error(`bcrypt-offload: ${err.code ? `${err.code}: ` : ''}${err.message}`)
  process.exit(EXIT.failure)
})
