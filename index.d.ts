// Types of the package's entry point (index.js). The native layer's types are generated into
// binding.d.ts by `napi build`; these describe bcrypt's call forms on top of it, and
// __test__/types/ compiles a sample of every form against them.

/** A password: a string (hashed as UTF-8) or bytes. */
export type Data = string | Uint8Array

/** bcrypt's Node-style callback: the error is `undefined` on success. */
export type Callback<T> = (err: Error | undefined, result: T) => void

/** `'b'` (the default) makes `$2b$` salts; `'a'` makes `$2a$`. */
export type Minor = 'a' | 'b'

export interface ConfigureOptions {
  /** Pool threads; 1–1024. Default: the process's available parallelism, or `BCRYPT_OFFLOAD_THREADS`. */
  threads?: number
}

export interface PoolStats {
  /** Pool threads. */
  threads: number
  /** Hashes each thread interleaves at most. */
  lanesPerThread: number
  /** Jobs waiting for a lane. */
  queued: number
  /** Jobs in a lane now. */
  running: number
  /** Jobs finished since the process started. */
  completed: number
}

/** A salt: `$2b$` + two-digit cost + 22 random characters. `rounds` defaults to 10, clamped to 4–31. */
export declare function genSaltSync(rounds?: number, minor?: Minor): string
export declare function genSalt(rounds?: number, minor?: Minor): Promise<string>
export declare function genSalt(callback: Callback<string>): void
export declare function genSalt(rounds: number | undefined, callback: Callback<string>): void
export declare function genSalt(rounds: number | undefined, minor: Minor | undefined, callback: Callback<string>): void

/** The bcrypt hash of `data`; `saltOrRounds` is a salt (or a whole hash) or a cost for a new salt. */
export declare function hashSync(data: Data, saltOrRounds: string | number): string
/** As `hashSync`, computed on the package's own thread pool. */
export declare function hash(data: Data, saltOrRounds: string | number): Promise<string>
export declare function hash(data: Data, saltOrRounds: string | number, callback: Callback<string>): void

/** Whether `data` hashes to `encrypted` ($2a$, $2b$ or $2y$). A malformed `encrypted` gives false. */
export declare function compareSync(data: Data, encrypted: string): boolean
/** As `compareSync`, computed on the package's own thread pool. */
export declare function compare(data: Data, encrypted: string): Promise<boolean>
export declare function compare(data: Data, encrypted: string, callback: Callback<boolean>): void

/** The cost recorded in a hash. Throws on a string that has none. */
export declare function getRounds(encrypted: string): number
/** The first 29 characters (the salt) of a 60-character hash, as bcryptjs's `getSalt`. */
export declare function getSalt(encrypted: string): string
/** Whether bcrypt ignores part of `password`: more than 72 bytes once UTF-8 encoded. */
export declare function truncates(password: Data): boolean

/** Sets the pool's size; only before the first asynchronous call (afterwards, only the same size). */
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
  getRounds: typeof getRounds
  getSalt: typeof getSalt
  truncates: typeof truncates
  configure: typeof configure
  stats: typeof stats
}
export default bcrypt
