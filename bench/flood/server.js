'use strict'

// One of the four login servers `npm run bench:flood` floods (bench/flood/run.js starts each in
// turn). They differ only in how /login checks the password:
//
//   MODE=guard              bcrypt-offload/guard over bcrypt-offload: device cookies, scheduled
//                           compares (trusted 'high' by account, others 'normal' by address),
//                           lockout, deadlines
//   MODE=offload            bcrypt-offload alone: every compare in one line, as before the guard
//   MODE=bcrypt             bcrypt (libuv's threadpool)
//   MODE=bcrypt-rate-limit  bcrypt behind express-rate-limit: 10 logins a minute per address
//
// All of them: users from USERS_FILE ({ name: hash }), `trust proxy` set to loopback (the clients'
// addresses come in X-Forwarded-For, from k6 on this machine), an unknown name compared against a
// decoy hash of cost COST (compareUnknown under the guard), and GET /health. bcrypt-offload's
// queue bound is the demo's: 8 jobs a lane; over it, 503.

const fs = require('node:fs')
const { randomBytes } = require('node:crypto')
const express = require('express')

const MODES = ['guard', 'offload', 'bcrypt', 'bcrypt-rate-limit']
const mode = process.env.MODE
const port = Number(process.env.PORT ?? 3200)
const cost = Number(process.env.COST ?? 10)
if (!MODES.includes(mode)) throw new RangeError(`MODE must be one of ${MODES.join(', ')}`)
const users = JSON.parse(fs.readFileSync(process.env.USERS_FILE, 'utf8'))
const hashOf = (name) => (Object.hasOwn(users, name) ? users[name] : undefined)

const credentials = (req) => {
  const { username, password } = req.body ?? {}
  return typeof username === 'string' && username !== '' && typeof password === 'string' && password !== '' ? { username, password } : null
}

function offloadPool() {
  const bcrypt = require('../..')
  const { threads, lanesPerThread } = bcrypt.stats()
  bcrypt.configure({ maxQueue: 8 * threads * lanesPerThread })
  return bcrypt
}

// A login without the guard: compare against the stored hash, or a decoy for an unknown name.
function plainLogin(compare, decoy) {
  return async (req, res) => {
    const c = credentials(req)
    if (!c) return res.status(400).json({ error: 'username and password required' })
    const stored = hashOf(c.username)
    try {
      const ok = await compare(c.password, stored ?? (await decoy))
      if (!ok || stored === undefined) return res.status(401).json({ error: 'wrong username or password' })
      res.json({ ok: true })
    } catch (err) {
      if (err.code === 'ERR_BCRYPT_QUEUE_FULL') return res.status(503).set('Retry-After', '1').json({ error: 'busy' })
      throw err
    }
  }
}

async function main() {
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', 'loopback')
  app.get('/health', (req, res) => res.json({ status: 'ok' }))

  if (mode === 'guard') {
    const { createGuard } = require('../../guard.js')
    const guard = createGuard({ bcrypt: offloadPool(), keys: [randomBytes(32)], rounds: cost })
    app.post(
      '/login',
      express.json(),
      (req, res, next) => (credentials(req) ? next() : res.status(400).json({ error: 'username and password required' })),
      guard.express({ account: (req) => req.body.username, password: (req) => req.body.password, hash: hashOf }),
      (req, res) => res.json({ ok: true, trusted: req.login.trusted }),
    )
  } else if (mode === 'offload') {
    const bcrypt = offloadPool()
    app.post('/login', express.json(), plainLogin((p, h) => bcrypt.compare(p, h), bcrypt.hash('decoy password', cost)))
  } else {
    const bcrypt = require('bcrypt')
    const login = plainLogin((p, h) => bcrypt.compare(p, h), bcrypt.hash('decoy password', cost))
    if (mode === 'bcrypt') app.post('/login', express.json(), login)
    else {
      const { rateLimit } = require('express-rate-limit')
      const limiter = rateLimit({ windowMs: 60_000, limit: 10, standardHeaders: 'draft-8', legacyHeaders: false })
      app.post('/login', limiter, express.json(), login)
    }
  }

  app.use((err, req, res, next) => {
    if (res.headersSent) return next(err)
    if (err.name === 'AbortError') return res.status(499).end()
    console.error(err)
    res.status(500).json({ error: 'internal error' })
  })
  const server = app.listen(port, '127.0.0.1', () => console.log(`flood server (${mode}, cost ${cost}) on http://127.0.0.1:${port}`))
  // k6's keep-alive sockets would hold close() open; queued work is dropped with the process.
  const stop = () => (server.close(() => process.exit(0)), server.closeAllConnections())
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
