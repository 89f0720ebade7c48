'use strict'

// The Express demo (demo/), through supertest: every route, its errors, SQLite persistence across a
// restart, 503 when the queue is full, rehash on login, and each backend the k6 comparison uses.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const request = require('supertest')

const bcrypt = require('..')
const { createApp } = require('../demo/app')
const { openUsers } = require('../demo/users')
const backends = require('../demo/backends')
const { occupyAllLanes, settledLanes } = require('./pool-helpers.js')

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'bcrypt-demo-'))

function start({ dataDir = tmp(), backend = 'offload', cost = 4 } = {}) {
  const users = openUsers(dataDir)
  const app = createApp({ users, backend: backends.load(backend), cost })
  return { app, users, dataDir }
}

const json = (app, route, body) => request(app).post(route).set('content-type', 'application/json').send(body)

test('register, then log in; names are unique; wrong passwords and names get 401', async () => {
  const { app, users } = start()
  await json(app, '/register', { username: 'ann', password: 'correct horse' }).expect(201, { username: 'ann' })
  await json(app, '/register', { username: 'ann', password: 'other' }).expect(409)
  await json(app, '/login', { username: 'ann', password: 'correct horse' }).expect(200, { ok: true })
  await json(app, '/login', { username: 'ann', password: 'wrong' }).expect(401)
  await json(app, '/login', { username: 'nobody', password: 'correct horse' }).expect(401)
  assert.match(users.hashOf('ann'), /^\$2b\$04\$/)
  users.close()
})

test('missing fields and malformed JSON get 400 with a message', async () => {
  const { app, users } = start()
  for (const body of [{}, { username: 'x' }, { password: 'x' }, { username: '', password: 'x' }, { username: 1, password: 'x' }]) {
    const res = await json(app, '/register', body).expect(400)
    assert.match(res.body.error, /username.*password/)
  }
  const res = await json(app, '/login', '{"username": "ann", ').expect(400)
  assert.equal(res.body.error, 'malformed JSON')
  users.close()
})

test('health, metrics and the page', async () => {
  const { app, users } = start()
  await json(app, '/register', { username: 'm', password: 'p' }).expect(201)
  await request(app).get('/health').expect(200, { status: 'ok' })
  await settledLanes(bcrypt)
  const metrics = (await request(app).get('/metrics').expect(200)).text
  for (const name of ['bcrypt_pool_threads', 'bcrypt_pool_queued', 'bcrypt_pool_completed_total', 'bcrypt_pool_rejected_total', 'nodejs_eventloop_lag_seconds']) {
    assert.match(metrics, new RegExp(`^${name} \\d`, 'm'), name)
  }
  assert.match(metrics, /^bcrypt_pool_compute_seconds_bucket\{le="\+Inf"\} [1-9]/m)
  assert.match(metrics, /^bcrypt_pool_queue_wait_seconds_count [1-9]/m)
  assert.match(metrics, /^bcrypt_pool_lanes_per_thread [1-9]/m)
  assert.match(metrics, /^bcrypt_pool_lane_speedup\{lanes="1"\} 1$/m)
  assert.match(metrics, /^bcrypt_pool_lane_speedup\{lanes="2"\} [1-9]/m)
  const page = await request(app).get('/').expect(200)
  assert.match(page.headers['content-type'], /html/)
  assert.match(page.text, /<form/)
  users.close()
})

test('users survive a restart', async () => {
  const first = start()
  await json(first.app, '/register', { username: 'kept', password: 'pw' }).expect(201)
  first.users.close()
  const second = start({ dataDir: first.dataDir })
  await json(second.app, '/login', { username: 'kept', password: 'pw' }).expect(200)
  second.users.close()
})

test('a full queue answers 503 with Retry-After', { timeout: 30_000 }, async () => {
  const { app, users } = start()
  // Every lane busy with a hash that would take a minute, and no call allowed to wait.
  const release = await occupyAllLanes(bcrypt)
  bcrypt.configure({ maxQueue: 0 })
  try {
    const res = await json(app, '/register', { username: 'late', password: 'pw' }).expect(503)
    assert.equal(res.headers['retry-after'], '1')
  } finally {
    bcrypt.configure({ maxQueue: Infinity })
    await release()
  }
  await json(app, '/register', { username: 'late', password: 'pw' }).expect(201)
  users.close()
})

test('logging in rehashes a hash made at an older cost', async () => {
  const dataDir = tmp()
  const old = start({ dataDir, cost: 4 })
  await json(old.app, '/register', { username: 'r', password: 'pw' }).expect(201)
  old.users.close()
  const now = start({ dataDir, cost: 5 })
  await json(now.app, '/login', { username: 'r', password: 'pw' }).expect(200)
  assert.equal(bcrypt.getRounds(now.users.hashOf('r')), 5)
  await json(now.app, '/login', { username: 'r', password: 'pw' }).expect(200)
  now.users.close()
})

test('every backend of the k6 comparison runs the same app', async () => {
  for (const backend of backends.names) {
    const { app, users } = start({ backend })
    await json(app, '/register', { username: 'u', password: 'pw' }).expect(201)
    await json(app, '/login', { username: 'u', password: 'pw' }).expect(200)
    await json(app, '/login', { username: 'u', password: 'px' }).expect(401)
    users.close()
  }
  assert.throws(() => backends.load('nope'), RangeError)
})

// The architecture comparison's peers (bench/peers/backends.js, reached through the demo's loader):
// piscina here for real; the Rust microservice
// is built and checked by bench/http/architectures.js, so here a stand-in speaking its protocol
// checks the demo's client for it, failures included.
test('the piscina and microservice backends run the same app', async () => {
  const http = require('node:http')
  const bcryptjs = require('bcryptjs')
  const calls = []
  const service = http.createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const { password, cost, hash } = JSON.parse(body)
    calls.push(req.url)
    // As axum answers a body that does not deserialize.
    if (typeof password !== 'string') return res.writeHead(422).end('missing field `password`')
    const out = req.url === '/hash' ? { hash: bcryptjs.hashSync(password, cost) } : { ok: bcryptjs.compareSync(password, hash) }
    res.setHeader('content-type', 'application/json').end(JSON.stringify(out))
  })
  await new Promise((resolve) => service.listen(0, '127.0.0.1', resolve))
  process.env.BCRYPT_MICROSERVICE_URL = `http://127.0.0.1:${service.address().port}`
  try {
    for (const backend of ['piscina', 'microservice']) {
      const loaded = backends.load(backend)
      const users = openUsers(tmp())
      const app = createApp({ users, backend: loaded, cost: 4 })
      await json(app, '/register', { username: 'u', password: 'pw' }).expect(201)
      await json(app, '/login', { username: 'u', password: 'pw' }).expect(200)
      await json(app, '/login', { username: 'u', password: 'px' }).expect(401)
      assert.equal(bcrypt.compareSync('pw', users.hashOf('u')), true)
      await assert.rejects(loaded.hash(undefined, 4))
      await loaded.close?.()
      users.close()
    }
    assert.deepEqual(calls, ['/hash', '/hash', '/compare', '/compare', '/hash'])
  } finally {
    delete process.env.BCRYPT_MICROSERVICE_URL
    service.close()
  }
  assert.throws(() => backends.load('microservice'), /BCRYPT_MICROSERVICE_URL/)
})
