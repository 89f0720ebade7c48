'use strict'

// The package's API as a function of its native binding and a backend: `createBcrypt(binding,
// backend)`. It exists because
// bcrypt's call forms are JavaScript conventions that belong here rather than in Rust: optional
// callbacks and argument shuffling, errors handed to the callback on the next tick, a Promise when no
// callback is given, rounds given as a number. Every user-facing check is made here, and every error
// comes from the one table in `errors.js`. Taking the binding as an argument lets the tests drive
// the facade with a fake one (`__test__/facade.test.js`); `index.js` plugs in the real one.
//
// The backend is what computes the asynchronous calls: the local pool (`localBackend`, over the
// binding) or the queue tier (lib/queue/client.js). It is an interface, documented below: a new
// backend is a new object that implements it, never a patched copy of the binding. Everything else
// (salts, the format checks, the sync calls, configure, stats) is the binding's, and local.

const { randomBytes } = require('node:crypto')
const os = require('node:os')
const { types } = require('node:util')

const promises = require('../promises.js')
const { createErrors, AbortError } = require('./errors.js')

/** The binding contract this facade speaks; the binding exports its own as `API_VERSION`. */
const API_VERSION = 3

const DEFAULT_ROUNDS = 10

// The scheduling classes, in the binding's order (src/pool/queue.rs, `Class`).
const PRIORITIES = ['high', 'normal', 'low']
// Node's timers hold at most this many ms; a deadline further off is a caller's mistake.
const MAX_TIMEOUT_MS = 2 ** 31 - 1
// A fair-share key is an address or an account name, not a document: bounded so that a caller
// passing user input through cannot make the pool keep megabytes per queued job.
const MAX_KEY_LENGTH = 1024

// A real Uint8Array (a Buffer is one), checked by its internal slot: `instanceof` also admits proxies
// and objects that merely inherit Uint8Array.prototype, which the addon cannot read. Its length is
// read through the intrinsic getter, which a caller cannot redefine.
const isData = (data) => typeof data === 'string' || types.isUint8Array(data)
const intrinsic = (name) => Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), name).get
const [typedBuffer, typedByteOffset, typedByteLength] = ['buffer', 'byteOffset', 'byteLength'].map(intrinsic)
const byteLength = (data) => (typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : typedByteLength.call(data))

/**
 * The bytes the binding reads of a password `isData` admits: a string's UTF-8 (a new Buffer, which
 * the caller zeroes), or a plain view of a Uint8Array's own memory, found through the intrinsic
 * getters as the addon finds it (never the array's own `length`, `buffer` or `byteOffset`, which a
 * caller can redefine; a detached one has none). For a backend that must copy or send a password.
 */
function passwordBytes(data) {
  if (typeof data === 'string') return Buffer.from(data, 'utf8')
  const length = typedByteLength.call(data)
  return length === 0 ? new Uint8Array(0) : new Uint8Array(typedBuffer.call(data), typedByteOffset.call(data), length)
}

// Callback-style calls are settled on the next tick, as bcrypt's native callbacks arrive, so that a
// throwing callback surfaces as an uncaught exception rather than a swallowed rejection.
const callBackValue = (cb, value) => process.nextTick(cb, undefined, value)

// bcrypt's forms are (…, cb); ours add (…, options) and (…, options, cb). Returns [options, cb].
function splitOptions(third, fourth) {
  if (third !== null && typeof third === 'object') return [third, fourth]
  if (third == null && typeof fourth === 'function') return [undefined, fourth]
  return [undefined, third]
}

/**
 * The interface every backend implements. Each call is handed the password (a string or bytes,
 * read before the call returns and never kept), what to compute with (a salt or stored hash, or a
 * cost), and a `job`: `{ cancellation, schedule }`, either absent. `schedule` is
 * `{ class: 0 | 1 | 2, key?: string, timeoutMs?: number }` (high, normal, low; see `scheduleOf`).
 * Failures reject with an error the facade's `fromNative` words (a native kind, lib/errors.js) or
 * with an error that already has its `code`.
 *
 * @typedef {object} Backend
 * @property {(data: string | Uint8Array, salt: string | NewSalt, job: Job) => Promise<string>} hash
 *   a salt string (or a whole hash), or `{ cost, seed }` (16 random bytes) for a new `$2b$` salt
 * @property {(data: string | Uint8Array, hash: string, job: Job) => Promise<boolean>} compare
 *   a string that is not a well-formed hash resolves `false` with nothing computed
 * @property {(data: string | Uint8Array, cost: number, job: Job) => Promise<false>} compareUnknown
 *   a compare's work at `cost` for an account that does not exist
 * @property {() => Cancellation} cancellation a handle for one call: `cancel()` drops it wherever it
 *   is; `expire()` drops it only if it has not started, and says whether it did
 *
 * @typedef {{ cancellation?: Cancellation, schedule?: object }} Job
 * @typedef {{ cancel(): void, expire(): boolean }} Cancellation
 * @typedef {{ cost: number, seed: Uint8Array }} NewSalt
 */

// A new `$2b$` salt as the binding takes it: the cost and 16 bytes from the synchronous CSPRNG (it
// takes microseconds, and the asynchronous one would queue on libuv's threadpool, which this
// package exists to keep free). The binding encodes it into the hash it returns: one crossing.
const newSalt = (cost) => ({ cost, seed: randomBytes(16) })

/** The local pool as a backend: the binding's own calls. */
function localBackend(binding) {
  return {
    hash: (data, salt, job) => binding.hash(data, salt, job.cancellation, job.schedule),
    compare: (data, hash, job) => binding.compare(data, hash, job.cancellation, job.schedule),
    // The salt's 16 bytes from the synchronous CSPRNG, as for every salt here (see `makeSalt`).
    compareUnknown: (data, cost, job) => binding.compareUnknown(data, newSalt(cost), job.cancellation, job.schedule),
    cancellation: () => new binding.Cancellation(),
  }
}

/**
 * The plumbing every facade over the pool shares (bcrypt's here, argon2's in lib/argon2/, the KDFs'
 * in lib/kdf.js): binding calls whose errors are worded from the table, the options object and its
 * signal, the schedule (`{ priority, key, timeout, deadline }`), and the wrapper that ties a queued
 * job to its signal and deadline. `cancellation` makes a backend's handle for one call.
 */
function createCalls({ error, fromNative, RANGES }, cancellation) {
  // A binding call whose errors reach the user worded from the table.
  function sync(call) {
    try {
      return call()
    } catch (err) {
      throw fromNative(err)
    }
  }
  const rethrow = (err) => {
    throw fromNative(err)
  }
  const async = (call) => sync(call).then(undefined, rethrow)

  // Options are a plain object. Anything else in that place (an AbortSignal passed bare, a Buffer,
  // an array) is a mistake that would otherwise be read as empty options and silently ignored.
  function optionsOf(options) {
    if (options === undefined || options === null) return undefined
    if (Object.prototype.toString.call(options) !== '[object Object]') throw error('NotPlainObject', 'options')
    return options
  }

  // An AbortSignal, or anything shaped like one (the three members used here), as Node's own APIs
  // accept.
  function signalOf(options) {
    const signal = options?.signal
    if (signal === undefined) return undefined
    if (
      signal === null ||
      typeof signal !== 'object' ||
      typeof signal.aborted !== 'boolean' ||
      typeof signal.addEventListener !== 'function' ||
      typeof signal.removeEventListener !== 'function'
    ) {
      throw error('NotSignal')
    }
    return signal
  }

  // How the pool schedules a call (`{ priority, key, timeout, deadline }`), checked, as the binding
  // takes it: `{ class, key, timeoutMs }`, or undefined for the defaults. The pool (src/pool/)
  // orders, bounds and refuses; this only checks and converts. With both a timeout and a
  // deadline, the earlier one counts.
  function scheduleOf(options) {
    if (options === undefined) return undefined
    const { priority, key, timeout, deadline } = options
    if (priority === undefined && key === undefined && timeout === undefined && deadline === undefined) return undefined
    let cls = 1
    if (priority !== undefined) {
      if (typeof priority !== 'string') throw error('NotPriority', typeof priority)
      cls = PRIORITIES.indexOf(priority)
      if (cls < 0) throw error('BadPriority')
    }
    if (key !== undefined && typeof key !== 'string') throw error('NotString', 'options.key')
    if (key !== undefined && key.length > MAX_KEY_LENGTH) throw error('OutOfRange', 'options.key', RANGES.key)
    const waits = []
    if (timeout !== undefined) {
      if (typeof timeout !== 'number') throw error('NotNumber', 'options.timeout')
      if (!(timeout >= 0 && timeout <= MAX_TIMEOUT_MS)) throw error('OutOfRange', 'options.timeout', RANGES.timeout)
      waits.push(timeout)
    }
    if (deadline !== undefined) {
      const at = types.isDate(deadline) ? deadline.getTime() : deadline
      if (typeof at !== 'number') throw error('NotNumber', 'options.deadline')
      if (!Number.isFinite(at)) throw error('OutOfRange', 'options.deadline', RANGES.deadline)
      // Past: zero, which the pool refuses at once. Beyond the timers' reach: the same refusal as a
      // timeout that far off.
      const ms = Math.max(0, at - Date.now())
      if (ms > MAX_TIMEOUT_MS) throw error('OutOfRange', 'options.deadline', RANGES.deadline)
      waits.push(ms)
    }
    return { class: cls, key, timeoutMs: waits.length ? Math.min(...waits) : undefined }
  }

  // Queues `run(job)` on the backend, tied to `signal` and the schedule's
  // deadline. An aborted signal rejects before queueing; an abort later drops the job (from the
  // queue, or from its lane at the next step) and rejects at once with an AbortError whose cause is
  // the signal's reason. The listener is added before the job is queued and removed before the
  // call settles, so whatever the signal's own methods throw becomes this call's error: nothing is
  // left running, nothing rejects unhandled. A deadline that passes while the job still waits drops
  // it uncomputed and rejects at once (ERR_BCRYPT_DEADLINE); a job that started by then finishes.
  function cancellable(signal, schedule, run) {
    const timeoutMs = schedule?.timeoutMs
    if (!signal && timeoutMs === undefined) return async(() => run({ schedule }))
    if (signal?.aborted) throw new AbortError(signal.reason)
    const handle = cancellation()
    let settle
    let timer
    const result = new Promise((resolve, reject) => {
      let settled = false
      settle = (ok, outcome) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        try {
          signal?.removeEventListener('abort', onAbort)
          ;(ok ? resolve : reject)(outcome())
        } catch (err) {
          reject(err)
        }
      }
    })
    const onAbort = () => {
      handle.cancel()
      settle(false, () => new AbortError(signal.reason))
    }
    try {
      signal?.addEventListener('abort', onAbort, { once: true })
    } catch (err) {
      result.catch(() => {}) // never handed out: the throw is the call's error
      throw err
    }
    let pending
    try {
      pending = run({ cancellation: handle, schedule })
    } catch (err) {
      settle(false, () => fromNative(err))
      return result
    }
    if (timeoutMs !== undefined) {
      // The pool drops an expired job when a worker reaches it; this answers at the deadline
      // itself. Unreferenced: a pending deadline keeps no process alive.
      timer = setTimeout(() => {
        if (handle.expire()) settle(false, () => error('Deadline', { waitMs: null }))
      }, timeoutMs)
      timer.unref?.()
    }
    pending.then(
      (value) => settle(true, () => value),
      (err) => settle(false, () => fromNative(err)),
    )
    return result
  }

  return { sync, async, optionsOf, signalOf, scheduleOf, cancellable }
}

function createBcrypt(binding, backend = localBackend(binding)) {
  const errors = createErrors(binding)
  const { error, fromNative, RANGES } = errors
  if (binding.API_VERSION !== API_VERSION) throw error('ApiMismatch', binding.API_VERSION, API_VERSION)
  const { sync, async, optionsOf, signalOf, scheduleOf, cancellable } = createCalls(errors, () => backend.cancellation())
  // The limits live in Rust; these are the values it exports.
  const { MIN_COST, MAX_COST, MAX_PASSWORD_BYTES, MAX_THREADS, MAX_LANES } = binding

  // Under WASI the pool would see one core (and start one thread) whatever the host has: give it
  // Node's count instead, unless the environment sets one. A pool another instance of this module
  // already started keeps its size.
  if (binding.COUNTS_CORES === false && process.env.BCRYPT_OFFLOAD_THREADS === undefined) {
    try {
      binding.configure({ threads: Math.min(os.availableParallelism(), MAX_THREADS) })
    } catch (err) {
      if (fromNative(err).code !== 'ERR_BCRYPT_POOL_STARTED') throw fromNative(err)
    }
  }

  // A callback tells failure by a truthy first argument, so a falsy thrown value (a caller's getter
  // that throws `undefined`, say) is wrapped, as util.callbackify wraps it.
  function callBackError(cb, err) {
    if (!err) {
      const reason = err
      err = error('FalsyRejection')
      err.reason = reason
    }
    process.nextTick(cb, err)
  }

  // Runs `start` (which may throw) and delivers its promise's outcome the way the call asked for.
  function deliver(cb, start) {
    let promise
    try {
      promise = start()
    } catch (err) {
      return cb ? callBackError(cb, err) : promises.reject(err)
    }
    if (!cb) return promises.adopt(promise)
    promise.then((value) => callBackValue(cb, value), (err) => callBackError(cb, err))
  }

  // bcrypt reads 72 bytes of a password and ignores the rest. Off by default, as in bcrypt; a
  // setting of this module instance (each worker thread loads its own).
  let rejectLongByDefault = false

  // With rejectLongPasswords, hashing a password bcrypt would cut short is refused. The message
  // gives the length, never the password.
  function checkLength(data, options) {
    const reject = options?.rejectLongPasswords ?? rejectLongByDefault
    if (typeof reject !== 'boolean') throw error('NotBoolean', 'options.rejectLongPasswords')
    const length = reject ? byteLength(data) : 0
    if (length > MAX_PASSWORD_BYTES) throw error('PasswordTooLong', length, MAX_PASSWORD_BYTES)
  }

  const clampCost = (cost) => Math.min(MAX_COST, Math.max(MIN_COST, cost))

  // bcrypt's cost from a user's `rounds`: absent, 0 or NaN mean 10; otherwise whole, clamped to 4..31
  // as bcrypt clamps (bcrypt first truncates to 8 bits, so that 260 means 4 and -1 means 31; we don't).
  function costOf(rounds) {
    if (!rounds) return DEFAULT_ROUNDS
    if (typeof rounds !== 'number') throw error('RoundsNotNumber')
    return clampCost(Math.trunc(rounds))
  }

  function minorOf(minor) {
    if (!minor) return 'b'
    if (minor !== 'a' && minor !== 'b') throw error('BadMinor')
    return minor
  }

  // The 16 salt bytes come from the synchronous CSPRNG: it takes microseconds, and the asynchronous
  // one would queue on libuv's threadpool, which this package exists to keep free.
  function makeSalt(rounds, minor) {
    const letter = minorOf(minor)
    const cost = costOf(rounds)
    return sync(() => binding.encodeSalt(letter, cost, randomBytes(16)))
  }

  /**
   * A salt for `hash`: `$2b$` (or `$2a$` with minor 'a'), the cost, 22 characters of randomness.
   */
  function genSaltSync(rounds, minor) {
    return makeSalt(rounds, minor)
  }

  function genSalt(rounds, minor, cb) {
    if (typeof rounds === 'function') {
      cb = rounds
      rounds = undefined
      minor = undefined
    } else if (typeof minor === 'function') {
      cb = minor
      minor = undefined
    }
    if (cb && typeof cb !== 'function') return promises.reject(error('CallbackNotFunction'))
    return deliver(cb, () => Promise.resolve(makeSalt(rounds, minor)))
  }

  // bcrypt's checks of hash's arguments, then ours; returns the salt to hash with: the caller's
  // string, or a new one for a number of rounds.
  function hashSetting(data, salt, options) {
    if (data == null || salt == null) throw error('DataAndSaltRequired')
    if (!isData(data) || (typeof salt !== 'string' && typeof salt !== 'number')) throw error('HashArgTypes')
    checkLength(data, optionsOf(options))
    return typeof salt === 'number' ? newSalt(costOf(salt)) : salt
  }

  function hashSync(data, salt, options) {
    const setting = hashSetting(data, salt, options)
    return sync(() => binding.hashSync(data, setting))
  }

  function hash(data, salt, optionsOrCb, maybeCb) {
    // bcrypt reports a callback in the data or salt position to that callback.
    if (typeof data === 'function') return callBackError(data, error('HashArgTypes'))
    if (typeof salt === 'function') return callBackError(salt, error('HashArgTypes'))
    const [options, cb] = splitOptions(optionsOrCb, maybeCb)
    if (cb && typeof cb !== 'function') return promises.reject(error('CallbackNotFunction'))
    return deliver(cb, () => {
      const setting = hashSetting(data, salt, options)
      const opts = optionsOf(options)
      return cancellable(signalOf(opts), scheduleOf(opts), (job) => backend.hash(data, setting, job))
    })
  }

  function compareSync(data, hash) {
    if (data == null || hash == null) throw error('DataAndHashRequired')
    if (!isData(data) || typeof hash !== 'string') throw error('CompareSyncArgTypes')
    return sync(() => binding.compareSync(data, hash))
  }

  function compare(data, hash, optionsOrCb, maybeCb) {
    if (typeof data === 'function') return callBackError(data, error('DataAndHashRequired'))
    if (typeof hash === 'function') return callBackError(hash, error('DataAndHashRequired'))
    const [options, cb] = splitOptions(optionsOrCb, maybeCb)
    if (cb && typeof cb !== 'function') return promises.reject(error('CallbackNotFunction'))
    return deliver(cb, () => {
      if (data == null || hash == null) throw error('DataAndHashRequired')
      if (!isData(data) || typeof hash !== 'string') throw error('CompareArgTypes')
      const opts = optionsOf(options)
      return cancellable(signalOf(opts), scheduleOf(opts), (job) => backend.compare(data, hash, job))
    })
  }

  /**
   * A compare's work for an account that does not exist: the password hashed at `rounds` (default
   * 10) under a fresh random salt, queued and scheduled as a compare, resolving `false`. Call it
   * where the account lookup fails, so that "no such user" costs what "wrong password" costs.
   */
  function compareUnknown(data, optionsOrCb, maybeCb) {
    if (typeof data === 'function') return callBackError(data, error('DataRequired'))
    const [options, cb] = splitOptions(optionsOrCb, maybeCb)
    if (cb && typeof cb !== 'function') return promises.reject(error('CallbackNotFunction'))
    return deliver(cb, () => {
      if (data == null) throw error('DataRequired')
      if (!isData(data)) throw error('DataArgType')
      const opts = optionsOf(options)
      const cost = costOf(opts?.rounds)
      return cancellable(signalOf(opts), scheduleOf(opts), (job) => backend.compareUnknown(data, cost, job))
    })
  }

  /** The same on the calling thread: the work of `compareSync` at `rounds`, answering `false`. */
  function compareUnknownSync(data, rounds) {
    if (data == null) throw error('DataRequired')
    if (!isData(data)) throw error('DataArgType')
    sync(() => binding.hashSync(data, newSalt(costOf(rounds))))
    return false
  }

  function getRounds(hash) {
    if (hash == null) throw error('HashRequired')
    if (typeof hash !== 'string') throw error('HashNotString')
    return sync(() => binding.getRounds(hash))
  }

  // bcryptjs's extras, with its messages.

  function getSalt(hash) {
    if (typeof hash !== 'string') throw error('IllegalArguments', typeof hash)
    if (hash.length !== 60) throw error('IllegalHashLength', hash.length)
    return hash.substring(0, 29)
  }

  function truncates(password) {
    if (!isData(password)) throw error('IllegalArguments', typeof password)
    return byteLength(password) > MAX_PASSWORD_BYTES
  }

  /**
   * Whether a stored hash was made with other settings than those given (defaults: 10 rounds, minor
   * 'b'), so that it should be replaced after the next successful login. A string that is not a
   * well-formed hash needs one too.
   */
  function needsRehash(hash, options = {}) {
    if (typeof hash !== 'string') throw error('HashNotString')
    if (options === null || typeof options !== 'object') throw error('NotObject', 'options')
    const info = binding.hashInfo(hash)
    return !info || info.cost !== costOf(options.rounds) || info.minor !== minorOf(options.minor)
  }

  function checkTarget(targetMs) {
    if (typeof targetMs !== 'number' || !(targetMs > 0) || !Number.isFinite(targetMs)) {
      throw error('OutOfRange', 'targetMs', RANGES.targetMs)
    }
  }

  /**
   * The cost whose hash takes about `targetMs` on this machine, timed on the calling thread: the
   * kernel's own time, not any queue's.
   */
  function calibrateSync(targetMs) {
    checkTarget(targetMs)
    return sync(() => binding.calibrateSync(targetMs))
  }

  /** The same, timed on a thread of its own, off the event loop and off the pool. */
  function calibrate(targetMs) {
    return deliver(undefined, () => {
      checkTarget(targetMs)
      return async(() => binding.calibrate(targetMs))
    })
  }

  /**
   * Sets the pool's size, lanes, queue bound and order, the bytes its argon2 and scrypt jobs may
   * hold together (`argon2MemoryBudget`), and the default of `rejectLongPasswords`.
   * `threads` only before the first asynchronous call (afterwards only the count already running
   * is accepted); the others at any time.
   */
  function configure(options) {
    if (options === null || typeof options !== 'object') throw error('NotObject', 'options')
    const { threads, lanes, maxQueue, compareFirst, rejectLongPasswords, argon2MemoryBudget } = options
    // Everything is checked before anything is applied, so that a call that throws changes nothing.
    for (const [name, value] of Object.entries({ rejectLongPasswords, compareFirst })) {
      if (value !== undefined && typeof value !== 'boolean') throw error('NotBoolean', name)
    }
    if (lanes !== undefined && lanes !== 'auto' && (!Number.isInteger(lanes) || lanes < 1 || lanes > MAX_LANES)) {
      throw error('OutOfRange', 'lanes', RANGES.lanes)
    }
    if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS)) {
      throw error('OutOfRange', 'threads', RANGES.threads)
    }
    if (argon2MemoryBudget !== undefined && (!Number.isSafeInteger(argon2MemoryBudget) || argon2MemoryBudget < 1)) {
      throw error('OutOfRange', 'argon2MemoryBudget', RANGES.memoryBudget)
    }
    // No bound crosses as an absent one (napi reads null as no number).
    const bounds = maxQueueOf(maxQueue).map(([priority, bound]) => (bound === null ? { priority } : { priority, maxQueue: bound }))
    // One crossing, all or nothing: the pool makes the one refusal left (another size once it
    // runs) before it applies anything.
    sync(() => binding.configure({ threads, lanes, maxQueue: bounds, compareFirst, memoryBudget: argon2MemoryBudget }))
    if (rejectLongPasswords !== undefined) rejectLongByDefault = rejectLongPasswords
  }

  // `maxQueue` as [class, bound] pairs, every bound checked first: a number (or
  // Infinity, or null for none) bounds each class alike; `{ high, normal, low }` bounds the classes
  // it names.
  function maxQueueOf(maxQueue) {
    if (maxQueue === undefined) return []
    const boundOf = (value, name) => {
      if (value === null || value === Infinity) return null
      if (!Number.isInteger(value) || value < 0 || value > 2 ** 32 - 1) throw error('OutOfRange', name, RANGES.maxQueue)
      return value
    }
    if (maxQueue === null || typeof maxQueue !== 'object') {
      const bound = boundOf(maxQueue, 'maxQueue')
      return PRIORITIES.map((_, cls) => [cls, bound])
    }
    const unknown = Object.keys(maxQueue).find((name) => !PRIORITIES.includes(name))
    if (unknown !== undefined) throw error('BadPriority')
    return PRIORITIES.flatMap((name, cls) =>
      maxQueue[name] === undefined ? [] : [[cls, boundOf(maxQueue[name], `maxQueue.${name}`)]],
    )
  }

  /**
   * The pool's counters and the queue-wait and compute-time histograms, the same by scheduling
   * class, and the lanes: how many, chosen how, and what each count measured as a multiple of one
   * lane's throughput.
   */
  function stats() {
    const { laneThroughput, classes, ...s } = sync(() => binding.poolStats())
    const laneSpeedup = laneThroughput && laneThroughput.map((t) => t / laneThroughput[0])
    const byClass = Object.fromEntries(
      PRIORITIES.map((name) => [name, { ...classes[name], maxQueue: classes[name].maxQueue ?? Infinity }]),
    )
    return { ...s, laneSpeedup, maxQueue: s.maxQueue ?? Infinity, classes: byClass }
  }

  const bcrypt = {
    genSaltSync,
    genSalt,
    hashSync,
    hash,
    compareSync,
    compare,
    compareUnknown,
    compareUnknownSync,
    getRounds,
    getSalt,
    truncates,
    needsRehash,
    calibrate,
    calibrateSync,
    configure,
    stats,
    AbortError,
  }
  // For TypeScript's `import bcrypt from 'bcrypt-offload'` under CommonJS interop.
  bcrypt.default = bcrypt
  return bcrypt
}

module.exports = { createBcrypt, createCalls, localBackend, passwordBytes, API_VERSION }
