'use strict'

// `npm run demo`: the Express demo on SQLite.
//   PORT            default 3000; 0 takes any free port
//   DATA_DIR        where users.sqlite lives; default demo/data
//   BCRYPT_BACKEND  offload (default), queue (see demo/cluster.js), bcrypt, bcryptjs, bcryptjs-sync,
//                   node-rs; and for the benchmarks piscina, microservice (with BCRYPT_MICROSERVICE_URL;
//                   see bench/peers/backends.js)
//   BCRYPT_COST     default 10
//   PASSWORD_POLICY bcrypt (default: at BCRYPT_COST) or argon2id (OWASP's m=19456, t=2, p=1): what
//                   new hashes are, with BCRYPT_BACKEND=offload; logins upgrade older ones to it,
//                   and the page switches it (demo/policy.js)
//   MAX_QUEUE       offload's queue bound; default 8 hashes per lane (over that, 503 + Retry-After)
//   WORKERS         Node processes (node:cluster); the pool's threads are split among them
//   GUARD_KEYS      the login guard's device-cookie keys: comma-separated base64, 32 bytes or more
//                   each, the first signs; default one random key per start (cookies end with it)
//   TRUST_PROXY     Express's `trust proxy`: 'true', a hop count, or addresses and names such as
//                   'loopback' (then X-Forwarded-For from this machine gives the client address)

const cluster = require('node:cluster')
const os = require('node:os')
const path = require('node:path')

const { load } = require('./backends')
const { openUsers } = require('./users')
const { createApp } = require('./app')
const { opCounter } = require('./ops')
const { createLive } = require('./live')
const { createBurst } = require('./burst')
const { createAttack } = require('./attack')
const { createDemoGuard, guardKeys } = require('./guard')
const { createPolicySwitch } = require('./policy')

const port = Number(process.env.PORT ?? 3000)
const dataDir = process.env.DATA_DIR ?? path.join(__dirname, 'data')
const backendName = process.env.BCRYPT_BACKEND ?? 'offload'
const cost = Number(process.env.BCRYPT_COST ?? 10)
const workers = Number(process.env.WORKERS ?? 1)

// TRUST_PROXY as Express takes `trust proxy`: a boolean, a number of hops, or a list of addresses,
// subnets and names ('loopback', 'uniquelocal').
function trustProxy(value) {
  if (value === undefined || value === '') return undefined
  if (value === 'true' || value === 'false') return value === 'true'
  return /^\d+$/.test(value) ? Number(value) : value
}

// Several processes on one machine: each gets its share of the cores, so that together they run
// one pool thread per core rather than one per core each.
function poolThreadsPerWorker() {
  return Math.max(1, Math.floor(os.availableParallelism() / workers))
}

if (workers > 1 && cluster.isPrimary) {
  console.log(`primary ${process.pid}: ${workers} workers, ${poolThreadsPerWorker()} pool threads each`)
  // One key for every worker: a device cookie one worker signs, the others must verify.
  if (!process.env.GUARD_KEYS) process.env.GUARD_KEYS = guardKeys().map((key) => key.toString('base64')).join(',')
  for (let i = 0; i < workers; i++) cluster.fork()
  cluster.on('exit', (worker, code) => console.log(`worker ${worker.process.pid} exited (${code})`))
} else {
  const ops = opCounter()
  const backend = ops.wrap(load(backendName))
  const bcrypt = require('..')
  if (backendName === 'offload') {
    bcrypt.configure({ threads: workers > 1 ? poolThreadsPerWorker() : undefined })
    // The pool's own figures (stats() reads them without starting it): 8 queued hashes per lane.
    const { threads, lanesPerThread } = bcrypt.stats()
    bcrypt.configure({ maxQueue: Number(process.env.MAX_QUEUE ?? 8 * threads * lanesPerThread) })
  }
  const users = openUsers(dataDir)
  // bcrypt-offload/passwords on this package's own pool: the other backends are bcrypt alone.
  const policy = backendName === 'offload' ? createPolicySwitch({ initial: process.env.PASSWORD_POLICY || 'bcrypt', cost, users, ops }) : undefined
  // The page's live figures and load bursts; with WORKERS > 1 each worker has its own.
  const live = createLive({ pool: bcrypt, ops })
  const burst = createBurst({ live, ops, cost })
  // One guard for /login and the page's attack, so that the attack meets the browser's logins.
  const guard = createDemoGuard({ backend, cost, keys: guardKeys(), policy })
  const attack = createAttack({ live, guard, users, backend, cost })
  const app = createApp({ users, backend, cost, policy, guard, trustProxy: trustProxy(process.env.TRUST_PROXY), routes: [live.router, burst.router, attack.router] })
  const server = app.listen(port, () => {
    // The port actually bound: PORT=0 picks a free one (the browser test does).
    const bound = server.address().port
    live.startProbe(`http://127.0.0.1:${bound}/health`)
    console.log(`bcrypt demo (${backendName}, cost ${cost}) on http://localhost:${bound}  data: ${dataDir}`)
  })
  const stop = () => {
    // Ends the event streams first: close() waits for open responses.
    live.stop()
    server.close(async () => (users.close(), await backend.close?.(), process.exit(0)))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
