'use strict'

// The demo API: register, login, health, metrics and a static page, on any bcrypt backend.

const path = require('node:path')
const express = require('express')

const { metrics } = require('./metrics')
const { createDemoGuard } = require('./guard')

/**
 * @param {object} o
 * @param {ReturnType<import('./users').openUsers>} o.users
 * @param {ReturnType<import('./backends').load>} o.backend
 * @param {number} o.cost bcrypt cost for new hashes
 * @param {import('express').Router[]} [o.routes] more routes (the live page's: demo/live.js,
 *   demo/burst.js, demo/attack.js), mounted before the error handler so that their errors get the
 *   same answers
 * @param {import('../guard').Guard} [o.guard] the login guard (demo/guard.js); by default one of
 *   this app's own, with a random key
 * @param {ReturnType<import('./policy').createPolicySwitch>} [o.policy] the password policy
 *   (bcrypt-offload/passwords): when given, registrations hash with it and logins verify any stored
 *   format and upgrade it; else `backend` hashes and compares bcrypt at `cost`
 * @param {boolean | number | string} [o.trustProxy] Express's `trust proxy` (env TRUST_PROXY):
 *   which proxies' X-Forwarded-For gives the client address that the guard's fair shares key on
 */
function createApp({ users, backend, cost, routes = [], policy, guard = createDemoGuard({ backend, cost, policy }), trustProxy }) {
  const app = express()
  const registry = metrics(backend)

  app.disable('x-powered-by')
  if (trustProxy !== undefined) app.set('trust proxy', trustProxy)
  app.use(express.json({ limit: '16kb' }))
  app.use(express.static(path.join(__dirname, 'public')))
  // The page's charting library, served from node_modules: the demo needs no network but npm's.
  app.use('/vendor/chart.js', express.static(path.dirname(require.resolve('chart.js'))))

  // Drops the hashing when the client hangs up first (offload backend only; others ignore it).
  const abortOnClose = (req, res) => {
    const controller = new AbortController()
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('client closed the connection'))
    })
    return controller.signal
  }

  const credentials = (req) => {
    const { username, password } = req.body ?? {}
    if (typeof username !== 'string' || username === '' || typeof password !== 'string' || password === '') {
      const err = new Error('body must be JSON with non-empty string fields "username" and "password"')
      err.status = 400
      throw err
    }
    return { username, password }
  }

  app.post('/register', async (req, res) => {
    const { username, password } = credentials(req)
    if (users.hashOf(username) !== undefined) return res.status(409).json({ error: 'username taken' })
    // A registration waits its turn among the logins of the normal class, keyed by its address.
    const schedule = { priority: 'normal', key: req.ip }
    const signal = abortOnClose(req, res)
    const hash = policy ? await policy.current().hash(password, { ...schedule, signal }) : await backend.hash(password, cost, signal, schedule)
    if (!users.add(username, hash)) return res.status(409).json({ error: 'username taken' })
    res.status(201).json({ username })
  })

  // Logins through the guard (bcrypt-offload/guard): a browser that logged in here before holds a
  // device cookie, and its logins go ahead of everyone else's; an unknown name costs the same work
  // as a wrong password, so that timing does not tell which names are registered; an account under
  // guessing is locked out for unknown clients only. It answers 401, 429 and 503 itself.
  app.post(
    '/login',
    (req, res, next) => (credentials(req), next()),
    guard.express({
      account: (req) => req.body.username,
      password: (req) => req.body.password,
      hash: (username) => users.hashOf(username),
    }),
    async (req, res) => {
      const { username, password } = req.body
      const stored = users.hashOf(username)
      // Rehash on login: the one moment the password is at hand to move an old hash to today's
      // cost, or (with a policy) from any format to today's. In the low class, behind every login.
      // Best effort: a busy pool must not turn a correct login into an error; it retries next login.
      const rehash = policy
        ? policy.current().needsRehash(stored) && (() => policy.current().hash(password, { priority: 'low' }))
        : backend.needsRehash?.(stored, cost) && (() => backend.hash(password, cost, undefined, { priority: 'low' }))
      if (rehash) {
        try {
          users.replaceHash(username, await rehash())
        } catch (err) {
          if (!['ERR_BCRYPT_QUEUE_FULL', 'ERR_BCRYPT_DEADLINE'].includes(err.code) && err.name !== 'AbortError') console.error(err)
        }
      }
      res.json(req.login.trusted ? { ok: true, trusted: true } : { ok: true })
    },
  )

  app.get('/health', (req, res) => res.json({ status: 'ok' }))

  app.get('/metrics', async (req, res) => {
    res.type(registry.contentType).send(await registry.metrics())
  })

  for (const router of policy ? [policy.router, ...routes] : routes) app.use(router)

  // Malformed JSON, missing fields, a full queue, a hung-up client, anything else.
  app.use((err, req, res, next) => {
    if (res.headersSent) return next(err)
    if (err.type === 'entity.parse.failed') return res.status(400).json({ error: 'malformed JSON' })
    if (err.status === 400 || err.type === 'entity.too.large') return res.status(err.status).json({ error: err.message })
    if (err.code === 'ERR_BCRYPT_QUEUE_FULL') {
      return res.status(503).set('Retry-After', '1').json({ error: 'busy: too many logins at once, retry shortly' })
    }
    // The queue backend: Redis unreachable, or no worker answered in time.
    if (err.code === 'ERR_BCRYPT_QUEUE_UNAVAILABLE' || err.code === 'ERR_BCRYPT_QUEUE_TIMEOUT') {
      console.error(err.message)
      return res.status(503).set('Retry-After', '5').json({ error: 'the hashing tier is unavailable, retry shortly' })
    }
    if (err.name === 'AbortError') return res.status(499).end()
    console.error(err)
    res.status(500).json({ error: 'internal error' })
  })

  return app
}

module.exports = { createApp }
