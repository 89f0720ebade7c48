'use strict'

// Argon2 hashes in the PHC string format, as `argon2` (node-argon2), `@node-rs/argon2`, the
// reference implementation and bcrypt-offload/argon2 write them:
//   $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>      (argon2i and argon2d too)
// salt and hash in base64 without padding; node-argon2 adds `,data=<base64>` for associated data.
// Read as strictly as bcrypt-offload/argon2 reads them (src/kdf/phc.rs), so that what passes here
// is what it can check.
// Checked by bcrypt-offload/argon2's verify, on the package's pool.

const { REASONS } = require('./errors.js')

const SHAPE = /^\$(argon2(?:id|i|d))\$(?:v=(\d+)\$)?m=(\d+),t=(\d+),p=(\d+)(?:,data=([A-Za-z0-9+/]*))?\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/

// RFC 9106's bounds (section 3.1): parallelism 1 to 2^24-1, at least 8·p KiB of memory, at least one
// pass, 32-bit fields; salts of at least 8 bytes and tags of at least 4.
const MAX_U32 = 2 ** 32 - 1
const MAX_PARALLELISM = 2 ** 24 - 1
const MIN_SALT_BYTES = 8
const MIN_HASH_BYTES = 4
// A stored value asking for more than 2^24 KiB-passes (16 GiB of memory filled: libsodium's
// "sensitive" level, 1 GiB × 4 passes, is a quarter of it) is refused (TOO_COSTLY) rather than
// computed: it would hold a pool thread (and its memory budget) for many seconds per login. One
// within that but over the pool's whole memory budget is refused by the pool, and so too.
const MAX_STORED_WORK = 2 ** 24
// Version 0x13 (19), the current one, and 0x10 (16), which hashes from before 2016 carry, or show by
// having no `v=` at all (as the `argon2` package reads them).
const VERSION = 19
const VERSIONS = [16, 19]

// The policy's hashes: what argon2 and bcrypt-offload/argon2 make by default.
const SALT_BYTES = 16
const HASH_BYTES = 32

const DECIMAL = /^(0|[1-9]\d*)$/
/**
 * The bytes unpadded base64 `text` holds; NaN unless it is the one canonical encoding of them (no
 * stray bits in its last character), as the strict decoders (RustCrypto's `base64ct`) require.
 */
function base64Bytes(text) {
  const bytes = Buffer.from(text, 'base64')
  return bytes.toString('base64').replace(/=+$/, '') === text ? bytes.length : NaN
}

function parse(stored) {
  if (!stored.startsWith('$argon2')) return undefined
  const match = SHAPE.exec(stored)
  if (!match) return { reason: REASONS.MALFORMED }
  const [, type, v, m, t, p, data, salt, hash] = match
  if (![v ?? '16', m, t, p].every((n) => DECIMAL.test(n))) return { reason: REASONS.MALFORMED }
  const [version, memoryCost, timeCost, parallelism] = [v ?? '16', m, t, p].map(Number)
  const saltBytes = base64Bytes(salt)
  const hashBytes = base64Bytes(hash)
  const valid =
    VERSIONS.includes(version) &&
    parallelism >= 1 &&
    parallelism <= MAX_PARALLELISM &&
    memoryCost >= 8 * parallelism &&
    memoryCost <= MAX_U32 &&
    timeCost >= 1 &&
    timeCost <= MAX_U32 &&
    saltBytes >= MIN_SALT_BYTES &&
    hashBytes >= MIN_HASH_BYTES &&
    (data === undefined || !Number.isNaN(base64Bytes(data)))
  if (!valid) return { reason: REASONS.MALFORMED }
  if (memoryCost * timeCost > MAX_STORED_WORK) return { reason: REASONS.TOO_COSTLY }
  return { format: type, version, memoryCost, timeCost, parallelism, associatedData: data !== undefined, saltBytes, hashBytes, digest: stored }
}

const verify = ({ argon2 }, password, parsed, schedule) => argon2.verify(parsed.digest, password, schedule)

/** Whether the policy makes this very kind of hash today: argon2id 0x13, its m, t and p, default lengths. */
const current = (parsed, policy) =>
  policy.algorithm === 'argon2id' &&
  parsed.format === 'argon2id' &&
  parsed.version === VERSION &&
  parsed.memoryCost === policy.memoryCost &&
  parsed.timeCost === policy.timeCost &&
  parsed.parallelism === policy.parallelism &&
  !parsed.associatedData &&
  parsed.saltBytes === SALT_BYTES &&
  parsed.hashBytes === HASH_BYTES

module.exports = { parse, verify, current, MAX_U32, MAX_PARALLELISM, MAX_STORED_WORK }
