'use strict'

// The caller's side of the queue tier: `connect({ redis, key })` gives `hash`, `compare` and
// `compareUnknown` computed by remote workers (lib/queue/worker.js) through BullMQ.
//
// The client is the package's own facade (lib/api.js) over a backend (the interface documented
// there) that sends jobs instead of computing: every call form, argument check, message, callback
// convention and AbortSignal behaviour is the local package's by construction, and only what the
// queue adds (the deadline, Redis being down, tampering, the bound on waiting jobs) has errors of
// its own.
//
// Each call: its request is sealed at once (lib/queue/envelope.js; the password is read when you
// call and never kept), then added as a job with a random UUID as its id. One QueueEvents per client
// reads the queue's event stream and settles calls from a map of pending ids, each exactly once:
// with the result that opens under the key for that job id, or with an error. A call that has no
// answer by the tier's deadline (`timeout`) rejects with ERR_BCRYPT_QUEUE_TIMEOUT and its job is
// removed; so is an aborted call's. A call whose own deadline (the facade's `timeout` or `deadline`
// option, sealed in the request with its class and key) passes before a worker starts it rejects
// with ERR_BCRYPT_DEADLINE. Nothing waits on Redis past the deadline: the producing connection
// fails commands at once while Redis is down and within `commandTimeout` while it hangs.

const { randomUUID } = require('node:crypto')
const { setTimeout: sleep } = require('node:timers/promises')

const binding = require('../../binding.js')
const { createBcrypt, localBackend, passwordBytes } = require('../api.js')
const { AbortError, fromWire, DEADLINE_PASSED } = require('../errors.js')
const envelope = require('./envelope.js')
const { error } = require('./errors.js')
const keycheck = require('./keycheck.js')
const { loadPeers, optionsFromUrl, connections } = require('./redis.js')

const DEFAULTS = {
  name: 'bcrypt-offload',
  prefix: 'bull',
  timeout: 10_000,
  commandTimeout: 1000,
  maxWaiting: Infinity,
  fallback: false,
  compareFirst: true,
}

// A job's name, in the clear in Redis: an unknown user's compare is named as any other, so that Redis
// does not tell which logins are for accounts that do not exist (workers go by the sealed op).
const jobName = (op) => (op === 'hash' ? 'hash' : 'compare')

// BullMQ's priority for a call of class `cls` (0 high, 1 normal, 2 low). Workers take BullMQ's plain
// wait list first (priority 0), then its prioritized set by ascending priority, first in first out
// within one priority (bullmq 6.7.0: moveToActive-11.lua and includes/fetchNextJob.lua, RPOPLPUSH
// from the wait list, else ZPOPMIN of the prioritized set; includes/getPriorityScore.lua, score =
// priority × 2^32 + a counter). So, across all workers, a queued high call is taken before any
// normal one and a normal before any low; with compareFirst a class's compares go before its
// hashes: high compare 0 (the wait list), high hash 1, normal compare 2, normal hash 3, low compare
// 4, low hash 5. Without it a class's two operations share one priority (0, 2, 4): arrival order.
const priorityOf = (cls, op, compareFirst) => 2 * cls + (compareFirst && op === 'hash' ? 1 : 0)

// Redis's and ioredis's own words for what went wrong, short; they carry no command arguments.
const reasonOf = (err) => String(err?.message ?? err).slice(0, 200)

// The backend's `cancellation()`: the handle of one remote call, which `submit` ties to its call.
class RemoteCancellation {
  #call
  #cancelled = false
  bind(call) {
    this.#call = call
    if (this.#cancelled) call.cancel()
  }
  /** Drops the call: its job is removed unless a worker holds it (that worker's result is dropped). */
  cancel() {
    if (this.#cancelled) return
    this.#cancelled = true
    this.#call?.cancel()
  }
  /** At the call's own deadline: see `expire` in connect(). */
  expire() {
    return this.#call?.expire() ?? false
  }
}

/**
 * Connects to the hashing tier. Returns at once; calls made before Redis answers wait for it (up to
 * their deadline), and `ready()` resolves once it has.
 */
function connect(options = {}) {
  if (options === null || typeof options !== 'object') throw error('SettingType', 'options', 'an object')
  const settings = { ...DEFAULTS }
  for (const [name, value] of Object.entries(options)) if (value !== undefined) settings[name] = value
  const { name, timeout, commandTimeout, maxWaiting, fallback, compareFirst } = settings
  if (typeof name !== 'string' || name === '' || name.includes(':')) throw error('SettingRange', 'name', 'a non-empty string without ":"')
  if (!(Number.isFinite(timeout) && timeout > 0)) throw error('SettingRange', 'timeout', 'a positive number of milliseconds')
  if (!(Number.isFinite(commandTimeout) && commandTimeout > 0)) {
    throw error('SettingRange', 'commandTimeout', 'a positive number of milliseconds')
  }
  if (!(maxWaiting === Infinity || (Number.isInteger(maxWaiting) && maxWaiting >= 0))) {
    throw error('SettingRange', 'maxWaiting', 'a whole number from 0, or Infinity')
  }
  if (fallback !== false && fallback !== 'local') throw error('SettingRange', 'fallback', 'false or "local"')
  if (typeof compareFirst !== 'boolean') throw error('SettingType', 'compareFirst', 'a boolean')
  const key = envelope.keyFrom(options.key)
  if (typeof key === 'string') throw error('QueueKey', key)
  const keyId = envelope.keyId(key)
  const url = optionsFromUrl(options.redis ?? process.env.BCRYPT_OFFLOAD_REDIS, options)
  const { bullmq, IORedis } = loadPeers()
  let closed = false
  // Every connection of this client (BullMQ duplicates some) stops reconnecting once it is closed.
  const redis = { ...url, retryStrategy: (times) => (closed ? null : url.retryStrategy(times)) }
  // A single Redis, or a Redis Cluster (`cluster`), and the queue's prefix for it.
  const link = connections(IORedis, redis, { cluster: options.cluster, prefix: options.prefix, defaultPrefix: DEFAULTS.prefix, name, commandTimeout })
  const { prefix } = link

  const counters = { submitted: 0, added: 0, completed: 0, timedOut: 0, unavailable: 0, refused: 0, tampered: 0, failed: 0, aborted: 0, expired: 0, local: 0 }

  // --- Redis: the producing connection, its health, and the one event reader ---

  const producer = link.producer()
  const queue = new bullmq.Queue(name, { connection: producer, prefix })
  let events // QueueEvents, started on the first connection
  let up = false // the producer answers and the event reader has its starting point
  let down // why it does not, once a connection has failed; undefined while the first one is made
  let hung = false // a command timed out: fail fast until a PING answers
  const waiters = [] // calls waiting for the first connection
  let markReady
  const readiness = new Promise((resolve) => (markReady = resolve))

  const wake = (err) => {
    for (const [resolve, reject] of waiters.splice(0)) err ? reject(err) : resolve()
  }
  producer.on('error', (err) => {
    down = reasonOf(err)
  })
  producer.on('close', () => {
    up = false
    down ??= 'connection closed'
    wake(error('QueueUnavailable', down))
  })
  producer.on('ready', async () => {
    // The record that tells workers this key is in use (keycheck.js); a worker without it that
    // meets jobs of another key stops, so it is written on every connection, at no cost to calls.
    keycheck.announce(producer, queue, key, keyId).catch(() => {})
    try {
      if (!events) await startEvents()
      up = true
      down = undefined
      hung = false
      markReady()
      wake()
    } catch (err) {
      down = reasonOf(err)
      wake(error('QueueUnavailable', down))
    }
  })
  queue.on('error', () => {}) // the producer's own listener records it

  // The event reader starts from the stream's last entry as it is now, read before any job of ours
  // is added: a reader started from "$" would miss what arrives before its first XREAD.
  async function startEvents() {
    const [last] = await producer.xrevrange(queue.keys.events, '+', '-', 'COUNT', 1)
    events = new bullmq.QueueEvents(name, { connection: link.blocking(), prefix, lastEventId: last?.[0] ?? '0-0' })
    events.on('error', () => {})
    events.on('completed', ({ jobId, returnvalue }) => onResult(jobId, returnvalue))
    events.on('failed', ({ jobId, failedReason }) => onFailed(jobId, failedReason))
    events.on('removed', ({ jobId }) => onRemoved(jobId))
  }

  // After a command timed out, Redis may hang (SIGSTOP, a long script): until a PING answers, calls
  // fail at once rather than each waiting `commandTimeout`.
  async function probe() {
    if (hung) return
    hung = true
    while (hung && !closed) {
      try {
        await producer.ping()
        hung = false
      } catch {
        if (producer.status !== 'ready') await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }

  // Resolves when a job can be added; rejects with ERR_BCRYPT_QUEUE_UNAVAILABLE when it cannot.
  function usable() {
    if (up && !hung && producer.status === 'ready') return undefined
    if (hung) return Promise.reject(error('QueueUnavailable', `no answer within ${commandTimeout} ms (commandTimeout)`))
    if (down !== undefined) return Promise.reject(error('QueueUnavailable', down))
    return new Promise((resolve, reject) => waiters.push([resolve, reject]))
  }

  // --- Calls ---

  const pending = new Map() // job id → call

  // Settles `call` once: with `err`, or with `value`. The first outcome wins; the job of a call that
  // ends without its result (timeout, abort) is removed.
  function finish(call, err, value) {
    if (pending.get(call.id) !== call) return
    pending.delete(call.id)
    clearTimeout(call.timer)
    if (err) call.local?.cancel() // a local fallback still computing: drop it
    if (err && call.added && !call.answered) removeJob(call.id)
    if (err) call.reject(err)
    else call.resolve(value)
  }

  function removeJob(id) {
    if (up && !hung) queue.remove(id).catch(() => {}) // a job a worker holds finishes and removes itself
  }

  function onResult(id, sealed) {
    const call = pending.get(id)
    if (!call) return // another client's job, or one that has ended
    call.answered = true
    const result = envelope.openResult(key, name, id, sealed)
    const expected = call.op === 'hash' ? 'string' : 'boolean'
    // A native failure of the worker's binding: the facade words it from the package's table.
    const failure = fromWire(result?.error)
    if (failure?.code === 'Deadline') counters.expired++
    if (failure) return finish(call, failure)
    if (result?.expired) return finish(call, (counters.timedOut++, error('QueueTimeout', timeout)))
    if (!result || typeof result.value !== expected) return finish(call, (counters.tampered++, error('QueueTampered')))
    counters.completed++
    finish(call, undefined, result.value)
  }

  // The call's own deadline (the facade's `timeout` or `deadline` option) has passed: its job is
  // dropped if no worker has started it. Whether one has is Redis's to say, so this knows at once
  // only for a job Redis has not acknowledged: it is dropped now (true), and removed if it arrives
  // (a worker that meets it first drops it: the deadline is sealed in the request). A job in Redis
  // is asked to be removed, which BullMQ does only for one no worker holds, and this says false:
  // the call then ends with the first of its answers in the event stream, `removed` (no worker
  // had started it: ERR_BCRYPT_DEADLINE) or its worker's result. Not remove()'s own answer: it is 1
  // for a job already gone too (completed a moment before), where the stream has the result first.
  // If Redis cannot be asked, the tier's own timeout ends the call.
  function expire(call) {
    if (pending.get(call.id) !== call) return false
    if (call.local) {
      if (!call.local.expire()) return false
    } else if (call.added) {
      call.expiring = true
      removeJob(call.id)
      return false
    }
    finish(call, (counters.expired++, fromWire(DEADLINE_PASSED)))
    return true
  }

  // A job removed from Redis: an answer only for a call whose expiry asked for it.
  function onRemoved(id) {
    const call = pending.get(id)
    if (!call?.expiring) return
    call.answered = true
    finish(call, (counters.expired++, fromWire(DEADLINE_PASSED)))
  }

  // A failure comes from the event stream, unauthenticated: it can only ever make a call reject.
  function onFailed(id, reason) {
    const call = pending.get(id)
    if (!call) return
    call.answered = true
    const refusal = envelope.refusalOf(reason)
    if (refusal) return finish(call, (counters.tampered++, error('QueueRefused', refusal)))
    counters.failed++
    finish(call, error('QueueFailed', reasonOf(reason)))
  }

  // One of the backend's calls (`op` names it), sent to the queue. `data` is read (sealed) before
  // this returns; with the local fallback a copy is kept until the job is added. The request carries
  // the schedule, so that the worker's pool orders the job as this process's pool would, and the
  // call's own deadline when it is earlier than the tier's.
  function submit(op, data, setting, { cancellation, schedule = {} }) {
    if (closed) return Promise.reject(error('QueueClosed'))
    const id = randomUUID()
    const now = Date.now()
    const startBy = schedule.timeoutMs < timeout ? now + schedule.timeoutMs : Infinity
    const sealed = envelope.sealRequest(key, name, id, { op, setting: String(setting), data, deadline: now + timeout, startBy, schedule })
    const local = fallback === 'local' ? { data: typeof data === 'string' ? data : Buffer.from(passwordBytes(data)), setting } : undefined
    const call = { id, op, cls: schedule.class ?? 1, key: schedule.key, startBy, added: false, answered: false }
    call.promise = new Promise((resolve, reject) => {
      Object.assign(call, { resolve, reject })
      pending.set(id, call)
      counters.submitted++
      call.timer = setTimeout(() => finish(call, (counters.timedOut++, error('QueueTimeout', timeout))), timeout)
    })
    // On abort the facade has already rejected the caller's promise with an AbortError; this one
    // settles too, for the bookkeeping, and nobody is listening to it.
    call.cancel = () => finish(call, (counters.aborted++, new AbortError()))
    call.expire = () => expire(call)
    cancellation?.bind(call)
    enqueue(call, sealed, local)
    return call.promise
  }

  async function enqueue(call, sealed, local) {
    try {
      await usable()
      if (!pending.has(call.id)) return
      if (maxWaiting !== Infinity) {
        const [inWait, inPrioritized] = await Promise.all([producer.llen(queue.keys.wait), producer.zcard(queue.keys.prioritized)])
        if (inWait + inPrioritized >= maxWaiting) return finish(call, (counters.refused++, error('QueueWaitingFull', maxWaiting)))
        if (!pending.has(call.id)) return
      }
      const priority = priorityOf(call.cls, call.op, compareFirst)
      await queue.add(jobName(call.op), { k: keyId, s: sealed }, { jobId: call.id, priority, removeOnComplete: true, removeOnFail: true })
      call.added = true
      counters.added++
      if (!pending.has(call.id)) removeJob(call.id) // ended (aborted, expired) while being added
    } catch (err) {
      if (!pending.has(call.id)) return
      if (/timed out/i.test(err?.message)) probe()
      if (local) return runLocally(call, local)
      counters.unavailable++
      finish(call, err?.code === 'ERR_BCRYPT_QUEUE_UNAVAILABLE' ? err : error('QueueUnavailable', reasonOf(err)))
    } finally {
      if (local && typeof local.data !== 'string') local.data.fill(0)
    }
  }

  // The caller opted into the local pool for when Redis is unreachable. Still under its deadlines,
  // and scheduled as asked.
  function runLocally(call, local) {
    counters.local++
    const cancellation = new binding.Cancellation()
    call.local = cancellation
    const startIn = Math.max(0, call.startBy - Date.now())
    const schedule = { class: call.cls, key: call.key, timeoutMs: Number.isFinite(startIn) ? startIn : undefined }
    localBackend(binding)[call.op](local.data, local.setting, { cancellation, schedule }).then(
      (value) => finish(call, undefined, value),
      (err) => finish(call, err),
    )
  }

  /** The tier as a backend (lib/api.js): each call a job for the workers. */
  const remote = {
    // A new salt travels as the string the binding makes of it: the request carries one setting.
    hash: (data, salt, job) => submit('hash', data, typeof salt === 'string' ? salt : binding.encodeSalt('b', salt.cost, salt.seed), job),
    // As the local pool: a string that is not a well-formed hash is `false`, with nothing queued.
    compare: (data, hash, job) => (binding.hashInfo(hash) ? submit('compare', data, hash, job) : Promise.resolve(false)),
    // A job too, so that an unknown user costs a worker what a known one does.
    compareUnknown: (data, cost, job) => submit('compareUnknown', data, cost, job),
    cancellation: () => new RemoteCancellation(),
  }
  const facade = createBcrypt(binding, remote)
  if (options.rejectLongPasswords !== undefined) facade.configure({ rejectLongPasswords: options.rejectLongPasswords })

  let closing
  /**
   * Stops taking calls (they reject with ERR_BCRYPT_QUEUE_CLOSED), lets those in flight settle (each
   * by its deadline at the latest), then closes the connections.
   */
  function close() {
    closed = true
    closing ??= (async () => {
      await Promise.allSettled([...pending.values()].map((call) => call.promise))
      wake(error('QueueClosed'))
      // Gracefully while Redis answers; a dead or hung one must not hold a shutdown up, so after
      // `commandTimeout` the connections are dropped.
      const graceful = Promise.allSettled([events?.close(), queue.close()]).then(() => producer.quit())
      await Promise.race([graceful.catch(() => {}), sleep(commandTimeout, undefined, { ref: false })])
      events?.disconnect().catch(() => {})
      producer.disconnect()
      link.close()
    })()
    return closing
  }

  /** Resolves once Redis has answered and the event reader is set (there is no timeout here). */
  const ready = () => readiness

  const stats = () => ({ pending: pending.size, connected: up && !hung, ...counters })

  const { genSalt, genSaltSync, getRounds, getSalt, truncates, needsRehash } = facade
  const client = {
    hash: facade.hash,
    compare: facade.compare,
    compareUnknown: facade.compareUnknown,
    genSalt,
    genSaltSync,
    getRounds,
    getSalt,
    truncates,
    needsRehash,
    AbortError,
    ready,
    close,
    stats,
    /** The BullMQ queue (for monitoring: counts, metrics); jobs go through the calls above. */
    queue,
  }
  client.default = client
  return client
}

module.exports = { connect, DEFAULTS, priorityOf }
