'use strict'

// createGuard's options: checked all at once, before anything is built, and completed with the
// defaults. Every refusal is a TypeError or RangeError with a Node-style code (errors.js) that
// names the option and never shows a key.

const { typeError, valueError, rangeError } = require('./errors.js')
const { memoryStore, DEFAULT_MAX_ENTRIES } = require('./lockout.js')

const MIN_KEY_BYTES = 32
const FAIRNESS = ['address', 'account', 'both']
const SAME_SITE = { strict: 'Strict', lax: 'Lax', none: 'None' }
// RFC 6265's cookie-name is an RFC 7230 token; a path may hold any visible ASCII but ';'.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/
// setTimeout's longest delay, and so the longest deadline worth asking for.
const MAX_MS = 2 ** 31 - 1
// Browsers cap a cookie's Max-Age at 400 days (RFC 6265bis); a longer lockout window is a ban.
const MAX_DAYS_MS = 400 * 86_400_000

const DEFAULTS = {
  rounds: 10,
  fairness: 'address',
  lockout: { failures: 10, windowMs: 15 * 60_000 },
  timeout: { trusted: 1000, untrusted: 2000 },
  cookie: { name: 'device', maxAgeMs: 30 * 86_400_000, secure: true, sameSite: 'Strict', path: '/' },
}

const isPlainObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value)

function object(what, value) {
  if (value === undefined) return {}
  if (!isPlainObject(value)) throw typeError(what, 'an object', value)
  return value
}

function integer(what, value, min, max) {
  if (typeof value !== 'number') throw typeError(what, 'a number', value)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw rangeError(what, `a whole number from ${min} to ${max}`, Number.isFinite(value) ? value : String(value))
  }
  return value
}

function milliseconds(what, value, min = 1, max = MAX_MS) {
  if (typeof value !== 'number') throw typeError(what, 'a number of milliseconds', value)
  if (!(value >= min && value <= max)) throw rangeError(what, `from ${min} to ${max} ms`, Number.isFinite(value) ? value : String(value))
  return value
}

function oneOf(what, value, allowed) {
  if (typeof value !== 'string') throw typeError(what, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value)
  if (!allowed.includes(value)) throw valueError(what, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`)
  return value
}

function checkBcrypt(bcrypt) {
  const expected = 'an object with compare(data, hash, options) and compareUnknown(data, options), such as bcrypt-offload'
  if (bcrypt === null || (typeof bcrypt !== 'object' && typeof bcrypt !== 'function')) throw typeError('options.bcrypt', expected, bcrypt)
  for (const method of ['compare', 'compareUnknown']) {
    if (typeof bcrypt[method] !== 'function') throw typeError(`options.bcrypt.${method}`, 'a function', bcrypt[method])
  }
  return bcrypt
}

// Keys are secrets: a refusal gives the position and, for a short one, its length in bytes.
function checkKeys(keys) {
  if (!Array.isArray(keys)) throw typeError('options.keys', 'an array of Buffers or strings', keys)
  if (keys.length === 0) throw valueError('options.keys', 'a non-empty array: keys[0] signs device cookies')
  return keys.map((key, i) => {
    if (typeof key !== 'string' && !ArrayBuffer.isView(key)) throw typeError(`options.keys[${i}]`, 'a Buffer, a Uint8Array or a string', key)
    const bytes = typeof key === 'string' ? Buffer.byteLength(key, 'utf8') : key.byteLength
    if (bytes < MIN_KEY_BYTES) throw rangeError(`options.keys[${i}]`, `at least ${MIN_KEY_BYTES} bytes`, `${bytes} bytes`)
    return key
  })
}

function checkLockout(value) {
  const o = object('options.lockout', value)
  const failures = integer('options.lockout.failures', o.failures ?? DEFAULTS.lockout.failures, 1, 1_000_000)
  const windowMs = milliseconds('options.lockout.windowMs', o.windowMs ?? DEFAULTS.lockout.windowMs, 1000, MAX_DAYS_MS)
  if (o.store !== undefined) {
    if (o.maxEntries !== undefined) throw valueError('options.lockout', 'either a store or maxEntries (which sizes the built-in store)')
    const { store } = o
    if (store === null || typeof store !== 'object') throw typeError('options.lockout.store', 'an object with get() and hit()', store)
    for (const method of ['get', 'hit']) {
      if (typeof store[method] !== 'function') throw typeError(`options.lockout.store.${method}`, 'a function', store[method])
    }
    return { failures, windowMs, store }
  }
  const maxEntries = integer('options.lockout.maxEntries', o.maxEntries ?? DEFAULT_MAX_ENTRIES, 1, 2 ** 32)
  return { failures, windowMs, store: memoryStore({ maxEntries }) }
}

function checkTimeout(value) {
  const o = object('options.timeout', value)
  return {
    trusted: milliseconds('options.timeout.trusted', o.trusted ?? DEFAULTS.timeout.trusted),
    untrusted: milliseconds('options.timeout.untrusted', o.untrusted ?? DEFAULTS.timeout.untrusted),
  }
}

function checkCookie(value) {
  const given = object('options.cookie', value)
  const o = { ...DEFAULTS.cookie }
  for (const [name, v] of Object.entries(given)) if (v !== undefined) o[name] = v
  if (typeof o.name !== 'string') throw typeError('options.cookie.name', 'a string', o.name)
  if (!COOKIE_NAME.test(o.name)) throw valueError('options.cookie.name', 'a cookie name (letters, digits and !#$%&\'*+-.^_`|~)')
  const maxAgeMs = milliseconds('options.cookie.maxAgeMs', o.maxAgeMs, 1000, MAX_DAYS_MS)
  if (typeof o.secure !== 'boolean') throw typeError('options.cookie.secure', 'a boolean', o.secure)
  if (typeof o.sameSite !== 'string') throw typeError('options.cookie.sameSite', "'Strict', 'Lax' or 'None'", o.sameSite)
  const sameSite = SAME_SITE[o.sameSite.toLowerCase()]
  if (sameSite === undefined) throw valueError('options.cookie.sameSite', "'Strict', 'Lax' or 'None'")
  if (typeof o.path !== 'string') throw typeError('options.cookie.path', 'a string', o.path)
  if (!COOKIE_PATH.test(o.path)) throw valueError('options.cookie.path', "a path starting with '/', without ';', spaces or control characters")
  // Browsers drop these combinations; refusing them here saves a silent failure in production.
  if (sameSite === 'None' && !o.secure) throw valueError('options.cookie', "secure: true when sameSite is 'None' (browsers drop such a cookie otherwise)")
  if (/^__(Secure|Host)-/i.test(o.name) && !o.secure) throw valueError('options.cookie', 'secure: true for a name starting __Secure- or __Host-')
  if (/^__Host-/i.test(o.name) && o.path !== '/') throw valueError('options.cookie', "path: '/' for a name starting __Host-")
  return { name: o.name, maxAgeMs, secure: o.secure, sameSite, path: o.path }
}

/** The options of createGuard, checked and completed with the defaults. */
function guardOptions(options) {
  if (!isPlainObject(options)) throw typeError('options', 'an object', options)
  return {
    bcrypt: checkBcrypt(options.bcrypt),
    keys: checkKeys(options.keys),
    rounds: integer('options.rounds', options.rounds ?? DEFAULTS.rounds, 4, 31),
    fairness: oneOf('options.fairness', options.fairness ?? DEFAULTS.fairness, FAIRNESS),
    lockout: checkLockout(options.lockout),
    timeout: checkTimeout(options.timeout),
    cookie: checkCookie(options.cookie),
  }
}

module.exports = { guardOptions, DEFAULTS, MIN_KEY_BYTES }
