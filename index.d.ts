// Types of the package's entry point (index.js). The native layer's types are generated into
// binding.d.ts by `napi build`; these describe bcrypt's call forms on top of it, and
// __test__/types/ compiles a sample of every form against them.

// The shapes the native layer returns, generated from src/bindings/.
import type { ClassStats as NativeClassStats, DurationHistogram, PoolStats as NativePoolStats } from './binding'

/** A password: a string (hashed as UTF-8) or bytes. */
export type Data = string | Uint8Array

/** bcrypt's Node-style callback: the error is `undefined` on success. */
export type Callback<T> = (err: Error | undefined, result: T) => void

/** `'b'` (the default) makes `$2b$` salts; `'a'` makes `$2a$`. */
export type Minor = 'a' | 'b'

export interface ConfigureOptions {
  /** Pool threads: a whole number from 1 to the package's limit (a `RangeError` names it). Default: the process's available parallelism, or `BCRYPT_OFFLOAD_THREADS`. */
  threads?: number
  /**
   * The most calls of each priority that may wait for a lane; more are refused at once with
   * `ERR_BCRYPT_QUEUE_FULL`. A number bounds every priority alike; `{ high, normal, low }` sets
   * the ones it names. `Infinity` or `null` (the default, as bcrypt): no bound.
   */
  maxQueue?: number | null | Partial<Record<Priority, number | null>>
  /** The default of `rejectLongPasswords` for `hash` and `hashSync`; `false` (truncate, as bcrypt). */
  rejectLongPasswords?: boolean
  /**
   * Hashes each pool thread interleaves: a whole number up to the package's limit, pinned, or
   * `'auto'` (the default): measured on this machine when the pool starts. Any time.
   */
  lanes?: number | 'auto'
  /** Whether compares (logins) go before queued hashes; `true` by default. Any time. */
  compareFirst?: boolean
  /**
   * Bytes the pool's argon2 and scrypt jobs may hold together; jobs beyond it wait in the queue,
   * and one that alone exceeds it is refused (RangeError, `ERR_BCRYPT_MEMORY_BUDGET`). Default: a
   * quarter of the cgroup's memory limit or of the machine's RAM, never less than one job at
   * argon2's defaults (19 MiB). Any time.
   */
  argon2MemoryBudget?: number
}

/** Options of `hashSync`, after bcrypt's arguments. */
export interface HashOptions {
  /** Refuse (RangeError, `ERR_BCRYPT_PASSWORD_TOO_LONG`) a password over 72 bytes instead of hashing its first 72. */
  rejectLongPasswords?: boolean
}

/** A scheduling class: a queued call of a higher one always starts before any of a lower one. */
export type Priority = 'high' | 'normal' | 'low'

/** Options of the asynchronous `hash`, `compare` and `compareUnknown`, after bcrypt's arguments. */
export interface AsyncOptions {
  /** Aborting drops the job (queued or running) and rejects with an `AbortError`. */
  signal?: AbortSignal
  /** Its class; `'normal'` by default. */
  priority?: Priority
  /** Inside a class, calls with different keys (an address, an account) are taken in turn; calls with no key share one. At most 1024 characters. */
  key?: string
  /** Milliseconds it may wait for a lane: past that, still queued, it is dropped uncomputed and rejects with `ERR_BCRYPT_DEADLINE`; if the pool foresees it cannot start in time, it is refused at once with that code. A call that has started finishes. */
  timeout?: number
  /** The same as a time (`Date.now()` milliseconds, or a Date); with `timeout` too, the earlier counts. */
  deadline?: number | Date
}

/** Options of `compareUnknown`. */
export interface UnknownOptions extends AsyncOptions {
  /** The cost to spend, that of the hashes you store; default 10. */
  rounds?: number
}

/** Options of the asynchronous `hash`. */
export type AsyncHashOptions = AsyncOptions & HashOptions

export interface RehashOptions {
  /** The cost hashes should have; default 10. */
  rounds?: number
  /** The minor version hashes should have; default `'b'`. */
  minor?: Minor
}

export type { DurationHistogram }

/**
 * The pool's counters and histograms; `maxQueue` is `Infinity` when there is no bound;
 * `laneSpeedup[k - 1]` is what `k` lanes measured as a multiple of one lane's throughput (`null`
 * until the pool has measured).
 */
export type PoolStats = Omit<NativePoolStats, 'maxQueue' | 'laneThroughput' | 'classes'> & {
  maxQueue: number
  laneSpeedup: number[] | null
  /** The same counters by priority; each `maxQueue` is `Infinity` when there is no bound. */
  classes: Record<Priority, Omit<NativeClassStats, 'maxQueue'> & { maxQueue: number }>
}

/** What the promise forms reject with when their signal aborts; `cause` is the signal's reason. */
export declare class AbortError extends Error {
  constructor(reason?: unknown)
  name: 'AbortError'
  code: 'ABORT_ERR'
}

/** A salt: `$2b$` + two-digit cost + 22 random characters. `rounds` defaults to 10, clamped to 4–31. */
export declare function genSaltSync(rounds?: number, minor?: Minor): string
export declare function genSalt(rounds?: number, minor?: Minor): Promise<string>
export declare function genSalt(callback: Callback<string>): void
export declare function genSalt(rounds: number | undefined, callback: Callback<string>): void
export declare function genSalt(rounds: number | undefined, minor: Minor | undefined, callback: Callback<string>): void

/** The bcrypt hash of `data`; `saltOrRounds` is a salt (or a whole hash) or a cost for a new salt. */
export declare function hashSync(data: Data, saltOrRounds: string | number, options?: HashOptions): string
/** As `hashSync`, computed on the package's own thread pool. */
export declare function hash(data: Data, saltOrRounds: string | number, options?: AsyncHashOptions): Promise<string>
export declare function hash(data: Data, saltOrRounds: string | number, callback: Callback<string>): void
export declare function hash(data: Data, saltOrRounds: string | number, options: AsyncHashOptions, callback: Callback<string>): void

/** Whether `data` hashes to `encrypted` ($2a$, $2b$ or $2y$). A malformed `encrypted` gives false. */
export declare function compareSync(data: Data, encrypted: string): boolean
/** As `compareSync`, computed on the package's own thread pool. */
export declare function compare(data: Data, encrypted: string, options?: AsyncOptions): Promise<boolean>
export declare function compare(data: Data, encrypted: string, callback: Callback<boolean>): void
export declare function compare(data: Data, encrypted: string, options: AsyncOptions, callback: Callback<boolean>): void

/**
 * A compare's work for an account that does not exist, at `rounds` (default 10), scheduled as a
 * compare; always `false`. So "no such user" costs what "wrong password" costs.
 */
export declare function compareUnknown(data: Data, options?: UnknownOptions): Promise<false>
export declare function compareUnknown(data: Data, callback: Callback<false>): void
export declare function compareUnknown(data: Data, options: UnknownOptions, callback: Callback<false>): void
/** As `compareUnknown`, on the calling thread: the work of `compareSync` at `rounds`. */
export declare function compareUnknownSync(data: Data, rounds?: number): false

/** The cost recorded in a hash. Throws on a string that has none. */
export declare function getRounds(encrypted: string): number
/** The first 29 characters (the salt) of a 60-character hash, as bcryptjs's `getSalt`. */
export declare function getSalt(encrypted: string): string
/** Whether bcrypt ignores part of `password`: more than 72 bytes once UTF-8 encoded. */
export declare function truncates(password: Data): boolean

/** Whether `encrypted` was made with other settings than `options` (or is not a hash): rehash it at login. */
export declare function needsRehash(encrypted: string, options?: RehashOptions): boolean
/** The cost whose hash takes about `targetMs` here, timed on a thread of its own. */
export declare function calibrate(targetMs: number): Promise<number>
/** The cost whose hash takes about `targetMs` here, timed on the calling thread. */
export declare function calibrateSync(targetMs: number): number

/** Sets the pool's size (only before the first asynchronous call), lanes, queue bound and order (any time). */
export declare function configure(options: ConfigureOptions): void
/** The pool's counters. Cheap: reads atomics only. */
export declare function stats(): PoolStats

declare const bcrypt: {
  genSaltSync: typeof genSaltSync
  genSalt: typeof genSalt
  hashSync: typeof hashSync
  hash: typeof hash
  compareSync: typeof compareSync
  compare: typeof compare
  compareUnknown: typeof compareUnknown
  compareUnknownSync: typeof compareUnknownSync
  getRounds: typeof getRounds
  getSalt: typeof getSalt
  truncates: typeof truncates
  needsRehash: typeof needsRehash
  calibrate: typeof calibrate
  calibrateSync: typeof calibrateSync
  configure: typeof configure
  stats: typeof stats
  AbortError: typeof AbortError
}
export default bcrypt
