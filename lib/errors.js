'use strict'

// Every error the package makes, in one table: its class, its Node-style `code` and its message.
// The facade owns them all, because the messages are bcrypt 6's and bcryptjs 3's word for word and
// the three forms that deliver them (a throw, a rejection, a callback) are JS conventions. The
// binding never words a message: it throws a plain Error whose `code` is one of the native kinds
// below (`InvalidSalt`, `QueueFull`, …) with the facts as properties, and `fromNative` words it here.
// A new error is one row in this table and one `error(...)` call where it happens (plus, for a
// native one, its kind in src/bindings/error.rs). The queue tier words its own (lib/queue/errors.js).

// The native kinds (src/bindings/error.rs), worded from the facts the binding attaches; `envRanges`
// says what each environment variable the pool reads may hold.
// `optionRanges` what each argon2, PBKDF2 and scrypt option may be (`BadOption`).
const nativeRows = (envRanges, optionRanges = {}) => ({
  InvalidSalt: [TypeError, 'ERR_INVALID_ARG_VALUE', () => 'Invalid salt. Salt must be in the form of: $Vers$log2(NumRounds)$saltvalue'],
  InvalidHash: [TypeError, 'ERR_INVALID_ARG_VALUE', () => 'invalid hash provided'],
  QueueFull: [
    Error,
    'ERR_BCRYPT_QUEUE_FULL',
    ({ maxQueue, priority }) => `bcrypt-offload: ${maxQueue} jobs are already queued at priority "${priority}" (maxQueue)`,
  ],
  // waitMs null: the deadline passed while the job waited (the pool, or the facade's timer, said
  // so); a number: refused up front, with the wait the pool foresaw (0: the deadline had passed).
  Deadline: [
    Error,
    'ERR_BCRYPT_DEADLINE',
    ({ waitMs }) => {
      if (waitMs == null) return 'bcrypt-offload: the deadline passed before a lane was free; the job was dropped uncomputed'
      if (waitMs === 0) return 'bcrypt-offload: the deadline had already passed; the job was not queued'
      return `bcrypt-offload: the job cannot start before its deadline (about ${Math.ceil(waitMs)} ms of work is queued ahead of it)`
    },
  ],
  PoolStarted: [
    Error,
    'ERR_BCRYPT_POOL_STARTED',
    ({ running }) => `the pool already runs ${running} threads; call configure() before the first hash or compare`,
  ],
  PoolSpawn: [Error, 'ERR_BCRYPT_POOL_SPAWN', ({ reason }) => `could not start a pool thread: ${reason}`],
  BadEnv: [RangeError, 'ERR_OUT_OF_RANGE', ({ variable, value }) => `${variable} must be ${envRanges[variable]}, got ${JSON.stringify(value)}`],
  BadOption: [RangeError, 'ERR_OUT_OF_RANGE', ({ option }) => `${option} must be ${optionRanges[option]}`],
  MemoryBudget: [
    RangeError,
    'ERR_BCRYPT_MEMORY_BUDGET',
    ({ memory, budget }) =>
      `bcrypt-offload: the job needs ${memory} bytes, more than the pool's whole memory budget of ${budget} (configure({ argon2MemoryBudget }))`,
  ],
  Internal: [Error, 'ERR_BCRYPT_INTERNAL', () => 'bcrypt-offload: internal error while hashing (a bug: please report it)'],
})
const NATIVE_KINDS = new Set(Object.keys(nativeRows({})))

// The binding's failures, recognised here and nowhere else. A native failure is a plain Error whose
// message and `code` are one of the kinds above, its facts its own properties. On the wire (the
// queue tier sends a worker's failure to its caller) it is `{ kind, facts }`, facts being strings,
// numbers, booleans or null.

/** The native kind of what the binding threw or rejected with; `undefined` for any other value. */
function nativeKind(err) {
  // Not `instanceof Error`: the binding's errors come from the realm the addon was loaded in,
  // which under jest or `vm` is not this module's.
  const native = typeof err === 'object' && err !== null && NATIVE_KINDS.has(err.code) && err.message === err.code
  return native ? err.code : undefined
}

const isFact = (value) => value === null || ['string', 'number', 'boolean'].includes(typeof value)

/** A native failure as `{ kind, facts }`; `undefined` for any other value. */
function toWire(err) {
  const kind = nativeKind(err)
  if (kind === undefined) return undefined
  const facts = Object.fromEntries(Object.entries(err).filter(([name, value]) => name !== 'code' && isFact(value)))
  return { kind, facts }
}

/** On the wire, the failure of a job dropped uncomputed because its deadline passed while it waited. */
const DEADLINE_PASSED = Object.freeze({ kind: 'Deadline', facts: Object.freeze({ waitMs: null }) })

/** The native failure `{ kind, facts }` stands for, as the binding throws it; `undefined` if it is none. */
function fromWire(wire) {
  const { kind, facts } = wire ?? {}
  if (!NATIVE_KINDS.has(kind) || facts === null || typeof facts !== 'object' || !Object.values(facts).every(isFact)) return undefined
  const err = new Error(kind)
  Object.assign(err, facts, { code: kind })
  return err
}

/** The table, its `error` and `fromNative`, and the ranges the facade checks, for a binding's limits. */
function createErrors(binding) {
  const { MAX_THREADS, MAX_LANES } = binding
  const lanes = `a whole number from 1 to ${MAX_LANES}`
  const RANGES = {
    threads: `a whole number from 1 to ${MAX_THREADS}`,
    lanes: `${lanes}, or "auto"`,
    maxQueue: 'a whole number from 0 to 2^32-1, or Infinity',
    key: 'a string of at most 1024 characters',
    timeout: 'a number of milliseconds from 0 to 2^31-1',
    deadline: 'a time (Date.now() milliseconds, or a Date) less than 2^31-1 ms from now',
    targetMs: 'a positive number of milliseconds',
    memoryBudget: 'a whole number of bytes from 1 to 2^53-1',
    u32: 'a whole number from 0 to 2^32-1',
  }
  // The limits the binding checks argon2's, PBKDF2's and scrypt's options against.
  const OPTION_RANGES = {
    type: 'argon2d (0), argon2i (1) or argon2id (2)',
    version: '0x10 or 0x13',
    memoryCost: `at least ${binding.ARGON2_MIN_MEMORY_COST_PER_LANE} KiB per lane (${binding.ARGON2_MIN_MEMORY_COST_PER_LANE} × parallelism)`,
    timeCost: 'at least 1',
    parallelism: `a whole number from 1 to ${binding.ARGON2_MAX_PARALLELISM}`,
    hashLength: `at least ${binding.ARGON2_MIN_HASH_LENGTH} bytes`,
    salt: `at least ${binding.ARGON2_MIN_SALT_LENGTH} bytes`,
    associatedData: 'at most 2^32-1 bytes',
    secret: 'at most 2^32-1 bytes',
    iterations: 'at least 1',
    keyLength: `a whole number of bytes from 1 to ${binding.KDF_MAX_KEY_LENGTH}`,
    'N, r, p': "scrypt's: N a power of two from 2 up, r and p at least 1, N < 2^(16·r), r·p < 2^30",
  }
  // What each environment variable the pool reads may hold.
  const ENV_RANGES = {
    BCRYPT_OFFLOAD_THREADS: RANGES.threads,
    BCRYPT_OFFLOAD_LANES: lanes,
    BCRYPT_OFFLOAD_PRIORITY: '"idle" or "normal"',
  }

  const ERRORS = {
    ...nativeRows(ENV_RANGES, OPTION_RANGES),
    // bcrypt's argument errors.
    DataAndSaltRequired: [TypeError, 'ERR_MISSING_ARGS', () => 'data and salt arguments required'],
    DataAndHashRequired: [TypeError, 'ERR_MISSING_ARGS', () => 'data and hash arguments required'],
    HashRequired: [TypeError, 'ERR_MISSING_ARGS', () => 'hash argument required'],
    HashArgTypes: [
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      () => 'data must be a string or Buffer and salt must either be a salt string or a number of rounds',
    ],
    CompareSyncArgTypes: [TypeError, 'ERR_INVALID_ARG_TYPE', () => 'data must be a string or Buffer and hash must be a string'],
    CompareArgTypes: [TypeError, 'ERR_INVALID_ARG_TYPE', () => 'data and hash must be strings'],
    DataRequired: [TypeError, 'ERR_MISSING_ARGS', () => 'data argument required'],
    DataArgType: [TypeError, 'ERR_INVALID_ARG_TYPE', () => 'data must be a string or Buffer'],
    HashNotString: [TypeError, 'ERR_INVALID_ARG_TYPE', () => 'hash must be a string'],
    RoundsNotNumber: [TypeError, 'ERR_INVALID_ARG_TYPE', () => 'rounds must be a number'],
    BadMinor: [TypeError, 'ERR_INVALID_ARG_VALUE', () => 'minor must be either "a" or "b"'],
    CallbackNotFunction: [TypeError, 'ERR_INVALID_ARG_TYPE', () => 'cb must be a function or null to return a Promise'],
    // bcryptjs's, for its extras.
    IllegalArguments: [TypeError, 'ERR_INVALID_ARG_TYPE', (type) => `Illegal arguments: ${type}`],
    IllegalHashLength: [RangeError, 'ERR_OUT_OF_RANGE', (length) => `Illegal hash length: ${length} != 60`],
    // Ours.
    NotPlainObject: [TypeError, 'ERR_INVALID_ARG_TYPE', (what) => `${what} must be a plain object such as { signal }`],
    NotObject: [TypeError, 'ERR_INVALID_ARG_TYPE', (what) => `${what} must be an object`],
    NotBoolean: [TypeError, 'ERR_INVALID_ARG_TYPE', (what) => `${what} must be a boolean`],
    NotString: [TypeError, 'ERR_INVALID_ARG_TYPE', (what) => `${what} must be a string`],
    NotNumber: [TypeError, 'ERR_INVALID_ARG_TYPE', (what) => `${what} must be a number`],
    NotPriority: [TypeError, 'ERR_INVALID_ARG_TYPE', (type) => `options.priority must be a string, got ${type}`],
    BadPriority: [TypeError, 'ERR_INVALID_ARG_VALUE', () => 'the priority must be "high", "normal" or "low"'],
    NotSignal: [TypeError, 'ERR_INVALID_ARG_TYPE', () => 'options.signal must be an AbortSignal'],
    NotBytes: [TypeError, 'ERR_INVALID_ARG_TYPE', (what) => `${what} must be a Buffer or Uint8Array`],
    NotData: [TypeError, 'ERR_INVALID_ARG_TYPE', (what) => `${what} must be a string, Buffer or Uint8Array`],
    NotArgon2Hash: [TypeError, 'ERR_INVALID_ARG_VALUE', () => 'the digest is not an argon2 PHC string'],
    PasswordTooLong: [
      RangeError,
      'ERR_BCRYPT_PASSWORD_TOO_LONG',
      (length, max) => `password is ${length} bytes; bcrypt uses only the first ${max} (rejectLongPasswords is on)`,
    ],
    OutOfRange: [RangeError, 'ERR_OUT_OF_RANGE', (what, range) => `${what} must be ${range}`],
    FalsyRejection: [Error, 'ERR_FALSY_VALUE_REJECTION', () => 'Promise was rejected with falsy value'],
    ApiMismatch: [
      Error,
      'ERR_BCRYPT_API_MISMATCH',
      (found, expected) => `bcrypt-offload: the native binding speaks API ${found}, this facade ${expected}; reinstall the package`,
    ],
  }

  /** The error `name` of the table, worded from `facts`. */
  function error(name, ...facts) {
    const [Class, code, message] = ERRORS[name]
    const err = new Class(message(...facts))
    err.code = code
    return err
  }

  /**
   * The user's error for what the binding threw or rejected with: a native kind becomes its row of
   * the table; anything else (an error of the caller's own, passed through) is returned as it is.
   */
  function fromNative(err) {
    if (nativeKind(err) === undefined) return err
    const worded = error(err.code, err)
    // The facts a caller acts on, kept beside the message: how long the pool foresaw (for a
    // Retry-After) and which class was full.
    if (err.code === 'Deadline') worded.waitMs = err.waitMs
    if (err.code === 'QueueFull') worded.priority = err.priority
    if (err.code === 'MemoryBudget') Object.assign(worded, { memory: err.memory, budget: err.budget })
    return worded
  }

  return { error, fromNative, RANGES }
}

// As Node's own APIs reject when their signal aborts.
class AbortError extends Error {
  constructor(reason) {
    super('The operation was aborted', { cause: reason })
    this.name = 'AbortError'
    this.code = 'ABORT_ERR'
  }
}

module.exports = { createErrors, AbortError, nativeKind, toWire, fromWire, DEADLINE_PASSED }
