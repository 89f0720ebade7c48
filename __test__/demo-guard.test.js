'use strict'

// The login guard in the demo (demo/guard.js, demo/app.js's /login, demo/attack.js), through
// supertest: the device cookie's round trip over plain http, the lockout, what each route asks of
// the scheduler (registration 'normal', rehash 'low', logins by trust), `trust proxy`, GUARD_KEYS,
// and the page's attack: its caps (400), one at a time (409), and a short one run to its figures.
// No timing thresholds.

const test = require('node:test')
const assert = require('node:assert/strict')
const { setTimeout: sleep } = require('node:timers/promises')
const request = require('supertest')

const bcrypt = require('..')
const { createApp } = require('../demo/app')
const { openUsers } = require('../demo/users')
const backends = require('../demo/backends')
const { opCounter } = require('../demo/ops')
const { createLive } = require('../demo/live')
const { createAttack, LIMITS } = require('../demo/attack')
const { createDemoGuard, guardKeys } = require('../demo/guard')

const post = (app, route, body, cookie) => {
  const r = request(app).post(route).set('content-type', 'application/json').send(body)
  return cookie ? r.set('Cookie', cookie) : r
}
const deviceCookie = (res) => res.headers['set-cookie'][0].split(';')[0]

// The offload backend with every call's schedule (its fourth argument, after the signal) recorded.
function recordingBackend() {
  const real = backends.load('offload')
  const calls = []
  const record = (fn, name) => (...args) => (calls.push([name, args[3]]), fn(...args))
  const backend = { ...real, hash: record(real.hash, 'hash'), compare: record(real.compare, 'compare') }
  if (real.compareUnknown) backend.compareUnknown = record(real.compareUnknown, 'compareUnknown')
  return { backend, calls }
}

function start({ cost = 4, backend = backends.load('offload'), trustProxy } = {}) {
  const users = openUsers()
  const app = createApp({ users, backend, cost, trustProxy })
  return { app, users }
}

test('/login sets a device cookie over plain http; with it the next login is trusted', async () => {
  const { app, users } = start()
  await post(app, '/register', { username: 'ann', password: 'pw' }).expect(201)
  const first = await post(app, '/login', { username: 'ann', password: 'pw' }).expect(200, { ok: true })
  // The demo serves plain http: no Secure attribute, or the browser would never send it back.
  assert.match(first.headers['set-cookie'][0], /^device=v1\.[^;]+; Max-Age=2592000; Path=\/; HttpOnly; SameSite=Strict$/)
  await post(app, '/login', { username: 'ann', password: 'pw' }, deviceCookie(first)).expect(200, { ok: true, trusted: true })
  // Missing fields are still the demo's own 400.
  const bad = await post(app, '/login', { username: 'ann' }).expect(400)
  assert.match(bad.body.error, /username.*password/)
  users.close()
})

test('wrong password and unknown name: the same 401; after 10 failures 429, but not for the trusted device', async () => {
  const { app, users } = start()
  await post(app, '/register', { username: 'ann', password: 'pw' }).expect(201)
  const cookie = deviceCookie(await post(app, '/login', { username: 'ann', password: 'pw' }).expect(200))
  const wrong = await post(app, '/login', { username: 'ann', password: 'nope' }).expect(401)
  const unknown = await post(app, '/login', { username: 'nobody', password: 'nope' }).expect(401)
  assert.deepEqual(wrong.body, { error: 'wrong username or password' })
  assert.deepEqual(unknown.body, wrong.body)
  for (let i = 0; i < 9; i++) await post(app, '/login', { username: 'ann', password: `nope ${i}` }).expect(401)
  const locked = await post(app, '/login', { username: 'ann', password: 'pw' }).expect(429)
  assert.ok(Number(locked.headers['retry-after']) > 0)
  await post(app, '/login', { username: 'ann', password: 'pw' }, cookie).expect(200, { ok: true, trusted: true })
  users.close()
})

test('what each route asks of the scheduler: registration normal, rehash low, logins by trust and address', async () => {
  const { backend, calls } = recordingBackend()
  const users = openUsers()
  const old = createApp({ users, backend, cost: 4 })
  await post(old, '/register', { username: 'ann', password: 'pw' }).expect(201)
  // A newer cost: the next login rehashes.
  const app = createApp({ users, backend, cost: 5, trustProxy: 'loopback' })
  const first = await post(app, '/login', { username: 'ann', password: 'pw' }).set('X-Forwarded-For', '203.0.113.7').expect(200)
  await post(app, '/login', { username: 'ann', password: 'pw' }, deviceCookie(first)).expect(200)
  await post(app, '/login', { username: 'nobody', password: 'pw' }).set('X-Forwarded-For', '2001:db8:5:6::1').expect(401)
  // Leaving out the decoy hashes each app makes at start when the package has no compareUnknown.
  const work = calls.filter(([name, schedule]) => !(name === 'hash' && schedule === undefined))
  const [, registration] = work.shift()
  assert.equal(registration.priority, 'normal')
  assert.match(registration.key, /127\.0\.0\.1$/)
  // With no compareUnknown, the unknown name is a compare against the decoy, scheduled the same.
  const unknown = typeof bcrypt.compareUnknown === 'function' ? 'compareUnknown' : 'compare'
  assert.deepEqual(work, [
    ['compare', { priority: 'normal', key: '203.0.113.7', timeout: 2000 }],
    ['hash', { priority: 'low' }],
    ['compare', { priority: 'high', key: 'ann', timeout: 1000 }],
    [unknown, { priority: 'normal', key: '2001:db8:5:6::/64', timeout: 2000 }],
  ])
  assert.equal(bcrypt.getRounds(users.hashOf('ann')), 5)
  users.close()
})

test('without trust proxy, X-Forwarded-For is ignored: the socket address keys the fair share', async () => {
  const { backend, calls } = recordingBackend()
  const { app, users } = start({ backend })
  await post(app, '/login', { username: 'nobody', password: 'pw' }).set('X-Forwarded-For', '203.0.113.7').expect(401)
  const [, schedule] = calls.find(([name]) => name !== 'hash')
  assert.equal(schedule.key, '127.0.0.1')
  users.close()
})

test('GUARD_KEYS: comma-separated base64, the first signs; unset, a random key with a note; bad ones refused', () => {
  const notes = []
  const [random] = guardKeys({}, (line) => notes.push(line))
  assert.equal(random.length, 32)
  assert.match(notes[0], /GUARD_KEYS is not set/)
  const a = Buffer.alloc(32, 1)
  const b = Buffer.alloc(48, 2)
  assert.deepEqual(guardKeys({ GUARD_KEYS: `${a.toString('base64')}, ${b.toString('base64')}` }), [a, b])
  assert.throws(() => guardKeys({ GUARD_KEYS: `${a.toString('base64')},not base64!` }), /key 2 is not base64/)
  // Too short: createGuard says which, never the key.
  const short = Buffer.alloc(16, 3).toString('base64')
  assert.throws(
    () => createDemoGuard({ backend: backends.load('offload'), cost: 4, keys: guardKeys({ GUARD_KEYS: short }) }),
    (err) => err.code === 'ERR_OUT_OF_RANGE' && !err.message.includes(short),
  )
  // A rotated key list verifies cookies of the old key.
  const backend = backends.load('offload')
  const old = createDemoGuard({ backend, cost: 4, keys: [a] })
  const rotated = createDemoGuard({ backend, cost: 4, keys: [b, a] })
  const value = old.issueCookie('ann').split(';')[0].split('=')[1]
  return rotated.login({ account: 'ann', password: 'x', hash: '$2b$04$CCCCCCCCCCCCCCCCCCCCC.', deviceCookie: value }).then((r) => assert.equal(r.trusted, true))
})

function startAttackPage({ cost = 4 } = {}) {
  const ops = opCounter()
  const live = createLive({ pool: bcrypt, ops, intervalMs: 100 })
  const users = openUsers()
  const backend = ops.wrap(backends.load('offload'))
  const guard = createDemoGuard({ backend, cost })
  const attack = createAttack({ live, guard, users, backend, cost })
  const app = createApp({ users, backend, cost, guard, routes: [live.router, attack.router] })
  return { app, close: () => (users.close(), live.stop()) }
}

async function finished(app, id) {
  for (;;) {
    const run = (await request(app).get('/attack').expect(200)).body.runs.find((r) => r.id === id)
    if (run.status === 'done' || run.status === 'failed') return run
    await sleep(50)
  }
}

test('an attack is refused with 400 unless rate, addresses and seconds are within the caps', async () => {
  const { app, close } = startAttackPage()
  const good = { rate: 10, addresses: 10, seconds: 1 }
  for (const body of [{}, { ...good, rate: 0 }, { ...good, rate: LIMITS.rate.max + 1 }, { ...good, addresses: 1.5 }, { ...good, seconds: '1' }, { ...good, seconds: LIMITS.seconds.max + 1 }, { ...good, target: 42 }, { ...good, target: '' }]) {
    const res = await post(app, '/attack', body).expect(400)
    assert.match(res.body.error, /must be/)
  }
  const info = (await request(app).get('/attack').expect(200)).body
  assert.deepEqual(info.limits, LIMITS)
  assert.equal(info.cost, 4)
  assert.deepEqual(info.runs, [])
  close()
})

test('an attack runs to its figures, one at a time; the target\'s trusted device logs in throughout', { timeout: 60_000 }, async () => {
  const { app, close } = startAttackPage()
  await post(app, '/register', { username: 'me', password: 'pw' }).expect(201)
  const cookie = deviceCookie(await post(app, '/login', { username: 'me', password: 'pw' }).expect(200))
  const started = await post(app, '/attack', { rate: 200, addresses: 50, seconds: 2, target: 'me' }).expect(202)
  await post(app, '/attack', { rate: 10, addresses: 1, seconds: 1 }).expect(409)
  while ((await request(app).get('/attack')).body.runs[0].status === 'starting') await sleep(20)
  // A returning user, while the attack has the account locked out for everyone else.
  const mine = []
  for (let i = 0; i < 5; i++) {
    mine.push((await post(app, '/login', { username: 'me', password: 'pw' }, cookie)).body)
    await sleep(100)
  }
  const run = await finished(app, started.body.id)
  assert.equal(run.status, 'done')
  assert.deepEqual(mine, Array(5).fill({ ok: true, trusted: true }))
  const { guesses, firstTime } = run
  assert.ok(guesses.wrong > 0, 'guesses were compared')
  assert.ok(guesses.locked > 0, 'guesses at the target were locked out')
  assert.equal(guesses.ok, 0)
  assert.equal(guesses.error, 0)
  assert.ok(firstTime.ok > 0, 'first-time users were served')
  assert.ok(run.points.length > 2)
  assert.ok(run.result.guessesPerSec > 0)
  assert.ok(run.points.some((p) => p.firstTime.answers.length > 0), 'first-time answers reach the page')
  // Without the cookie, the target is locked out.
  await post(app, '/login', { username: 'me', password: 'pw' }).expect(429)
  close()
})

test('the page has the attack control', async () => {
  const { app, close } = startAttackPage()
  const page = (await request(app).get('/').expect(200)).text
  assert.match(page, /<form id="attack">/)
  assert.match(page, /Start attack/)
  await request(app).get('/attack.js').expect(200)
  close()
})
