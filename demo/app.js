'use strict'

// The demo API: register, login, health, metrics and a static page, on any bcrypt backend.

const path = require('node:path')
const express = require('express')

const { metrics } = require('./metrics')

/**
 * @param {object} o
 * @param {ReturnType<import('./users').openUsers>} o.users
 * @param {ReturnType<import('./backends').load>} o.backend
 * @param {number} o.cost bcrypt cost for new hashes
 * @param {import('express').Router[]} [o.routes] more routes (the live page's: demo/live.js,
 *   demo/burst.js), mounted before the error handler so that their errors get the same answers
 */
function createApp({ users, backend, cost, routes = [] }) {
  const app = express()
  const registry = metrics(backend)
  // Compared against when the user does not exist, so that a wrong name takes as long as a wrong
  // password and login timing does not tell which names are registered.
  const decoy = backend.hash('decoy password', cost)
  // Handled where it is awaited; until then a failure (a bad pool setting) must not crash start-up.
  decoy.catch(() => {})

  app.disable('x-powered-by')
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
    const hash = await backend.hash(password, cost, abortOnClose(req, res))
    if (!users.add(username, hash)) return res.status(409).json({ error: 'username taken' })
    res.status(201).json({ username })
  })

  app.post('/login', async (req, res) => {
    const { username, password } = credentials(req)
    const stored = users.hashOf(username)
    const ok = await backend.compare(password, stored ?? (await decoy), abortOnClose(req, res))
    if (!ok || stored === undefined) return res.status(401).json({ error: 'wrong username or password' })
    // Rehash on login: the one moment the password is at hand to move an old hash to today's cost.
    // Best effort: a busy pool must not turn a correct login into an error; it retries next login.
    if (backend.needsRehash?.(stored, cost)) {
      try {
        users.replaceHash(username, await backend.hash(password, cost))
      } catch (err) {
        if (err.code !== 'ERR_BCRYPT_QUEUE_FULL' && err.name !== 'AbortError') console.error(err)
      }
    }
    res.json({ ok: true })
  })

  app.get('/health', (req, res) => res.json({ status: 'ok' }))

  app.get('/metrics', async (req, res) => {
    res.type(registry.contentType).send(await registry.metrics())
  })

  for (const router of routes) app.use(router)

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
