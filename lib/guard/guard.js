'use strict'

// The guard's core: one login attempt, by OWASP's device-cookie protocol, scheduled on the pool so
// that a flood of guesses cannot starve the users it does not come from.
//
//   a valid, unexpired device cookie of this account, its device not locked out
//     → trusted: compared in the 'high' class, keyed by the account, within timeout.trusted;
//       a failure counts against that cookie alone (its nonce)
//   anything else (no cookie, a bad or expired one, another account's, a locked-out device)
//     → untrusted: refused with 429 without computing while the account is locked out for
//       untrusted clients; else compared in the 'normal' class, keyed by `fairness`, within
//       timeout.untrusted; a failure counts against the account
//   no such account → compareUnknown: the same work, class, key and deadline, and the same 401
//   success → a fresh cookie (a new nonce)
//   the pool refused (ERR_BCRYPT_DEADLINE, ERR_BCRYPT_QUEUE_FULL) → 503: nothing was computed and
//     nothing is counted
//
// A wrong password and an unknown account are counted alike and answered alike, 401 and then 429,
// so neither the answers nor their timing tell which accounts exist.

const { types } = require('node:util')

const { guardOptions } = require('./options.js')
const { createDeviceCookies, MAX_ACCOUNT_BYTES } = require('./cookie.js')
const { createLockout } = require('./lockout.js')
const { addressKey } = require('./address.js')
const { expressMiddleware } = require('./express.js')
const { typeError, rangeError } = require('./errors.js')

/** What the pool rejects with when it refuses a job it could not start in time, or has no room for. */
const BUSY_CODES = new Set(['ERR_BCRYPT_DEADLINE', 'ERR_BCRYPT_QUEUE_FULL'])

// Seconds to wait after a refusal: the work the pool said was queued ahead (a deadline refusal's
// `waitMs`), else the deadline itself, from 1 s to a minute.
function retryAfterBusy(err, timeoutMs) {
  const ms = typeof err.waitMs === 'number' && Number.isFinite(err.waitMs) ? err.waitMs : timeoutMs
  return Math.min(60, Math.max(1, Math.ceil(ms / 1000)))
}

const ACCOUNT = `a non-empty string of at most ${MAX_ACCOUNT_BYTES} bytes as UTF-8`
// An address is a fair-share key, and the pool bounds keys (1,024 characters): with an account's
// 256 bytes and a separator, 256 characters of address keep `both` within it.
const MAX_ADDRESS_CHARS = 256

function checkAccount(what, account) {
  if (typeof account !== 'string' || account === '') throw typeError(what, ACCOUNT, account)
  const bytes = Buffer.byteLength(account, 'utf8')
  if (bytes > MAX_ACCOUNT_BYTES) throw rangeError(what, ACCOUNT, `${bytes} bytes`)
  return account
}

// login()'s argument, checked. The errors name the field and its type, never its value.
function loginInput(input) {
  if (input === null || typeof input !== 'object') throw typeError('login()\'s argument', 'an object', input)
  const { account, password, hash, address = '', deviceCookie, signal } = input
  checkAccount('account', account)
  if (typeof password !== 'string' && !types.isUint8Array(password)) throw typeError('password', 'a string or a Uint8Array', password)
  if (hash != null && typeof hash !== 'string') throw typeError('hash', 'a string, or undefined for no such account', hash)
  if (typeof address !== 'string') throw typeError('address', 'a string', address)
  if (address.length > MAX_ADDRESS_CHARS) throw rangeError('address', `at most ${MAX_ADDRESS_CHARS} characters`, address.length)
  if (deviceCookie != null && typeof deviceCookie !== 'string') throw typeError('deviceCookie', 'a string or undefined', deviceCookie)
  return { account, password, hash: hash ?? undefined, address, deviceCookie: deviceCookie ?? undefined, signal }
}

/**
 * A guard for password logins over `bcrypt` (an object with compare() and compareUnknown(), such as
 * bcrypt-offload once its scheduler is in); the options are documented in guard.d.ts.
 */
function createGuard(options) {
  const { bcrypt, keys, rounds, fairness, lockout: lockoutOptions, timeout, cookie } = guardOptions(options)
  const cookies = createDeviceCookies({ keys, ...cookie })
  const lockout = createLockout(lockoutOptions)

  const fairKey = {
    address: (account, address) => addressKey(address),
    account: (account) => account,
    both: (account, address) => `${account}|${addressKey(address)}`,
  }[fairness]

  // Which lockout the attempt counts against, and whether it is trusted: the device's when its
  // cookie is valid for this account and the device is not locked out, else the account's. Null
  // when the account is locked out for untrusted clients. Each key returned has been entered.
  async function admit(account, deviceCookie, now) {
    const device = deviceCookie === undefined ? undefined : cookies.verify(deviceCookie, account, now)
    if (device?.valid) {
      const key = `device:${device.nonce}`
      if ((await lockout.enter(key, now)).allowed) return { trusted: true, key }
    }
    const key = `account:${account}`
    const state = await lockout.enter(key, now)
    return state.allowed ? { trusted: false, key } : { locked: state.retryAfter }
  }

  async function login(input) {
    const { account, password, hash, address, deviceCookie, signal } = loginInput(input)
    const admitted = await admit(account, deviceCookie, Date.now())
    if (admitted.locked !== undefined) return { ok: false, trusted: false, status: 429, reason: 'locked', retryAfter: admitted.locked }
    const { trusted, key } = admitted

    const schedule = trusted
      ? { priority: 'high', key: account, timeout: timeout.trusted }
      : { priority: 'normal', key: fairKey(account, address), timeout: timeout.untrusted }
    if (signal !== undefined) schedule.signal = signal
    let same
    try {
      same =
        hash === undefined
          ? await bcrypt.compareUnknown(password, { rounds, ...schedule })
          : await bcrypt.compare(password, hash, schedule)
    } catch (err) {
      // Not computed (refused, aborted) or failed: not a guess that was checked, so not counted.
      await lockout.leave(key, false, Date.now())
      if (!BUSY_CODES.has(err?.code)) throw err
      return { ok: false, trusted, status: 503, reason: 'busy', retryAfter: retryAfterBusy(err, schedule.timeout) }
    }
    const ok = same === true && hash !== undefined
    await lockout.leave(key, !ok, Date.now())
    if (!ok) return { ok: false, trusted, status: 401, reason: 'wrong' }
    return { ok: true, trusted, status: 200, reason: 'ok', setCookie: cookies.issue(account, Date.now()).setCookie }
  }

  /**
   * A Set-Cookie header value that makes the browser a trusted device of `account`, for a login
   * proved another way (a password-reset link, say: OWASP's answer to a locked-out user).
   */
  function issueCookie(account) {
    return cookies.issue(checkAccount('account', account), Date.now()).setCookie
  }

  const guard = { login, issueCookie, cookieName: cookie.name }
  guard.express = (handlers) => expressMiddleware(guard, handlers)
  return guard
}

module.exports = { createGuard, BUSY_CODES }
