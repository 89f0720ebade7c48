// Types of bcrypt-offload/passwords (passwords.js, lib/passwords/): verify whatever is stored,
// upgrade it at the next login.

import type { AsyncOptions } from './index'

/** Today's choice. Defaults: OWASP's argon2id (19456 KiB, 2 passes, 1 lane); bcrypt cost 10. */
export type Policy =
  | {
      algorithm: 'argon2id'
      /** KiB; at least 8 × parallelism. Default 19456. */
      memoryCost?: number
      /** Passes; at least 1. Default 2. memoryCost × timeCost may be at most 2^24. */
      timeCost?: number
      /** Lanes; 1 to 2^24-1. Default 1. */
      parallelism?: number
    }
  | {
      algorithm: 'bcrypt'
      /** 4 to 20 (a stored cost above 20 is refused as malformed). Default 10. `$2b$` hashes. */
      cost?: number
    }

/** A password: a string (UTF-8; NFKC-normalised first for Better Auth's scrypt only, as Better Auth does) or bytes. */
export type Password = string | Uint8Array

/** How the call is scheduled on the pool: signal, priority, key, timeout, deadline (as bcrypt-offload's calls). */
export type Schedule = AsyncOptions

/**
 * Why `ok` is false: a wrong password; a stored value in no known format; one in a known format with
 * invalid fields; one asking for more work than any real deployment stores (bcrypt cost above 20,
 * argon2 m·t above 2^24 KiB-passes, PBKDF2 above ten million iterations) or more memory than the
 * pool's whole budget.
 */
export type Reason = 'ERR_PASSWORD_MISMATCH' | 'ERR_PASSWORD_HASH_UNKNOWN' | 'ERR_PASSWORD_HASH_MALFORMED' | 'ERR_PASSWORD_HASH_TOO_COSTLY'

export interface VerifyResult {
  /** Whether the password matches the stored hash. */
  ok: boolean
  /** Whether the stored value is other than what `hash()` makes today: after an `ok`, store `await hash(password)`. */
  needsRehash: boolean
  /** Present when `ok` is false: a wrong password, or a stored value no format could check. */
  reason?: Reason
}

/** The formats `formatOf` names. */
export type Format =
  | 'bcrypt'
  | 'argon2id'
  | 'argon2i'
  | 'argon2d'
  | 'django-pbkdf2-sha256'
  | 'better-auth-scrypt'
  | 'legacy-md5'
  | 'legacy-sha1'

export interface Passwords {
  /** The policy in force, defaults filled in. */
  readonly policy: Readonly<Required<Policy>>
  /** Today's hash of `password` (a bcrypt `$2b$` string or an argon2id PHC string), computed on the pool. */
  hash(password: Password, schedule?: Schedule): Promise<string>
  /**
   * `password` against `stored`, in any format it knows: bcrypt `$2a$`/`$2b$`/`$2y$`, argon2
   * id/i/d PHC strings, Django's `pbkdf2_sha256$…`, Better Auth's `<hex salt>:<hex key>` scrypt, and
   * `md5:`/`sha1:`-wrapped bcrypt. A value it cannot check costs a verify at the policy's cost and
   * resolves `{ ok: false, needsRehash: true, reason }`: never a throw. Rejects only for a bad
   * argument or the pool's own refusal (full queue, deadline, abort).
   */
  verify(password: Password, stored: unknown, schedule?: Schedule): Promise<VerifyResult>
  /** A verify's work at the policy's cost, for an account that does not exist; always false. */
  verifyUnknown(password: Password, schedule?: Schedule): Promise<false>
  /** Whether `stored` is other than what `hash()` makes today (true for anything unreadable). Synchronous, no password needed. */
  needsRehash(stored: unknown): boolean
  /** The format `stored` is in, or undefined when no format reads it. */
  formatOf(stored: unknown): Format | undefined
}

/** The reason codes, by name. */
export declare const REASONS: Readonly<{
  MISMATCH: 'ERR_PASSWORD_MISMATCH'
  UNKNOWN: 'ERR_PASSWORD_HASH_UNKNOWN'
  MALFORMED: 'ERR_PASSWORD_HASH_MALFORMED'
  TOO_COSTLY: 'ERR_PASSWORD_HASH_TOO_COSTLY'
}>

/** Where the hashes are computed: by default this process's pool. */
export interface PasswordsOptions {
  /**
   * A client from bcrypt-offload/queue's `connect()`: bcrypt and argon2 computed by the tier's
   * workers (argon2 within the tier's limits, docs/queue.md). Django's PBKDF2 and Better Auth's
   * scrypt stay on this process's pool.
   */
  tier?: import('./queue').QueueClient
}

/** A passwords module for `policy`; a TypeError or RangeError (with a `code`) for a bad one. */
export declare function createPasswords(policy: Policy, options?: PasswordsOptions): Passwords
