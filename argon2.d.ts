// Types of bcrypt-offload/argon2 (argon2.js): a drop-in for the `argon2` package's API, computed on
// bcrypt-offload's own pool. __test__/types/ compiles a sample against them.

import type { AsyncOptions } from './index'

export declare const argon2d: 0
export declare const argon2i: 1
export declare const argon2id: 2

/** The parameters of a hash. Defaults are OWASP's: argon2id, 19456 KiB, 2 passes, 1 lane, 32 bytes. */
export interface Options {
  /** `argon2d`, `argon2i` or `argon2id` (the default). */
  type?: 0 | 1 | 2
  /** 0x13 (the default) or 0x10. */
  version?: number
  /** KiB; at least 8 × parallelism. Default 19456. */
  memoryCost?: number
  /** Passes; at least 1. Default 2. */
  timeCost?: number
  /** Lanes, computed one after another on one pool thread; 1 to 2^24-1. Default 1. */
  parallelism?: number
  /** Bytes of hash; at least 4. Default 32. */
  hashLength?: number
  /** At least 8 bytes; default 16 random bytes. */
  salt?: Uint8Array
  /** A key (pepper) mixed in; the same must be given to `verify`. */
  secret?: Uint8Array
  /** Recorded in the PHC string (`data=`), as `argon2` does. */
  associatedData?: Uint8Array
}

/**
 * The argon2 hash of `password`: its PHC string, or with `raw: true` its bytes. On the package's
 * pool; a job whose memory the pool's whole budget cannot hold is refused (RangeError,
 * `ERR_BCRYPT_MEMORY_BUDGET`); within it, it waits its turn.
 */
export declare function hash(password: string | Uint8Array, options: Options & AsyncOptions & { raw: true }): Promise<Buffer>
export declare function hash(password: string | Uint8Array, options?: Options & AsyncOptions & { raw?: false }): Promise<string>
/** The same on the calling thread (not the pool's queue; a job past its whole memory budget is refused). */
export declare function hashSync(password: string | Uint8Array, options: Options & { raw: true }): Buffer
export declare function hashSync(password: string | Uint8Array, options?: Options & { raw?: false }): string

/** Options of `verify`: the secret the hash was made with, and how the job is scheduled. */
export interface VerifyOptions extends AsyncOptions {
  secret?: Uint8Array
}

/**
 * Whether `password` matches `digest` (argon2d, argon2i or argon2id, version 0x10 or 0x13). A
 * digest that is not a well-formed argon2 PHC string resolves `false`.
 */
export declare function verify(digest: string, password: string | Uint8Array, options?: VerifyOptions): Promise<boolean>
export declare function verifySync(digest: string, password: string | Uint8Array, options?: { secret?: Uint8Array }): boolean

/**
 * Whether `digest` was made with another type, version, memoryCost, timeCost or parallelism than
 * `options` (or the defaults) give. A TypeError (`ERR_INVALID_ARG_VALUE`) for a digest that is not
 * an argon2 PHC string.
 */
export declare function needsRehash(
  digest: string,
  options?: Pick<Options, 'type' | 'version' | 'memoryCost' | 'timeCost' | 'parallelism'>,
): boolean

/** The defaults `hash` and `needsRehash` use. */
export declare const defaults: Readonly<Required<Pick<Options, 'type' | 'version' | 'memoryCost' | 'timeCost' | 'parallelism' | 'hashLength'>>>

declare const argon2: {
  argon2d: typeof argon2d
  argon2i: typeof argon2i
  argon2id: typeof argon2id
  defaults: typeof defaults
  hash: typeof hash
  hashSync: typeof hashSync
  verify: typeof verify
  verifySync: typeof verifySync
  needsRehash: typeof needsRehash
}
export default argon2
