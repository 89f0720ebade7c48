'use strict'

// guard.express() (lib/guard/express.js) in a real Express app, through supertest, over the fake
// bcrypt: its answers (400, 401, 429, 503 with Retry-After), the device cookie's round trip from
// Set-Cookie back to the Cookie header, `trust proxy` deciding the address, errors to next(err),
// and the compare aborted when the client hangs up.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const express = require('express')
const request = require('supertest')

const { readCookie } = require('../lib/guard/express.js')
const { hashOf, makeGuard, cookieValue, poolError } = require('./guard-helpers.js')

function app({ guardOptions = {}, trustProxy, users = { ann: hashOf('pw') }, hash } = {}) {
  const { guard, bcrypt } = makeGuard(guardOptions)
  const a = express()
  if (trustProxy !== undefined) a.set('trust proxy', trustProxy)
  a.post(
    '/login',
    express.json(),
    guard.express({
      account: (req) => req.body?.username,
      password: (req) => req.body?.password,
      hash: hash ?? (async (account) => users[account]),
    }),
    (req, res) => res.json({ ok: true, trusted: req.login.trusted }),
  )
  a.use((err, req, res, next) => res.status(500).json({ error: 'internal', code: err.code ?? null, message: err.message }))
  return { app: a, guard, bcrypt }
}

const login = (a, body, cookie) => {
  const r = request(a).post('/login').send(body)
  return cookie === undefined ? r : r.set('Cookie', cookie)
}

test('400 for missing, empty, non-string or overlong fields, before any compare', async () => {
  const { app: a, bcrypt } = app()
  for (const body of [{}, { username: 'ann' }, { password: 'pw' }, { username: '', password: 'pw' }, { username: 'ann', password: '' }, { username: 1, password: 'pw' }, { username: 'ann', password: ['pw'] }, { username: 'x'.repeat(257), password: 'pw' }]) {
    const res = await login(a, body).expect(400)
    assert.match(res.body.error, /account and password must be non-empty strings/)
  }
  assert.equal(bcrypt.calls.length, 0)
})

test('401, the same answer for a wrong password and for an account that does not exist', async () => {
  const { app: a, bcrypt } = app()
  const wrong = await login(a, { username: 'ann', password: 'nope' }).expect(401)
  const unknown = await login(a, { username: 'nobody', password: 'nope' }).expect(401)
  assert.deepEqual(wrong.body, { error: 'wrong username or password' })
  assert.deepEqual(unknown.body, wrong.body)
  assert.deepEqual(Object.keys(unknown.headers).sort(), Object.keys(wrong.headers).sort())
  assert.equal(wrong.headers['set-cookie'], undefined)
  assert.deepEqual(bcrypt.calls.map((c) => c.fn), ['compare', 'compareUnknown'])
})

test('200: the cookie is set with its attributes, req.login is the result, and the cookie makes the next login trusted', async () => {
  const { app: a, bcrypt } = app()
  const first = await login(a, { username: 'ann', password: 'pw' }).expect(200, { ok: true, trusted: false })
  const [setCookie] = first.headers['set-cookie']
  assert.match(setCookie, /^device=v1\.[\w-]+\.[\w-]{22}\.\d+\.[\w-]{43}; Max-Age=2592000; Path=\/; HttpOnly; SameSite=Strict; Secure$/)
  const value = cookieValue(setCookie)
  // Sent back among other cookies, as a browser would.
  await login(a, { username: 'ann', password: 'pw' }, `theme=dark; device=${value}; lang=en`).expect(200, { ok: true, trusted: true })
  assert.deepEqual(bcrypt.calls.map((c) => c.options.priority), ['normal', 'high'])
  // Another account's cookie is no use.
  await login(a, { username: 'bob', password: 'pw' }, `device=${value}`).expect(401)
  assert.equal(bcrypt.calls.at(-1).options.priority, 'normal')
})

test('secure: false (plain-http development): no Secure attribute, and a cookie jar sends it back over http', async () => {
  const { app: a } = app({ guardOptions: { cookie: { secure: false } } })
  const agent = request.agent(a)
  const first = await agent.post('/login').send({ username: 'ann', password: 'pw' }).expect(200, { ok: true, trusted: false })
  assert.doesNotMatch(first.headers['set-cookie'][0], /Secure/)
  await agent.post('/login').send({ username: 'ann', password: 'pw' }).expect(200, { ok: true, trusted: true })
  // With the default (Secure), the same jar keeps the cookie off plain http: never trusted.
  const secure = request.agent(app().app)
  await secure.post('/login').send({ username: 'ann', password: 'pw' }).expect(200, { ok: true, trusted: false })
  await secure.post('/login').send({ username: 'ann', password: 'pw' }).expect(200, { ok: true, trusted: false })
})

test('429 with Retry-After once the account is locked out; its trusted device still logs in', async () => {
  const { app: a, bcrypt } = app({ guardOptions: { lockout: { failures: 2, windowMs: 120_000 } } })
  const cookie = `device=${cookieValue((await login(a, { username: 'ann', password: 'pw' })).headers['set-cookie'][0])}`
  await login(a, { username: 'ann', password: 'x' }).expect(401)
  await login(a, { username: 'ann', password: 'y' }).expect(401)
  const computed = bcrypt.calls.length
  const locked = await login(a, { username: 'ann', password: 'pw' }).expect(429)
  assert.deepEqual(locked.body, { error: 'too many failed logins: try again later' })
  assert.ok(Number(locked.headers['retry-after']) > 100, locked.headers['retry-after'])
  assert.equal(bcrypt.calls.length, computed)
  await login(a, { username: 'ann', password: 'pw' }, cookie).expect(200, { ok: true, trusted: true })
})

test('503 with Retry-After when the pool refuses', async () => {
  const { app: a, bcrypt } = app()
  bcrypt.refuse(poolError('ERR_BCRYPT_DEADLINE', { waitMs: 2500 }))
  const res = await login(a, { username: 'ann', password: 'pw' }).expect(503)
  assert.equal(res.headers['retry-after'], '3')
  assert.deepEqual(res.body, { error: 'the server is busy: try again shortly' })
  bcrypt.refuse(poolError('ERR_BCRYPT_QUEUE_FULL'))
  assert.equal((await login(a, { username: 'nobody', password: 'pw' }).expect(503)).headers['retry-after'], '2')
})

test('other errors go to next(err): the hash lookup failing, a hash of the wrong type, the pool failing', async () => {
  const failing = app({ hash: async () => Promise.reject(Object.assign(new Error('db down'), { code: 'EDB' })) })
  assert.equal((await login(failing.app, { username: 'ann', password: 'pw' }).expect(500)).body.code, 'EDB')
  const typo = app({ hash: () => 42 })
  assert.equal((await login(typo.app, { username: 'ann', password: 'pw' }).expect(500)).body.code, 'ERR_INVALID_ARG_TYPE')
  const internal = app()
  internal.bcrypt.refuse(poolError('ERR_BCRYPT_INTERNAL'))
  assert.equal((await login(internal.app, { username: 'ann', password: 'pw' }).expect(500)).body.code, 'ERR_BCRYPT_INTERNAL')
  // A synchronous lookup works as well as a promise; null means no such account.
  const sync = app({ hash: (account) => (account === 'ann' ? hashOf('pw') : null) })
  await login(sync.app, { username: 'ann', password: 'pw' }).expect(200)
  await login(sync.app, { username: 'zed', password: 'pw' }).expect(401)
  assert.equal(sync.bcrypt.calls.at(-1).fn, 'compareUnknown')
})

test('the address is req.ip: X-Forwarded-For counts only when `trust proxy` says so', async () => {
  const direct = app()
  await login(direct.app, { username: 'ann', password: 'x' }).set('X-Forwarded-For', '203.0.113.5').expect(401)
  assert.equal(direct.bcrypt.calls[0].options.key, '127.0.0.1')
  const proxied = app({ trustProxy: 'loopback' })
  await login(proxied.app, { username: 'ann', password: 'x' }).set('X-Forwarded-For', '203.0.113.5').expect(401)
  await login(proxied.app, { username: 'ann', password: 'x' }).set('X-Forwarded-For', '2001:db8:7:7::99').expect(401)
  assert.deepEqual(proxied.bcrypt.calls.map((c) => c.options.key), ['203.0.113.5', '2001:db8:7:7::/64'])
})

test('the compare is aborted when the client hangs up', async () => {
  const { app: a, bcrypt } = app()
  bcrypt.hold()
  const server = http.createServer(a)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const body = JSON.stringify({ username: 'ann', password: 'pw' })
    const req = http.request({ port: server.address().port, host: '127.0.0.1', path: '/login', method: 'POST', headers: { 'content-type': 'application/json' } })
    req.on('error', () => {})
    req.end(body)
    while (bcrypt.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    const { signal } = bcrypt.calls[0]
    assert.equal(signal.aborted, false)
    req.destroy()
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    assert.match(signal.reason.message, /closed the connection/)
  } finally {
    bcrypt.release()
    server.close()
  }
})

test('guard.express() checks its handlers', () => {
  const { guard } = makeGuard()
  assert.throws(() => guard.express(), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => guard.express({ account: () => 'a', password: () => 'p' }), { code: 'ERR_INVALID_ARG_TYPE', message: /hash/ })
})

test('readCookie: the first value of the name, unquoted; none when absent', () => {
  assert.equal(readCookie('device=abc', 'device'), 'abc')
  assert.equal(readCookie('a=1; device="abc"; b=2', 'device'), 'abc')
  assert.equal(readCookie('xdevice=1; device=2; device=3', 'device'), '2')
  assert.equal(readCookie('device', 'device'), undefined)
  assert.equal(readCookie('a=1;;  device = v ', 'device'), 'v')
  assert.equal(readCookie('a=1', 'device'), undefined)
  assert.equal(readCookie(undefined, 'device'), undefined)
  assert.equal(readCookie('device=a=b', 'device'), 'a=b')
})
