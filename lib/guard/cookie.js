'use strict'

// The device cookie (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): proof that
// this browser once logged in to this account. Its value is
//
//   v1.<account>.<nonce>.<expires>.<mac>
//
// account  the account name's UTF-8 bytes in base64url, so that no account can contain the '.'
//          separator (or anything a cookie may not hold) and pass for another field
// nonce    16 random bytes in base64url: names this one device, so that its failures can lock it alone
// expires  seconds since the epoch, in decimal: the server's own expiry, whatever the browser keeps
// mac      HMAC-SHA-256 under keys[0] of everything before it, in base64url
//
// Every key verifies, so that a new key can go first while the cookies the old one signed stay valid
// until it is dropped. A value is checked for its length and shape before any crypto, and its MAC is
// compared as the base64url text (with crypto.timingSafeEqual) rather than as decoded bytes: base64
// decoding ignores a 43-character string's last two bits, so a cookie with one of those flipped
// would otherwise still verify.

const { createHmac, createSecretKey, randomBytes, timingSafeEqual } = require('node:crypto')

const VERSION = 'v1'
const NONCE_BYTES = 16
const MAC_BYTES = 32
/** The longest account name a device cookie can carry, in UTF-8 bytes; login() refuses longer. */
const MAX_ACCOUNT_BYTES = 256
// Seconds since the epoch stay under 11 digits until the year 5138.
const MAX_EXPIRES_DIGITS = 11
const base64urlLength = (bytes) => Math.ceil((bytes * 4) / 3)
const NONCE_CHARS = base64urlLength(NONCE_BYTES)
const MAC_CHARS = base64urlLength(MAC_BYTES)
/** The longest value a cookie of ours can have: anything longer is refused unread. */
const MAX_VALUE_CHARS =
  VERSION.length + 1 + base64urlLength(MAX_ACCOUNT_BYTES) + 1 + NONCE_CHARS + 1 + MAX_EXPIRES_DIGITS + 1 + MAC_CHARS

const SHAPE = new RegExp(
  `^${VERSION}\\.([A-Za-z0-9_-]{2,${base64urlLength(MAX_ACCOUNT_BYTES)}})\\.([A-Za-z0-9_-]{${NONCE_CHARS}})\\.([1-9][0-9]{0,${MAX_EXPIRES_DIGITS - 1}})\\.([A-Za-z0-9_-]{${MAC_CHARS}})$`,
)

/** Whether `account` can log in through the guard: a non-empty string a cookie can carry. */
const isAccount = (account) =>
  typeof account === 'string' && account !== '' && Buffer.byteLength(account, 'utf8') <= MAX_ACCOUNT_BYTES

const encodeAccount = (account) => Buffer.from(account, 'utf8').toString('base64url')

/**
 * Issues and verifies device cookies under `keys` (checked by options.js: Buffers, Uint8Arrays or
 * strings of 32 bytes or more; keys[0] signs). The keys are copied into KeyObjects, so that a
 * caller who later changes the Buffer changes nothing here and no inspection of this object shows
 * their bytes.
 */
function createDeviceCookies({ keys, name, maxAgeMs, secure, sameSite, path }) {
  const macKeys = keys.map((key) => createSecretKey(Buffer.from(key)))
  const maxAgeSeconds = Math.floor(maxAgeMs / 1000)
  const attributes = `; Max-Age=${maxAgeSeconds}; Path=${path}; HttpOnly; SameSite=${sameSite}${secure ? '; Secure' : ''}`

  const macText = (key, payload) => Buffer.from(createHmac('sha256', key).update(payload).digest('base64url'))

  /** A new cookie for `account`, valid for maxAgeMs from `now`: its value, nonce and Set-Cookie header. */
  function issue(account, now) {
    const nonce = randomBytes(NONCE_BYTES).toString('base64url')
    const expires = Math.floor(now / 1000) + maxAgeSeconds
    const payload = `${VERSION}.${encodeAccount(account)}.${nonce}.${expires}`
    const value = `${payload}.${macText(macKeys[0], payload).toString()}`
    return { value, nonce, expiresAt: expires * 1000, setCookie: `${name}=${value}${attributes}` }
  }

  /**
   * What `value` proves for `account` at `now`: `{ valid: true, nonce, expiresAt }`, or
   * `{ valid: false, reason }` with reason 'malformed' (wrong length or shape: no crypto was done),
   * 'forged' (no key's MAC matches), 'account' (a genuine cookie of another account) or 'expired'.
   */
  function verify(value, account, now) {
    if (typeof value !== 'string' || value.length > MAX_VALUE_CHARS) return { valid: false, reason: 'malformed' }
    const parts = SHAPE.exec(value)
    if (parts === null) return { valid: false, reason: 'malformed' }
    const [, encodedAccount, nonce, expires, mac] = parts
    const payload = value.slice(0, value.length - MAC_CHARS - 1)
    const given = Buffer.from(mac)
    // Every key is tried, whichever matches: the time taken tells nothing of which one did.
    let genuine = false
    for (const key of macKeys) genuine = timingSafeEqual(macText(key, payload), given) || genuine
    if (!genuine) return { valid: false, reason: 'forged' }
    if (encodedAccount !== encodeAccount(account)) return { valid: false, reason: 'account' }
    const expiresAt = Number(expires) * 1000
    if (!(now < expiresAt)) return { valid: false, reason: 'expired' }
    return { valid: true, nonce, expiresAt }
  }

  return { name, issue, verify }
}

module.exports = { createDeviceCookies, isAccount, MAX_ACCOUNT_BYTES, MAX_VALUE_CHARS, NONCE_BYTES }
