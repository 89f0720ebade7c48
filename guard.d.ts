// Types of `bcrypt-offload/guard` (guard.js, lib/guard/): password logins by OWASP's device cookies,
// scheduled on bcrypt-offload's pool. __test__/types/sample-guard.cts compiles a sample against it.
//
// A browser that once logged in to an account holds a signed device cookie for it. Its logins are
// trusted: compared in the pool's 'high' class, ahead of every unknown client, and locked out only
// by their own failures. Everyone else is untrusted: compared in the 'normal' class, each client
// (by address, by default) taking its turn, and refused without computing once the account has
// had `lockout.failures` failed logins from untrusted clients within `lockout.windowMs`. So a flood
// of guesses can lock out and slow down first-time logins, never a returning user's.

/** A password as bcrypt takes it: a string (hashed as UTF-8) or bytes. */
export type Password = string | Uint8Array

/** A scheduling class of bcrypt-offload's pool: a queued job of a higher class always starts first. */
export type Priority = 'high' | 'normal' | 'low'

/** Where the guard queues a compare. `deadline` is never set by the guard; `timeout` always is. */
export interface ScheduleOptions {
  signal?: AbortSignal
  priority?: Priority
  /** Inside a class, jobs of different keys are taken in turn. */
  key?: string
  /** ms: a job still queued then is dropped and rejects with `ERR_BCRYPT_DEADLINE`. */
  timeout?: number
  deadline?: number
}

/** What the guard needs of bcrypt: bcrypt-offload itself, or anything with these two functions. */
export interface GuardBcrypt {
  compare(data: Password, hash: string, options: ScheduleOptions): Promise<boolean>
  /** Resolves false after a compare's work at cost `rounds`: the answer for an account that does not exist. */
  compareUnknown(data: Password, options: ScheduleOptions & { rounds?: number }): Promise<boolean>
}

/** One key's failures in its current window. */
export interface LockoutEntry {
  /** Failures recorded since the window began. */
  count: number
  /** When the window ends (ms since the epoch, as Date.now()); the count is then forgotten. */
  resetAt: number
}

/**
 * Where failure counts live. The guard keys them `account:<account>` (untrusted clients of an
 * account) and `device:<nonce>` (one trusted device). Methods may return promises, so a shared
 * store works; with Redis, for instance:
 *
 * ```js
 * const store = {
 *   async get(key, now) {
 *     const [count, ttl] = await redis.multi().get(key).pttl(key).exec().then((r) => r.map(([, v]) => v))
 *     return count === null || ttl < 0 ? undefined : { count: Number(count), resetAt: now + ttl }
 *   },
 *   async hit(key, windowMs, now) {
 *     const [[, count], , [, ttl]] = await redis.multi().incr(key).pexpire(key, windowMs, 'NX').pttl(key).exec()
 *     return { count, resetAt: now + ttl }
 *   },
 * }
 * ```
 * A store that throws (Redis down) makes `login()` reject: logins fail closed.
 */
export interface LockoutStore {
  /** The key's entry, or undefined when it has none or its window has ended by `now`. */
  get(key: string, now: number): LockoutEntry | undefined | Promise<LockoutEntry | undefined>
  /**
   * Records one failure: a new window of `windowMs` from `now` when the key has none (or its
   * window has ended), else one more in the current one. Returns the entry afterwards.
   */
  hit(key: string, windowMs: number, now: number): LockoutEntry | Promise<LockoutEntry>
}

export interface LockoutOptions {
  /** Failed logins within `windowMs` after which the account is locked out for untrusted clients, and a trusted device for itself. Default 10. */
  failures?: number
  /** ms; a key's window starts at its first failure. Default 15 minutes. */
  windowMs?: number
  /**
   * The built-in store's cap on keys (default 100,000): past it the oldest is dropped, so that
   * failures under ever new names cannot grow memory without limit. Make it more than the
   * compares your pool does in one window. Not with `store`.
   */
  maxEntries?: number
  /** A shared store instead of the built-in one (memory, this process only). */
  store?: LockoutStore
}

export interface CookieOptions {
  /** Default `'device'`. A `__Host-` name needs `secure: true` and `path: '/'`. */
  name?: string
  /** ms the cookie is valid, both in the browser (Max-Age) and as its signed expiry. Default 30 days; at most 400 days. */
  maxAgeMs?: number
  /**
   * The Secure attribute: the browser sends the cookie over HTTPS only. Default true. Set false
   * only for development over plain http (on localhost), where a Secure cookie would never come back.
   */
  secure?: boolean
  /** Default `'Strict'`; `'None'` needs `secure: true`. */
  sameSite?: 'Strict' | 'Lax' | 'None' | 'strict' | 'lax' | 'none'
  /** Default `'/'`: the cookie is sent wherever the login route lives. */
  path?: string
}

export interface GuardOptions {
  bcrypt: GuardBcrypt
  /**
   * HMAC-SHA-256 keys of 32 bytes or more. `keys[0]` signs new cookies; every key verifies. To
   * rotate, put a new key first and keep the old one second until the cookies it signed have
   * expired (cookie.maxAgeMs), then drop it. A string is taken as its UTF-8 bytes.
   */
  keys: ReadonlyArray<Uint8Array | string>
  /** The cost of compareUnknown's work for accounts that do not exist: the cost of your stored hashes. Default 10. */
  rounds?: number
  /**
   * What untrusted logins take turns by: the client's address (default; an IPv6 address counts
   * by its /64), the account, or both (`${account}|${address}`).
   */
  fairness?: 'address' | 'account' | 'both'
  lockout?: LockoutOptions
  /** ms each compare may wait for the pool before it is refused (503). Defaults: trusted 1000, untrusted 2000. */
  timeout?: { trusted?: number; untrusted?: number }
  cookie?: CookieOptions
}

export interface LoginInput {
  /** The account name: a non-empty string of at most 256 UTF-8 bytes (so that a cookie can carry it). */
  account: string
  password: Password
  /** The account's stored bcrypt hash, or undefined (or null) when there is no such account. */
  hash: string | undefined | null
  /** The client's address, for `fairness` (Express: `req.ip`); at most 256 characters. */
  address?: string
  /** The device cookie's value as the browser sent it, if any. */
  deviceCookie?: string | null
  /** Aborting drops the compare (the client hung up); login() then rejects with the AbortError. */
  signal?: AbortSignal
}

export type LoginReason = 'ok' | 'wrong' | 'locked' | 'busy'

export interface LoginResult {
  ok: boolean
  /** Whether the attempt ran as a trusted device's (false when locked out). */
  trusted: boolean
  /** The HTTP status to answer: 200, 401 (wrong account or password), 429 (locked out), 503 (the pool refused). */
  status: 200 | 401 | 429 | 503
  reason: LoginReason
  /** A Set-Cookie header value with a fresh device cookie: on success only. */
  setCookie?: string
  /** Seconds to wait before trying again: with 429 and 503 only. */
  retryAfter?: number
}

/** The parts of an Express request the middleware reads (and `login`, which it sets). */
export interface GuardRequest {
  ip?: string | undefined
  headers: { cookie?: string | undefined }
  socket?: { remoteAddress?: string | undefined }
  body?: any
  login?: LoginResult
}

/** The parts of an Express response the middleware uses. */
export interface GuardResponse {
  status(code: number): GuardResponse
  json(body: unknown): unknown
  set(field: string, value: string): unknown
  append(field: string, value: string): unknown
  once(event: 'close', listener: () => void): unknown
  readonly writableFinished: boolean
}

export interface ExpressHandlers<Req extends GuardRequest = GuardRequest> {
  /** The account name from the request; not a non-empty string → 400. */
  account: (req: Req) => unknown
  /** The password from the request; not a non-empty string → 400. */
  password: (req: Req) => unknown
  /** The account's stored hash, or undefined when there is none; may return a promise. */
  hash: (account: string) => string | undefined | null | Promise<string | undefined | null>
}

export interface Guard {
  /** One login attempt; rejects only on bad input, a failing store, an abort or an error of the pool's other than a refusal. */
  login(input: LoginInput): Promise<LoginResult>
  /**
   * An Express handler for the login route: on success it sets the cookie, puts the result on
   * `req.login` and calls next(); otherwise it answers 400, 401, 429 or 503 itself (Retry-After
   * with the last two). Other errors go to next(err).
   */
  express<Req extends GuardRequest = GuardRequest>(
    handlers: ExpressHandlers<Req>,
  ): (req: Req, res: GuardResponse, next: (err?: unknown) => void) => Promise<void>
  /** A Set-Cookie header value making this browser a trusted device of `account`, for a login proved another way (a password-reset link). */
  issueCookie(account: string): string
  /** The device cookie's name. */
  readonly cookieName: string
}

/**
 * A guard for password logins. Throws a TypeError or RangeError (`code` ERR_INVALID_ARG_TYPE,
 * ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE) for bad options; no message shows a key.
 */
export function createGuard(options: GuardOptions): Guard

/** The built-in lockout store, for sharing one among several guards of a process. */
export function memoryStore(options?: { maxEntries?: number }): LockoutStore & { readonly size: number }
