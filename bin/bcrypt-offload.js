#!/usr/bin/env node
'use strict'

// `npx bcrypt-offload <command>`: the queue tier's processes. The key is never an argument (the
// process list would show it): it comes from BCRYPT_OFFLOAD_QUEUE_KEY (base64, 32 bytes).

const { parseArgs } = require('node:util')

const USAGE = `usage:
  bcrypt-offload worker [--redis URL] [--name NAME] [--prefix PREFIX] [--threads N] [--concurrency N]
                        [--metrics-port PORT] [--metrics-host HOST]
      computes the queue's jobs on this machine's pool until SIGTERM or SIGINT
  bcrypt-offload keygen
      prints a new key for BCRYPT_OFFLOAD_QUEUE_KEY
  bcrypt-offload rehash-db --db FILE --table TABLE [--id-column id] [--hash-column password]
                        [--cost 10] [--batch 64] [--redis URL] [--name NAME] [--local]
      wraps a table's legacy MD5/SHA-1 hex digests in bcrypt, through the tier (or --local: this
      machine's pool); resumable

environment:
  BCRYPT_OFFLOAD_QUEUE_KEY   the shared key, base64 (required by worker and rehash-db)
  BCRYPT_OFFLOAD_REDIS       the Redis URL when --redis is not given (redis:// or rediss://)
  BCRYPT_OFFLOAD_THREADS     the pool's size (worker), as for the package
`

const int = (value, what) => {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) fail(`${what} must be a whole number, got ${JSON.stringify(value)}`)
  return n
}

function fail(message) {
  process.stderr.write(`bcrypt-offload: ${message}\n\n${USAGE}`)
  process.exit(2)
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
    redis: { type: 'string' },
    name: { type: 'string' },
    prefix: { type: 'string' },
    threads: { type: 'string' },
    concurrency: { type: 'string' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string', default: '127.0.0.1' },
  })
  const { startWorker } = require('../queue.js')
  let lastLogged = 0
  const handle = startWorker({
    redis: o.redis,
    name: o.name,
    prefix: o.prefix,
    threads: int(o.threads, '--threads'),
    concurrency: int(o.concurrency, '--concurrency'),
    // Redis down: say so, at most every 5 s (BullMQ reports every failed reconnect).
    onError: (err) => {
      if (Date.now() - lastLogged < 5000) return
      lastLogged = Date.now()
      console.error(`bcrypt-offload worker ${process.pid}: ${err.message}`)
    },
  })
  const { concurrency, name, pool } = handle.stats()
  let server
  if (o['metrics-port'] !== undefined) server = await serveMetrics(handle, int(o['metrics-port'], '--metrics-port'), o['metrics-host'])
  await handle.ready()
  console.log(
    `bcrypt-offload worker ${process.pid}: queue ${name}, ${pool.threads} pool threads × ${pool.lanesPerThread} lanes = ${concurrency} jobs at once` +
      (server ? `, metrics on http://${o['metrics-host']}:${server.address().port}/metrics` : ''),
  )

  // SIGTERM: finish the jobs in hand (within the grace period), then exit. A second signal exits at
  // once; jobs still in hand go back to the queue when their locks lapse (about 3 s).
  let stopping = false
  const stop = async (signal) => {
    if (stopping) process.exit(1)
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

async function serveMetrics(handle, port, host) {
  let client
  try {
    client = require('prom-client')
  } catch {
    fail('--metrics-port needs prom-client: npm install prom-client')
  }
  const { registerWorkerMetrics } = require('../lib/metrics.js')
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry })
  registerWorkerMetrics(client, registry, handle)
  const http = require('node:http')
  const server = http.createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.setHeader('content-type', registry.contentType)
      return res.end(await registry.metrics())
    }
    if (req.url === '/stats') {
      res.setHeader('content-type', 'application/json')
      return res.end(JSON.stringify(handle.stats()))
    }
    res.statusCode = 404
    res.end()
  })
  await new Promise((resolve) => server.listen(port, host, resolve))
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
      return require('../lib/cli/rehash-db.js').cli(args, { parse, int, fail })
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
  process.exit(1)
})
