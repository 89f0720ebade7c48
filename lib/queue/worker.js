'use strict'

// The worker's side of the queue tier: BullMQ workers that compute the jobs `connect()` sends, on
// this package's pool (`npx bcrypt-offload worker`, or `startWorker()`).
//
// - Concurrency is the pool's lanes, threads × lanesPerThread: BullMQ hands over that many jobs at
//   once, so that every lane is busy and none waits in the pool's own queue.
// - Locks are short (lockDuration 2 s, checked for stalls every 1 s): a worker killed mid-job has
//   its jobs back on the queue, for another worker, within about 3 s. The pool computes off the
//   event loop (and under SCHED_IDLE), so lock renewals on the event loop are not starved even at
//   100% CPU, and short locks do not cause false stalls.
// - A request that does not open under the key is failed, never computed; one whose deadline has
//   passed is answered "expired" without computing it; a deadline that passes mid-hash frees the
//   lane at the pool's next step.
// - Each job runs on the pool with the schedule sealed in its request (class, fair-share key, the
//   call's own start-by deadline), so the pool orders the jobs in hand as the caller's would.
// - `close()` (SIGTERM in the CLI) lets the jobs in hand finish; those it cannot finish in time go
//   back to the queue when their locks lapse.
// - A worker whose key is not the clients' puts back the jobs it took and stops taking jobs
//   (keycheck.js says how it knows, and why forged jobs cannot make a right worker stop).
// - Errors reach `onError` scrubbed: ioredis's carry the failed command's arguments, AUTH's
//   password among them.

const { setTimeout: sleep } = require('node:timers/promises')

const binding = require('../../binding.js')
const bcrypt = require('../../index.js')
const { toWire, DEADLINE_PASSED } = require('../errors.js')
const envelope = require('./envelope.js')
const { error } = require('./errors.js')
const keycheck = require('./keycheck.js')
const operations = require('./operations.js')
const { loadPeers, optionsFromUrl, connections } = require('./redis.js')
const { DEFAULTS, priorityOf } = require('./client.js')

// Which counter each operation's answers count in.
const COUNTED = { hash: 'hash', compare: 'compare', compareUnknown: 'compare', argon2Hash: 'argon2Hash', argon2HashRaw: 'argon2Hash', argon2Verify: 'argon2Verify' }

const LOCK_MS = 2000
const STALLED_CHECK_MS = 1000
// A job is moved back to the queue this many times when its worker dies, then failed (so a job that
// kills every worker it meets does not go round for ever).
const MAX_STALLED = 3
// While its key is refused, a worker looks for its key's record, or a waiting job of its key, this
// often, and resumes once it finds one.
const KEY_RECHECK_MS = 1000
// How many of the jobs next in line a worker not yet proven looks at for one of its key.
const KEY_PROOF_JOBS = 20
// A scrape's read of the waiting jobs gives up after this long (Redis hung): no sample rather than
// a scrape that hangs.
const WAITING_READ_MS = 1000

// A copy of `err` fit for a log line or JSON: its class's name, message, stack and Node-style code
// and errno fields, with each of `secrets` cut out, and of ioredis's `command` only the name (its
// `args` hold AUTH's password). Nothing else is copied (no `cause`, no `previousErrors`).
function scrub(err, secrets) {
  const redact = (text) => secrets.reduce((t, secret) => t.split(secret).join('[redacted]'), String(text))
  const clean = new Error(redact(err?.message ?? err))
  clean.stack = redact(err?.stack ?? clean.stack)
  if (typeof err?.name === 'string' && err.name !== 'Error') clean.name = redact(err.name)
  for (const field of ['code', 'errno', 'syscall', 'address', 'port']) {
    const value = err?.[field]
    if (typeof value === 'string' || typeof value === 'number') clean[field] = typeof value === 'string' ? redact(value) : value
  }
  if (typeof err?.command?.name === 'string') clean.command = { name: err.command.name }
  return clean
}

/**
 * Starts a worker over this process's pool. Options: `redis` (URL), `key`, `name` and `prefix` (as
 * the clients'), `threads` (the pool's size), `concurrency` (default: every lane), `tls`,
 * `lockDuration` and `stalledInterval` (ms; BullMQ's, defaults above), `onError`.
 */
function startWorker(options = {}) {
  if (options === null || typeof options !== 'object') throw error('SettingType', 'options', 'an object')
  const name = options.name ?? DEFAULTS.name
  const key = envelope.keyFrom(options.key)
  if (typeof key === 'string') throw error('QueueKey', key)
  const keyId = envelope.keyId(key)
  const url = optionsFromUrl(options.redis ?? process.env.BCRYPT_OFFLOAD_REDIS, options)
  const secrets = [url.password, url.tls?.passphrase].filter((s) => typeof s === 'string' && s !== '')
  const { bullmq, IORedis } = loadPeers()
  let closing
  // The worker's connections (BullMQ makes several) stop reconnecting once it is closing.
  const redis = { ...url, retryStrategy: (times) => (closing ? null : url.retryStrategy(times)) }
  // A single Redis, or a Redis Cluster (`cluster`), and the queue's prefix for it.
  const link = connections(IORedis, redis, { cluster: options.cluster, prefix: options.prefix, defaultPrefix: DEFAULTS.prefix, name })
  const { prefix } = link
  if (options.threads !== undefined) bcrypt.configure({ threads: options.threads })
  // Every lane busy: threads × lanes per thread. The pool measures its lanes once it starts (tens of
  // milliseconds); until then this is its provisional count, and the worker follows the measured
  // one as soon as there is one (see below).
  const everyLane = () => bcrypt.stats().threads * bcrypt.stats().lanesPerThread
  let concurrency = options.concurrency ?? everyLane()

  // `returned`: jobs put back for other workers while this one's key was refused.
  const counters = { hash: 0, compare: 0, argon2Hash: 0, argon2Verify: 0, expired: 0, rejected: 0, failed: 0, cancelled: 0, returned: 0 }
  let lastError // the last connection error (or the pool's failure to start), for stats()

  // This worker's key is the clients' once a job opened under it or a client's record checks
  // (keycheck.js); until then a job naming another key's id may mean that this worker's key is the
  // wrong one. `keyRefused`: it is, as far as this worker can tell, and it takes no jobs.
  let keyProven = false
  let keyRefused = false
  // The worker's non-blocking connection (bullmq 6.7: the backend's raw client, a promise).
  const commands = () => worker.getBackend().client

  // Proven by the clients' record, or by a waiting job that opens under this worker's key: anyone
  // who can write Redis can delete the record (clients write it again every few seconds, but a
  // forged job met first would stop this worker till then), while only a holder of the key can
  // seal a job that opens under it. The job is only opened, its password zeroed at once: it stays
  // where it waits.
  async function proveKey() {
    try {
      const redis = await commands()
      const stored = await redis.get(keycheck.recordKey(worker, keyId))
      keyProven ||= keycheck.matches(stored, key, name)
      if (!keyProven) {
        const ids = [...(await redis.lrange(worker.toKey('wait'), -KEY_PROOF_JOBS, -1)), ...(await redis.zrange(worker.toKey('prioritized'), 0, KEY_PROOF_JOBS - 1))]
        for (const id of ids.slice(0, 2 * KEY_PROOF_JOBS)) {
          let data
          try {
            data = JSON.parse(await redis.hget(worker.toKey(id), 'data'))
          } catch {
            continue
          }
          if (data?.k !== keyId || typeof data.s !== 'string') continue
          const request = envelope.openRequest(key, name, id, data.s)
          if (!request) continue
          request.data.fill(0)
          keyProven = true
          break
        }
      }
    } catch {
      // Redis unreachable: not proven, this time.
    }
    return keyProven
  }

  // Puts `job` back where it was waiting (its priority kept) for a worker with the clients' key,
  // and stops this one taking more until its key's record appears.
  async function putBack(job, token) {
    counters.returned++
    if (!keyRefused) {
      keyRefused = true
      worker.pause(true).catch(() => {})
      reportError(error('QueueWorkerKey', keyId))
      ;(async () => {
        while (!closing && !(await proveKey())) await sleep(KEY_RECHECK_MS, undefined, { ref: false })
        if (closing) return
        keyRefused = false
        worker.resume()
      })()
    }
    await job.moveToWait(token)
    throw new bullmq.WaitingError()
  }

  async function processJob(job, token, signal) {
    if (job.data?.k !== keyId) {
      if (!keyProven && !(await proveKey())) return putBack(job, token)
      counters.rejected++
      throw new Error(envelope.REFUSALS.otherKey)
    }
    const request = envelope.openRequest(key, name, job.id, job.data.s)
    if (!request) {
      counters.rejected++
      throw new Error(envelope.REFUSALS.unauthenticated)
    }
    keyProven = true
    const seal = (result) => envelope.sealResult(key, name, job.id, result, envelope.resultSize(request.op))
    const now = Date.now()
    const left = request.deadline - now
    const startIn = request.startBy - now
    // The caller has given up (the tier's timeout), or the call's own deadline passed before this
    // worker took it: either way it is not computed.
    if (!(left > 0 && startIn > 0)) {
      request.data.fill(0)
      counters.expired++
      return seal(left > 0 ? { error: DEADLINE_PASSED } : { expired: true })
    }
    // The pool schedules it as the caller's pool would have: its class, its fair-share key, and the
    // call's start-by deadline (past it, still queued here, the pool drops it: ERR_BCRYPT_DEADLINE).
    const schedule = { ...request.schedule, timeoutMs: Number.isFinite(startIn) ? startIn : undefined }
    const cancellation = new binding.Cancellation()
    let expired = false
    const timer = setTimeout(() => {
      expired = true
      cancellation.cancel()
    }, left)
    const onAbort = () => cancellation.cancel()
    signal?.addEventListener('abort', onAbort, { once: true })
    let pending
    try {
      pending = operations.run(request.op, request.data, request.setting, { cancellation, schedule })
    } catch (err) {
      pending = Promise.reject(err)
    } finally {
      request.data.fill(0) // the binding copied it before returning
    }
    try {
      const value = await pending
      counters[COUNTED[request.op]]++
      // A raw argon2 hash (a Buffer) travels as base64.
      return seal({ value: Buffer.isBuffer(value) ? value.toString('base64') : value })
    } catch (err) {
      if (expired) {
        counters.expired++
        return seal({ expired: true })
      }
      if (signal?.aborted) {
        counters.cancelled++
        throw new Error('cancelled by the worker')
      }
      // A native failure (a malformed salt, a full queue, a panic): the caller's facade words it.
      const wire = toWire(err)
      if (wire === undefined) throw err
      counters[wire.kind === 'Deadline' ? 'expired' : 'failed']++
      return seal({ error: wire })
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
  }

  const worker = new bullmq.Worker(name, processJob, {
    connection: link.blocking(),
    prefix,
    concurrency,
    lockDuration: options.lockDuration ?? LOCK_MS,
    stalledInterval: options.stalledInterval ?? STALLED_CHECK_MS,
    maxStalledCount: MAX_STALLED,
    removeOnComplete: { count: 0 },
    removeOnFail: { count: 0 },
  })
  const reportError = (err) => {
    const clean = scrub(err, secrets)
    lastError = clean.message
    options.onError?.(clean)
  }
  if (options.concurrency === undefined && bcrypt.stats().lanesSource === 'provisional') {
    // A cost-4 hash starts the pool, and with it the lane measurement. If the pool cannot start,
    // the worker keeps its provisional concurrency and says why (its jobs will fail the same way).
    bcrypt
      .hash('', 4)
      .then(async () => {
        while (bcrypt.stats().lanesSource === 'provisional' && !closing) await sleep(10, undefined, { ref: false })
        if (!closing) worker.concurrency = concurrency = everyLane()
      })
      .catch(reportError)
  }
  worker.on('error', reportError)

  /**
   * Stops taking jobs and waits for those in hand to finish; after `graceMs` (default 10 s) it stops
   * waiting, and their locks lapse so that other workers take them.
   */
  function close({ graceMs = 10_000 } = {}) {
    closing ??= (async () => {
      const within = (promise, ms) => Promise.race([promise.then(() => true, () => true), sleep(ms, false, { ref: false })])
      if (await within(worker.close(), graceMs)) return
      // Jobs still in hand, or Redis gone: drop the connections. Jobs in hand go back to the
      // queue when their locks lapse.
      if (!(await within(worker.close(true), 1000))) {
        await within(worker.disconnect(), 1000)
        // With Redis gone BullMQ's close never gets as far as stopping its lock renewals, whose
        // timer would keep the process alive (bullmq 6.7; harmless where the field is absent).
        await within(Promise.resolve(worker.lockManager?.close?.()), 1000)
      }
    })().finally(() => link.close())
    return closing
  }

  /**
   * Jobs waiting for a worker, by class (`{ high, normal, low }`), and `oldestSeconds`, the age of
   * the oldest of them (0 when none waits): for autoscaling on queue depth. A fixed number of
   * commands in two round trips, whatever the queue holds. The wait list counts as high: high calls
   * wait there (BullMQ's priority 0), and so do jobs put back after their worker died.
   */
  async function waiting() {
    const redis = await commands()
    const { wait, prioritized } = worker.keys
    const score = (priority) => priority * 2 ** 32 // BullMQ's prioritized score: priority × 2^32 + a counter
    const classes = ['high', 'normal', 'low']
    const first = (cls) => priorityOf(cls, 'compare', true)
    const priorities = Array.from({ length: first(classes.length) - 1 }, (_, i) => i + 1)
    // Sent together, answered in one round trip (one connection, in order).
    const replies = await Promise.all([
      redis.llen(wait),
      ...classes.map((_, cls) => redis.zcount(prioritized, score(first(cls)), `(${score(first(cls + 1))}`)),
      // The oldest job of each priority is its head (first in, first out), and the wait list's tail.
      redis.lindex(wait, -1),
      ...priorities.map((p) => redis.zrangebyscore(prioritized, score(p), `(${score(p + 1)}`, 'LIMIT', 0, 1)),
    ])
    const [inWait, ...rest] = replies
    const byClass = Object.fromEntries(classes.map((c, i) => [c, rest[i] + (i === 0 ? inWait : 0)]))
    const heads = [rest[classes.length], ...rest.slice(classes.length + 1).map((r) => r[0])].filter((id) => id != null)
    const stamps = await Promise.all(heads.map((id) => redis.hget(worker.toKey(id), 'timestamp')))
    const times = stamps.map(Number).filter((t) => Number.isFinite(t) && t > 0)
    const oldestSeconds = times.length ? Math.max(0, Date.now() - Math.min(...times)) / 1000 : 0
    return { ...byClass, oldestSeconds }
  }

  /** `waiting()`, or `undefined` when Redis does not answer within WAITING_READ_MS. */
  const waitingNow = () =>
    Promise.race([waiting().catch(() => undefined), sleep(WAITING_READ_MS, undefined, { ref: false })])

  /** This worker's counters, and the pool's own `stats()`. */
  const stats = () => ({
    name,
    concurrency,
    running: worker.isRunning(),
    keyRefused,
    lastError,
    ...counters,
    pool: bcrypt.stats(),
  })

  return {
    worker,
    stats,
    waiting: waitingNow,
    close,
    /** Resolves once the worker's connection is up. */
    ready: () => worker.waitUntilReady().then(() => undefined),
  }
}

module.exports = { startWorker }
