'use strict'

// The caller's side of the queue tier: `connect({ redis, key })` gives `hash`, `compare` and
// `compareUnknown`, and `argon2.hash` and `argon2.verify`, computed by remote workers
// (lib/queue/worker.js) through BullMQ.
//
// The client is the package's own facade (lib/api.js) over a backend (the interface documented
// there) that sends jobs instead of computing: every call form, argument check, message, callback
// convention and AbortSignal behaviour is the local package's by construction, and only what the
// queue adds (the deadline, Redis being down, tampering, the bound on waiting jobs) has errors of
// its own.
//
// Each call: its request is sealed at once (lib/queue/envelope.js; the password is read when you
// call and never kept), then added as a job with a random UUID as its id. One reader per client
// reads the queue's event stream and settles calls from a map of pending ids, each exactly once:
// with the result that opens under the key for that job id, or with an error. A finished job is
// kept until its caller has read its answer (for the tier's timeout at most), so that an answer the
// reader missed (trimmed from the stream under a client that lagged, or deleted) is fetched from
// its job. A call that has no answer by the tier's deadline (`timeout`) rejects with ERR_BCRYPT_QUEUE_TIMEOUT and its job is
// removed; so is an aborted call's. A call whose own deadline (the facade's `timeout` or `deadline`
// option, sealed in the request with its class and key) passes before a worker starts it rejects
// with ERR_BCRYPT_DEADLINE. Nothing waits on Redis past the deadline: the producing connection
// fails commands at once while Redis is down and within `commandTimeout` while it hangs.

const { randomUUID } = require('node:crypto')
const { setTimeout: sleep } = require('node:timers/promises')

const binding = require('../../binding.js')
const { createBcrypt, passwordBytes } = require('../api.js')
const { createArgon2 } = require('../argon2/api.js')
const { AbortError, fromWire, DEADLINE_PASSED } = require('../errors.js')
const envelope = require('./envelope.js')
const { error } = require('./errors.js')
const keycheck = require('./keycheck.js')
const operations = require('./operations.js')
const { loadPeers, optionsFromUrl, connections } = require('./redis.js')

// The longest delay Node's timers take: a longer one fires after 1 ms instead (TimeoutOverflowWarning).
const TIMER_MAX = 2 ** 31 - 1

// How long one read of the event stream blocks, and how often at least the reader checks the
// stream (see `check` in connect()): how soon it notices a stream deleted or begun again.
const READ_BLOCK_MS = 1000

// How many entries one read of the event stream takes at most (the rest at the next read), and
// the longest returnvalue or failedReason it takes (a sealed result is about 214 characters; an
// entry with a longer one is passed over: see the event reader). Read at each read: exported for
// the tests, which lower them to prove the mechanism with small entries.
const READS = { READ_COUNT: 500, FIELD_MAX: 1024 }

// How often a connected client writes its key's record again (keycheck.js), for workers that meet
// forged jobs after someone deleted it: one SET.
const ANNOUNCE_MS = 3000

// How long answered jobs wait to be removed together (one round trip for all of them).
const FORGET_MS = 100

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
const jobName = (op) => (HASHES.has(op) ? 'hash' : 'compare')
const HASHES = new Set(['hash', 'argon2Hash', 'argon2HashRaw'])

// BullMQ's priority for a call of class `cls` (0 high, 1 normal, 2 low). Workers take BullMQ's plain
// wait list first (priority 0), then its prioritized set by ascending priority, first in first out
// within one priority (bullmq 6.7.0: moveToActive-11.lua and includes/fetchNextJob.lua, RPOPLPUSH
// from the wait list, else ZPOPMIN of the prioritized set; includes/getPriorityScore.lua, score =
// priority × 2^32 + a counter). So, across all workers, a queued high call is taken before any
// normal one and a normal before any low; with compareFirst a class's compares go before its
// hashes: high compare 0 (the wait list), high hash 1, normal compare 2, normal hash 3, low compare
// 4, low hash 5. Without it a class's two operations share one priority (0, 2, 4): arrival order.
const priorityOf = (cls, op, compareFirst) => 2 * cls + (compareFirst && HASHES.has(op) ? 1 : 0)

// What each operation's result holds (a raw argon2 hash travels as base64).
const RESULT_TYPES = { hash: 'string', compare: 'boolean', compareUnknown: 'boolean', argon2Hash: 'string', argon2HashRaw: 'string', argon2Verify: 'boolean' }

// How long the event reader waits before it reads again after a failed read.
const READ_RETRY_MS = 100

// Stream entry ids ("<ms>-<seq>", both 64-bit) in order.
function compareIds(a, b) {
  const [am, as] = String(a).split('-').map(BigInt)
  const [bm, bs] = String(b).split('-').map(BigInt)
  return am === bm ? (as === bs ? 0 : as < bs ? -1 : 1) : am < bm ? -1 : 1
}

// JSON from Redis, which anyone who can write it may have written: undefined if it does not parse.
function parseJson(text) {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

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
  const milliseconds = `a positive number of milliseconds up to ${TIMER_MAX}`
  if (!(Number.isFinite(timeout) && timeout > 0 && timeout <= TIMER_MAX)) throw error('SettingRange', 'timeout', milliseconds)
  if (!(Number.isFinite(commandTimeout) && commandTimeout > 0 && commandTimeout <= TIMER_MAX)) {
    throw error('SettingRange', 'commandTimeout', milliseconds)
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

  const counters = {
    submitted: 0,
    added: 0,
    completed: 0,
    timedOut: 0,
    unavailable: 0,
    refused: 0,
    tampered: 0,
    failed: 0,
    aborted: 0,
    expired: 0,
    local: 0,
    // Answers fetched from their jobs because the event stream no longer had them.
    recovered: 0,
    readerRestarts: 0,
  }

  // --- Redis: the producing connection, its health, and the one event reader ---

  const producer = link.producer()
  const queue = new bullmq.Queue(name, { connection: producer, prefix })
  let up = false // the producer answers and the event reader has its starting point
  let down // why it does not, once a connection has failed; undefined while the first one is made
  let hung = false // a command timed out: fail fast until a PING answers
  const waiters = [] // calls waiting for the first connection
  let announcer // the timer that writes the key's record again
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
    // And again every ANNOUNCE_MS: anyone who can write Redis can delete it.
    announcer ??= setInterval(() => up && !hung && keycheck.announce(producer, queue, key, keyId).catch(() => {}), ANNOUNCE_MS).unref()
    try {
      // Once; a start that failed (Redis gone meanwhile) is tried again at the next connection.
      await (readerStarted ??= startReader().catch((err) => {
        readerStarted = undefined
        throw err
      }))
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

  // --- The event reader ---
  //
  // Not BullMQ's QueueEvents: its loop JSON.parses fields of every entry unguarded and ends for
  // good on the first that does not parse (bullmq 6.7.0, classes/queue-events.js, consumeEvents),
  // so one XADD by anyone who can write Redis silenced every client; and it cannot tell entries it
  // never read (trimmed, deleted) from entries that never were. Nor a plain XREAD: its reply holds
  // whole entries, of any size and number an attacker chooses (one entry past V8's longest string
  // made every read fail at the same id for good; 2M tiny ones in one reply took GBs and stalled
  // the event loop for seconds). So entries are read by a script (`readEvents` below), at most
  // READ_COUNT a time, that returns of each only its id, event, jobId and its returnvalue or
  // failedReason up to FIELD_MAX characters: an entry with a larger one is passed over, and its
  // call, if one of ours, gets its answer from its kept job (`recover`). The script cannot block,
  // so the reader's connection waits for new entries with XREAD BLOCK ... COUNT 1 as a wake-up
  // only: its reply (one entry, as a Buffer, never made a string) is dropped unread. The script
  // also says whether the entry read up to is still there (if not, entries after it may have been
  // trimmed unread: `recover`) and, at least every READ_BLOCK_MS, whether the stream was deleted or
  // begun again (`check`), from XINFO STREAM taken inside it: the stream's first and last entries,
  // which XINFO returns whole, stay in Redis. A failed read (a dropped connection, a key of the
  // wrong type) is retried from the same id, and `stats()` says so.
  const eventsKey = queue.keys.events
  // Its own connection, blocking. A read cut by a lost connection is sent again, from the same id,
  // once it is back (ioredis resends what had no answer).
  const reader = link.reader()
  reader.on('error', () => {}) // its failures show as 'close' and as failed reads
  reader.on('close', () => readerFailed())
  reader.on('ready', () => (readerState = 'running'))
  // KEYS[1] the stream; ARGV: the id read up to, READ_COUNT, FIELD_MAX, '1' to check. Returns
  // { info, entries, gap }: info (if asked) empty if the stream is gone, else its
  // last-generated-id and entries-added; entries flat, five values each (id, event, jobId, value,
  // 1 if a field was too long); gap 1 if the entry read up to is no longer in the stream (trimmed
  // or deleted: entries after it may have gone unread too). An entry at a time (XRANGE COUNT 1):
  // the script never holds more than one large entry.
  reader.defineCommand('bcryptOffloadReadEvents', {
    numberOfKeys: 1,
    lua: `
      local info = {}
      if ARGV[4] == '1' then
        if redis.call('EXISTS', KEYS[1]) == 1 then
          local x = redis.call('XINFO', 'STREAM', KEYS[1])
          for i = 1, #x, 2 do
            if x[i] == 'last-generated-id' then info[1] = x[i + 1]
            elseif x[i] == 'entries-added' then info[2] = tostring(x[i + 1]) end
          end
        end
      end
      local out, from, max = {}, ARGV[1], tonumber(ARGV[3])
      local gap = (from ~= '0-0' and #redis.call('XRANGE', KEYS[1], from, from) == 0) and 1 or 0
      -- Nothing comes after the largest id ('(' of it is an error): only a new stream (see check).
      local count = from == '18446744073709551615-18446744073709551615' and 0 or tonumber(ARGV[2])
      for n = 1, count do
        local e = redis.call('XRANGE', KEYS[1], '(' .. from, '+', 'COUNT', 1)[1]
        if not e then break end
        from = e[1]
        local f, event, job, value = e[2], '', '', ''
        for i = 1, #f - 1, 2 do
          if f[i] == 'event' then event = f[i + 1] elseif f[i] == 'jobId' then job = f[i + 1] end
        end
        local name = event == 'completed' and 'returnvalue' or event == 'failed' and 'failedReason' or nil
        for i = 1, #f - 1, 2 do if f[i] == name then value = f[i + 1] end end
        local over = (#value > max or #event > 16 or #job > 64) and 1 or 0
        if over == 1 then value = '' end
        if #event > 16 then event = '' end
        if #job > 64 then job = '' end
        table.insert(out, from) table.insert(out, event) table.insert(out, job) table.insert(out, value) table.insert(out, over)
      end
      return { info, out, gap }`,
  })
  let readerStarted // startReader(), once it has been called
  let lastId // the last entry read; undefined until the reader has its starting point
  let readerState = 'starting' // then 'running', or 'restarting' after a failed read
  let readerStopped = false

  // The reader starts from the stream's last entry as it is now, read before any job of ours is
  // added: a reader started from "$" would miss what arrives before its first read.
  async function startReader() {
    if (reader.status !== 'ready') await new Promise((resolve) => reader.once('ready', resolve))
    const [last] = await producer.xrevrange(eventsKey, '+', '-', 'COUNT', 1)
    lastId = last?.[0] ?? '0-0'
    readEvents()
  }

  let checked = 0 // when the stream was last checked (performance.now())
  async function readEvents() {
    let wait = false // nothing new at the last read: wait for an entry before the next
    while (!readerStopped) {
      if (wait) {
        // The wake-up; whatever it returns or fails with, the script reads next.
        await reader.xreadBuffer('BLOCK', READ_BLOCK_MS, 'COUNT', 1, 'STREAMS', eventsKey, lastId).catch(() => {})
        if (readerStopped) return
      }
      const checking = performance.now() - checked >= READ_BLOCK_MS
      let info, entries, gap
      try {
        ;[info, entries, gap] = await reader.bcryptOffloadReadEvents(eventsKey, lastId, READS.READ_COUNT, READS.FIELD_MAX, checking ? '1' : '0')
      } catch {
        if (readerStopped) return
        readerFailed()
        // Not at once: a read that fails for good (a key of the wrong type) must not spin.
        await sleep(READ_RETRY_MS, undefined, { ref: false })
        wait = false
        continue
      }
      readerState = 'running'
      let passedOver = false
      for (let i = 0; i + 4 < entries.length; i += 5) {
        lastId = entries[i]
        if (entries[i + 4] === 1) passedOver ||= pending.has(entries[i + 2])
        else onEvent(entries[i + 1], entries[i + 2], entries[i + 3])
      }
      const count = entries.length / 5
      wait = count < READS.READ_COUNT
      if (passedOver || gap === 1) recover()
      if (checking) {
        checked = performance.now()
        check(info)
      }
    }
  }

  // A read failed or the connection dropped, after the reader had been running (the first
  // connection's failures are Redis being unavailable, which calls say).
  function readerFailed() {
    if (readerStopped || readerState !== 'running') return
    counters.readerRestarts++
    readerState = 'restarting'
  }

  // One entry of the stream, the fields of it the reader takes (see its script).
  function onEvent(event, jobId, value) {
    const watch = abandoned.get(jobId)
    if (watch) {
      if (event === 'completed' || event === 'failed') forget(jobId)
      if (event === 'completed' || event === 'failed' || event === 'removed') watch.ended()
      return
    }
    if (!pending.has(jobId)) return // another client's job, one that has ended, or none
    if (event === 'completed') onResult(jobId, parseJson(value))
    else if (event === 'failed') onFailed(jobId, value)
    else if (event === 'removed') onRemoved(jobId)
  }

  // What XINFO STREAM, taken in a read's script (`info`: empty if the stream is gone, else its
  // last-generated-id and entries-added), says of the place reached. The stream gone (DEL, a Redis
  // restart without persistence) or begun again below it (a forged entry with the largest id, then
  // DEL: no id Redis makes would ever come after it): read again from its start. Begun again above
  // it (fewer entries ever added than last time): read on. In each case answers may have been
  // lost: `recover` fetches them. (Entries trimmed unread show as a read's `gap`.)
  let entriesAdded = 0 // XINFO's count of every entry the stream has had (Redis 7)
  function check(info) {
    if (info.length === 0) {
      if (lastId === '0-0') return
      lastId = '0-0'
      return recover()
    }
    const [lastGenerated, added] = info
    const recreated = Number(added) < entriesAdded
    entriesAdded = Number(added) || 0
    if (compareIds(lastGenerated, lastId) < 0) {
      lastId = '0-0'
      return recover()
    }
    if (recreated) recover()
  }

  // Answers the reader may have missed, from where the worker leaves them: a job is kept, with its
  // sealed result or failure, until its caller reads it or for the tier's timeout (`keep`), so
  // every call still pending finds its answer there. One round trip for them all; one fetch at a
  // time, and another after it if more was asked meanwhile.
  let recovery
  function recover() {
    if (recovery) return void (recovery.again = true)
    recovery = { again: true }
    ;(async () => {
      while (recovery.again && !readerStopped) {
        recovery.again = false
        await fetchAnswers().catch(() => {})
      }
      recovery = undefined
    })()
  }

  async function fetchAnswers() {
    // Not only those Redis has acknowledged: an add's reply may still be unread behind a stall.
    const calls = [...pending.values()].filter((call) => !call.answered && !call.local)
    if (calls.length === 0 || !up || hung) return
    const pipeline = producer.pipeline()
    for (const call of calls) pipeline.hmget(queue.toKey(call.id), 'timestamp', 'finishedOn', 'returnvalue', 'failedReason')
    const replies = await pipeline.exec()
    calls.forEach((call, i) => {
      const [err, [timestamp, finishedOn, returnvalue, failedReason] = []] = replies[i]
      if (err || pending.get(call.id) !== call) return
      if (timestamp === null) return void (call.expiring && (counters.recovered++, onRemoved(call.id))) // removed
      if (finishedOn === null) return // waiting or in a worker's hands: its events are still to come
      counters.recovered++
      if (returnvalue !== null) onResult(call.id, parseJson(returnvalue))
      else onFailed(call.id, failedReason)
    })
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
  // A finished job, its sealed result with it, is kept for the tier's timeout (BullMQ's age, in
  // whole seconds, from when it finished; removed as later jobs finish): past that its caller has
  // given up. So a call whose answer the reader missed finds it there (`recover`).
  const keep = { age: Math.ceil(timeout / 1000) }

  // Settles `call` once: with `err`, or with `value`. The first outcome wins; the job of a call that
  // ends without its result (timeout, abort) is removed.
  function finish(call, err, value) {
    if (pending.get(call.id) !== call) return
    pending.delete(call.id)
    clearTimeout(call.timer)
    if (err) call.local?.cancel() // a local fallback still computing: drop it
    if (err && call.added && !call.answered) abandon(call)
    if (err) call.reject(err)
    else call.resolve(value)
  }

  // Finished jobs are kept for callers that missed their answer (`keep`); one whose answer its
  // caller has read goes soon, with all those read within FORGET_MS, in one round trip.
  const answered = []
  function forget(id) {
    if (answered.push(id) === 1) setTimeout(removeAnswered, FORGET_MS).unref()
  }
  function removeAnswered() {
    const ids = answered.splice(0)
    if (ids.length === 0 || !up || hung) return // else left to `keep`
    const { completed, failed } = queue.keys
    producer.pipeline().unlink(...ids.map((id) => queue.toKey(id))).zrem(completed, ...ids).zrem(failed, ...ids).exec().catch(() => {})
  }

  // A call that ended without its answer (timed out, aborted, expired): its job is removed if no
  // worker holds it, else once its worker finishes it, by the call's deadline (the worker drops it
  // there). Until then it is watched for (`onEvent`), and close() waits for it.
  const abandoned = new Map() // job id → { ended(), gone: resolved once ended }
  function abandon(call) {
    removeJob(call.id)
    if (abandoned.has(call.id)) return
    const watch = {}
    watch.gone = new Promise((resolve) => {
      const timer = setTimeout(() => watch.ended(), Math.max(0, call.deadline - Date.now())).unref()
      watch.ended = () => {
        clearTimeout(timer)
        abandoned.delete(call.id)
        resolve()
      }
    })
    abandoned.set(call.id, watch)
  }

  function removeJob(id) {
    if (up && !hung) queue.remove(id).catch(() => {}) // a job a worker holds finishes and removes itself
  }

  function onResult(id, sealed) {
    const call = pending.get(id)
    if (!call) return // another client's job, or one that has ended
    call.answered = true
    forget(id)
    const result = envelope.openResult(key, name, id, sealed)
    const expected = RESULT_TYPES[call.op]
    // A native failure of the worker's binding: the facade words it from the package's table.
    const failure = fromWire(result?.error)
    if (failure?.code === 'Deadline') counters.expired++
    if (failure) return finish(call, failure)
    if (result?.expired) return finish(call, (counters.timedOut++, error('QueueTimeout', timeout)))
    if (!result || typeof result.value !== expected) return finish(call, (counters.tampered++, error('QueueTampered')))
    counters.completed++
    finish(call, undefined, call.op === 'argon2HashRaw' ? Buffer.from(result.value, 'base64') : result.value)
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
    forget(id)
    const refusal = envelope.refusalOf(reason)
    if (refusal) return finish(call, (counters.tampered++, error('QueueRefused', refusal)))
    counters.failed++
    finish(call, error('QueueFailed', reasonOf(reason)))
  }

  // `maxWaiting`, across every caller of the queue in any process: checking the jobs waiting and
  // then adding one are two round trips, between which any number of other calls could check too
  // (500 calls made in one tick all saw an empty queue). So the check also reserves a place, in
  // one script (atomic in Redis): a sorted set of the calls between their check and their add,
  // counted as waiting. Each reservation is dropped once its job is added (or not) and lapses by
  // itself after twice `commandTimeout`, longer than the add may take, so that a caller that dies
  // in between holds no place for good. The reservation's clock is Redis's (TIME), the same for
  // every caller. Anyone who can write Redis can write the set too: a reservation that lapses later
  // than this caller's would (+inf: every call refused for good) is dropped, and so is a key of
  // another type (every call failed as unavailable).
  const admissionKey = queue.toKey('admission')
  producer.defineCommand('bcryptOffloadAdmit', {
    numberOfKeys: 3,
    lua: `
      local time = redis.call('TIME')
      local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
      if redis.call('TYPE', KEYS[3])['ok'] ~= 'zset' then redis.call('DEL', KEYS[3]) end
      redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
      redis.call('ZREMRANGEBYSCORE', KEYS[3], '(' .. (now + tonumber(ARGV[3])), '+inf')
      local waiting = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('ZCARD', KEYS[3])
      if waiting >= tonumber(ARGV[1]) then return 0 end
      redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[2])
      redis.call('PEXPIRE', KEYS[3], ARGV[3])
      return 1`,
  })

  // BullMQ's add writes the events stream too, so a stream whose last id is the largest there is
  // (an XADD with that id: no later id exists, even after XDEL) or a key of another type there made
  // every add fail. Its answers are kept in their jobs too, so the stream is deleted (the reader
  // then fetches them: `check`) and the add tried once more. Only then: the script deletes the key
  // only if it is not a stream or can take no more entries (1), with what the failed add left: its
  // job's hash, written before its first XADD (bullmq 6.7.0, includes/storeJob.lua), which would
  // make the next add of that id a no-op ("duplicated"). A failed add is for `stats()` a tier
  // that cannot take calls.
  const POISONED = /exhausted the last possible ID|WRONGTYPE/i
  let addsFailing = false // the last add failed (cleared by one that does not)
  producer.defineCommand('bcryptOffloadClearEvents', {
    numberOfKeys: 2,
    lua: `
      local kind = redis.call('TYPE', KEYS[1])['ok']
      if kind == 'none' then return 0 end
      if kind == 'stream' then
        local x = redis.call('XINFO', 'STREAM', KEYS[1])
        for i = 1, #x, 2 do
          if x[i] == 'last-generated-id' and x[i + 1] ~= '18446744073709551615-18446744073709551615' then return 0 end
        end
      end
      redis.call('DEL', KEYS[1], KEYS[2])
      return 1`,
  })

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
    const call = { id, op, cls: schedule.class ?? 1, key: schedule.key, startBy, deadline: now + timeout, added: false, answered: false }
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
        const admitted = await producer.bcryptOffloadAdmit(queue.keys.wait, queue.keys.prioritized, admissionKey, maxWaiting, call.id, 2 * commandTimeout)
        if (!admitted) return finish(call, (counters.refused++, error('QueueWaitingFull', maxWaiting)))
        call.reserved = true
        if (!pending.has(call.id)) return
      }
      const priority = priorityOf(call.cls, call.op, compareFirst)
      const job = [jobName(call.op), { k: keyId, s: sealed }, { jobId: call.id, priority, removeOnComplete: keep, removeOnFail: keep }]
      await queue.add(...job).catch(async (err) => {
        if (!POISONED.test(err?.message) || !(await producer.bcryptOffloadClearEvents(eventsKey, queue.toKey(call.id)))) throw err
        return queue.add(...job)
      })
      addsFailing = false
      call.added = true
      counters.added++
      if (!pending.has(call.id) && !call.answered) abandon(call) // ended (aborted, expired) while being added
    } catch (err) {
      // Redis's own refusal (not Redis being down, which `up` and `hung` say).
      if (err?.code !== 'ERR_BCRYPT_QUEUE_UNAVAILABLE' && !/timed out/i.test(err?.message)) addsFailing = true
      if (!pending.has(call.id)) return
      if (/timed out/i.test(err?.message)) probe()
      if (local) return runLocally(call, local)
      counters.unavailable++
      finish(call, err?.code === 'ERR_BCRYPT_QUEUE_UNAVAILABLE' ? err : error('QueueUnavailable', reasonOf(err)))
    } finally {
      if (local && typeof local.data !== 'string') local.data.fill(0)
      // Added, or not to be: the job counts for itself now (a moment twice, never not at all).
      if (call.reserved && up && !hung) producer.zrem(admissionKey, call.id).catch(() => {})
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
    operations.run(call.op, local.data, local.setting, { cancellation, schedule }).then(
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
  // argon2 as a backend (lib/argon2/api.js): each call a job too, within what a request carries
  // (envelope.js, ARGON2_LIMITS; past it, ERR_BCRYPT_QUEUE_ARGON2_LIMIT before anything is sealed).
  const limits = envelope.ARGON2_LIMITS
  const lengthOf = (data) => (typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : passwordBytes(data).length)
  function carried(what, length, limit, unit = ' bytes') {
    if (length > limit) throw error('QueueArgon2Limit', what, `${length}${unit}`, `${limit}${unit}`)
  }
  function argon2Request(password, job) {
    carried('the password', lengthOf(password), limits.password)
    for (const name of ['salt', 'secret', 'associatedData']) if (job[name] != null) carried(`options.${name}`, lengthOf(job[name]), limits[name])
    if (job.hashLength !== undefined) carried('options.hashLength', job.hashLength, limits.hashLength, '')
    if (job.digest !== undefined) carried('the digest', job.digest.length, limits.digest, ' characters')
    return envelope.argon2Setting(job)
  }
  const remoteArgon2 = {
    hash: (password, job, call) => submit('argon2Hash', password, argon2Request(password, job), call),
    hashRaw: (password, job, call) => submit('argon2HashRaw', password, argon2Request(password, job), call),
    // As the local pool: a string that is not a well-formed argon2 hash is `false`, nothing queued.
    verify: (digest, password, secret, call) =>
      binding.argon2Info(digest) ? submit('argon2Verify', password, argon2Request(password, { digest, secret }), call) : Promise.resolve(false),
    cancellation: () => new RemoteCancellation(),
  }
  const argon2Facade = createArgon2(binding, remoteArgon2)

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
      // Jobs still finishing for calls that have ended, so that they do not outlive the client in
      // Redis (while Redis answers: else they are left to `keep`).
      if (up && !hung) await Promise.all([...abandoned.values()].map((watch) => watch.gone))
      clearInterval(announcer)
      wake(error('QueueClosed'))
      removeAnswered() // now, before the connection closes
      // The reader's blocking read is cut at once: no call is left to answer.
      readerStopped = true
      reader.disconnect()
      // Gracefully while Redis answers; a dead or hung one must not hold a shutdown up, so after
      // `commandTimeout` the connections are dropped.
      const graceful = queue.close().then(() => producer.quit())
      await Promise.race([graceful.catch(() => {}), sleep(commandTimeout, undefined, { ref: false })])
      producer.disconnect()
      link.close()
    })()
    return closing
  }

  /** Resolves once Redis has answered and the event reader is set (there is no timeout here). */
  const ready = () => readiness

  // `connected`: calls can be sent and their answers read.
  const stats = () => ({ pending: pending.size, connected: up && !hung && !addsFailing && readerState === 'running', reader: readerState, ...counters })

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
    /**
     * argon2 (bcrypt-offload/argon2's hash, verify and needsRehash, their options and errors)
     * computed by the workers; needsRehash, which only reads the digest, here.
     */
    argon2: Object.freeze({
      argon2d: argon2Facade.argon2d,
      argon2i: argon2Facade.argon2i,
      argon2id: argon2Facade.argon2id,
      defaults: argon2Facade.defaults,
      hash: argon2Facade.hash,
      verify: argon2Facade.verify,
      needsRehash: argon2Facade.needsRehash,
    }),
    /** The BullMQ queue (for monitoring: counts, metrics); jobs go through the calls above. */
    queue,
  }
  client.default = client
  return client
}

module.exports = { connect, DEFAULTS, priorityOf, READS }
