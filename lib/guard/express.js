'use strict'

// guard.express(): the guard as an Express handler for a login route. It reads the account and
// password through the app's own functions, the client's address from `req.ip` (so the app's
// `trust proxy` setting decides whether X-Forwarded-For counts) and the device cookie from the
// Cookie header, which it parses itself (no cookie-parser). On success it sets the fresh cookie,
// puts the result on `req.login` and calls next(); otherwise it answers: 400 for a missing or
// malformed field, 401 for a wrong username or password (one answer whether the account exists or
// not), 429 when locked out and 503 when the pool refused, both with Retry-After. Anything else
// (the app's hash lookup failing, the client hanging up) goes to next(err).

const { isAccount, MAX_ACCOUNT_BYTES } = require('./cookie.js')
const { typeError } = require('./errors.js')

const ANSWERS = {
  wrong: 'wrong username or password',
  locked: 'too many failed logins: try again later',
  busy: 'the server is busy: try again shortly',
}
const BAD_FIELDS = `account and password must be non-empty strings, the account at most ${MAX_ACCOUNT_BYTES} bytes`

/**
 * The first value of the cookie `name` in a Cookie header, unquoted, or undefined. Browsers send
 * the cookie with the longest matching path first, so the first is the one this route set.
 */
function readCookie(header, name) {
  if (typeof header !== 'string') return undefined
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue
    const value = pair.slice(eq + 1).trim()
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
  }
  return undefined
}

// Aborts the compare when the client hangs up before the answer: bcrypt-offload then drops the job.
function abortOnClose(res) {
  const controller = new AbortController()
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client closed the connection'))
  })
  return controller.signal
}

/** The middleware of `guard` with the app's `{ account, password, hash }` functions. */
function expressMiddleware(guard, handlers) {
  if (handlers === null || typeof handlers !== 'object') {
    throw typeError("guard.express()'s argument", 'an object with account, password and hash functions', handlers)
  }
  for (const name of ['account', 'password', 'hash']) {
    if (typeof handlers[name] !== 'function') throw typeError(`guard.express({ ${name} })`, 'a function', handlers[name])
  }
  const { account: accountOf, password: passwordOf, hash: hashOf } = handlers

  return async function guardLogin(req, res, next) {
    try {
      const account = accountOf(req)
      const password = passwordOf(req)
      if (!isAccount(account) || typeof password !== 'string' || password === '') {
        return res.status(400).json({ error: BAD_FIELDS })
      }
      const hash = await hashOf(account)
      const result = await guard.login({
        account,
        password,
        hash,
        // req.ip is undefined once the socket is gone; the compare is then aborted anyway.
        address: req.ip ?? req.socket?.remoteAddress ?? '',
        deviceCookie: readCookie(req.headers.cookie, guard.cookieName),
        signal: abortOnClose(res),
      })
      if (result.ok) {
        res.append('Set-Cookie', result.setCookie)
        req.login = result
        return next()
      }
      if (result.retryAfter !== undefined) res.set('Retry-After', String(result.retryAfter))
      res.status(result.status).json({ error: ANSWERS[result.reason] })
    } catch (err) {
      next(err)
    }
  }
}

module.exports = { expressMiddleware, readCookie }
