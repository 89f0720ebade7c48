// Types of `bcrypt-offload/queue` (queue.js): the hashing tier on BullMQ and Redis. `hash`,
// `compare` and `compareUnknown` keep the package's call forms (index.d.ts); what the queue adds is
// typed here.
// __test__/types/sample-queue.cts compiles a sample against it.

import type { AbortError, AsyncHashOptions, AsyncOptions, Callback, Data } from './index'
import type {
  compareUnknown as CompareUnknown,
  genSalt as GenSalt,
  genSaltSync as GenSaltSync,
  getRounds as GetRounds,
  getSalt as GetSalt,
  needsRehash as NeedsRehash,
  truncates as Truncates,
} from './index'

export interface TlsOptions {
  /** Certificate authorities to trust (PEM), as node:tls takes them. */
  ca?: string | Buffer | Array<string | Buffer>
  cert?: string | Buffer
  key?: string | Buffer
  servername?: string
  rejectUnauthorized?: boolean
}

export interface QueueSettings {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS). Default: env `BCRYPT_OFFLOAD_REDIS`. */
  redis?: string
  /** The shared key: 32 bytes, or their base64. Default: env `BCRYPT_OFFLOAD_QUEUE_KEY` (base64). */
  key?: Uint8Array | string
  /** The BullMQ queue's name; default `'bcrypt-offload'`. */
  name?: string
  /** The BullMQ key prefix; default `'bull'`, or `'{bull}'` with `cluster` (there it needs a `{hash tag}`, in it or in `name`). */
  prefix?: string
  /** `redis` names one node of a Redis Cluster, from which the others are found (database 0 only). Default `false`. */
  cluster?: boolean
  /** TLS options merged into the connection's (a private CA, client certificates). */
  tls?: TlsOptions
}

export interface ConnectOptions extends QueueSettings {
  /** How long a call may take, queueing included (ms, up to 2,147,483,647); then it rejects with `ERR_BCRYPT_QUEUE_TIMEOUT` and its job is dropped. Default 10,000. */
  timeout?: number
  /** How long one Redis command may take before Redis counts as hung (ms, up to 2,147,483,647); default 1,000. */
  commandTimeout?: number
  /** Past this many jobs waiting for a worker (across every caller, bursts included), calls reject at once with `ERR_BCRYPT_QUEUE_FULL`. Default `Infinity`. */
  maxWaiting?: number
  /** `'local'`: when Redis is unavailable, compute on this process's own pool instead of rejecting. Default `false`. */
  fallback?: false | 'local'
  /** Workers take a class's compares before its queued hashes (BullMQ priorities), as the local pool does. `false`: arrival order within a class. Default `true`. */
  compareFirst?: boolean
  /** The default of `rejectLongPasswords` for this client's `hash`. */
  rejectLongPasswords?: boolean
}

export interface ClientStats {
  /** Calls not yet settled. */
  pending: number
  /** Redis answers, the client is not in its fail-fast state after a timeout, and the event reader runs. */
  connected: boolean
  /** The event reader: `'restarting'` while its reads fail (it retries from where it was). */
  reader: 'starting' | 'running' | 'restarting'
  /** Times the event reader went from running to restarting. */
  readerRestarts: number
  /** Answers fetched from their jobs because the event stream no longer had them (a lagging caller, a deleted stream). */
  recovered: number
  submitted: number
  /** Jobs Redis acknowledged. */
  added: number
  completed: number
  timedOut: number
  unavailable: number
  /** Refused by `maxWaiting`. */
  refused: number
  tampered: number
  failed: number
  aborted: number
  /** Rejected with `ERR_BCRYPT_DEADLINE`: the call's own `timeout` or `deadline` passed before a worker started it. */
  expired: number
  /** Run on the local pool (`fallback: 'local'`). */
  local: number
}

export interface QueueClient {
  /** bcrypt of `data`, computed by a worker. */
  hash(data: Data, saltOrRounds: string | number, options?: AsyncHashOptions): Promise<string>
  hash(data: Data, saltOrRounds: string | number, callback: Callback<string>): void
  hash(data: Data, saltOrRounds: string | number, options: AsyncHashOptions, callback: Callback<string>): void
  /** Whether `data` matches `encrypted`, computed by a worker. */
  compare(data: Data, encrypted: string, options?: AsyncOptions): Promise<boolean>
  compare(data: Data, encrypted: string, callback: Callback<boolean>): void
  compare(data: Data, encrypted: string, options: AsyncOptions, callback: Callback<boolean>): void
  /** A compare's work at `rounds` for an account that does not exist, computed by a worker; resolves `false`. */
  compareUnknown: typeof CompareUnknown
  genSalt: typeof GenSalt
  genSaltSync: typeof GenSaltSync
  getRounds: typeof GetRounds
  getSalt: typeof GetSalt
  truncates: typeof Truncates
  needsRehash: typeof NeedsRehash
  AbortError: typeof AbortError
  /** Resolves once Redis has answered (no timeout of its own). */
  ready(): Promise<void>
  /** Refuses new calls, lets those in flight settle, closes the connections. */
  close(): Promise<void>
  stats(): ClientStats
  /**
   * argon2 computed by the tier's workers: bcrypt-offload/argon2's `hash`, `verify` and
   * `needsRehash`, their options and errors (no sync forms; `needsRehash` only reads the digest and
   * runs here). What a request carries is bounded (`ERR_BCRYPT_QUEUE_ARGON2_LIMIT`, a RangeError, past
   * it): a password of 1,024 bytes, a salt, secret and associatedData of 64 each, a hashLength of 128,
   * a digest of 512 characters.
   */
  argon2: QueueArgon2
  /** The BullMQ `Queue` (for monitoring). */
  queue: unknown
}

type Argon2 = typeof import('./argon2')
export type QueueArgon2 = Readonly<Pick<Argon2, 'argon2d' | 'argon2i' | 'argon2id' | 'defaults' | 'hash' | 'verify' | 'needsRehash'>>

export interface WorkerOptions extends QueueSettings {
  /** The pool's threads (as `configure({ threads })`); default: the package's default. */
  threads?: number
  /** Jobs taken at once; default threads × lanesPerThread, every lane. */
  concurrency?: number
  /** How long a job's lock lasts unless renewed (ms); default 2,000. A worker that dies loses its jobs' locks after this. */
  lockDuration?: number
  /** How often stalled jobs (their locks lapsed) are put back on the queue (ms); default 1,000. */
  stalledInterval?: number
  /**
   * Called with each connection error (Redis down), if the pool cannot start, and once when the
   * worker's key is not the clients' (`code` `'ERR_BCRYPT_QUEUE_WORKER_KEY'`: it puts back the jobs it
   * took and takes none until a client announces its key). A scrubbed copy: message, stack, `code`,
   * and of a failed Redis command only its name (never its arguments, AUTH's password among them).
   */
  onError?: (err: Error & { code?: string; command?: { name: string } }) => void
}

export interface WorkerStats {
  name: string
  concurrency: number
  running: boolean
  /** The jobs name another key and no client has announced this worker's: it takes no jobs. */
  keyRefused: boolean
  lastError: string | undefined
  /** Jobs computed, by operation (`compare` counts `compareUnknown`'s too). */
  hash: number
  compare: number
  /** argon2 jobs computed (`argon2Hash` counts raw hashes too). */
  argon2Hash: number
  argon2Verify: number
  /** Dropped uncomputed: the tier's deadline or the call's own had passed. */
  expired: number
  /** Refused: the request did not open under this worker's key. */
  rejected: number
  /** Answered with an error (a malformed salt, say). */
  failed: number
  cancelled: number
  /** Put back for other workers while `keyRefused`. */
  returned: number
  pool: import('./index').PoolStats
}

/** Jobs waiting in Redis for any worker, by class, and the oldest one's age (0 when none waits). */
export interface QueueWaiting {
  high: number
  normal: number
  low: number
  oldestSeconds: number
}

export interface QueueWorker {
  /** The BullMQ `Worker`. */
  worker: unknown
  stats(): WorkerStats
  /** The queue's depth, read from Redis (for autoscaling); `undefined` if Redis does not answer within 1 s. */
  waiting(): Promise<QueueWaiting | undefined>
  /** Stops taking jobs and lets those in hand finish (up to `graceMs`, default 10,000). */
  close(options?: { graceMs?: number }): Promise<void>
  ready(): Promise<void>
}

/** A client whose `hash` and `compare` run on the tier's workers. Returns at once. */
export declare function connect(options?: ConnectOptions): QueueClient
/** A worker over this process's pool. */
export declare function startWorker(options?: WorkerOptions): QueueWorker
/** A new key, base64, for `BCRYPT_OFFLOAD_QUEUE_KEY`. */
export declare function newKey(): string

/** What `compareLegacy` needs: the package, or a queue client. */
export interface Comparer {
  compare(data: Data, encrypted: string): Promise<boolean>
}

/**
 * Checks `password` against a stored value `rehash-db` may leave: a plain bcrypt hash, a wrapped
 * legacy digest (`md5:$2b$…`, `sha1:$2b$…`) or a digest not yet wrapped. `upgrade`: store a plain
 * bcrypt hash of the password now.
 */
export declare function compareLegacy(bcrypt: Comparer, password: Data, stored: string): Promise<{ ok: boolean; upgrade: boolean }>
