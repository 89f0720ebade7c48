'use strict'

// The demo page's server side (demo/live.js, demo/burst.js, demo/ops.js), through supertest and a
// real event stream: the burst's validation and caps (400), one burst at a time (409), a burst that
// runs to its figures, and the stream of samples with the pool's stats() and the /health probe.
// No timing thresholds: what is waited for, a broken implementation never delivers, and the test
// runner's timeout fails it.

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const { setTimeout: sleep } = require('node:timers/promises')
const request = require('supertest')

const bcrypt = require('..')
const { createApp } = require('../demo/app')
const { openUsers } = require('../demo/users')
const backends = require('../demo/backends')
const { opCounter } = require('../demo/ops')
const { createLive } = require('../demo/live')
const { createBurst, LIMITS } = require('../demo/burst')

function startPage({ cost = 4 } = {}) {
  const ops = opCounter()
  const live = createLive({ pool: bcrypt, ops, intervalMs: 100 })
  const burst = createBurst({ live, ops, cost })
  const users = openUsers()
  const app = createApp({ users, backend: ops.wrap(backends.load('offload')), cost, routes: [live.router, burst.router] })
  return { app, live, close: () => (users.close(), live.stop()) }
}

const post = (app, route, body) => request(app).post(route).set('content-type', 'application/json').send(body)

// The run once it has finished, as GET /burst reports it.
async function finished(app, id) {
  for (;;) {
    const run = (await request(app).get('/burst').expect(200)).body.runs.find((r) => r.id === id)
    if (run.status === 'done' || run.status === 'failed') return run
    await sleep(50)
  }
}

// Reads server-sent events from url, calling onEvent(event, seen) for each, until it returns true;
// returns all the events read.
function readEvents(url, onEvent) {
  return new Promise((resolve, reject) => {
    const seen = []
    const req = http.get(url, (res) => {
      assert.equal(res.statusCode, 200)
      assert.match(res.headers['content-type'], /^text\/event-stream/)
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        buffer += chunk
        let end
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const event = { event: block.match(/^event: (.*)$/m)[1], data: JSON.parse(block.match(/^data: (.*)$/m)[1]) }
          seen.push(event)
          if (onEvent(event, seen)) {
            req.destroy()
            return resolve(seen)
          }
        }
      })
    })
    req.on('error', reject)
  })
}

test('a burst is refused with 400 unless backend, inFlight and seconds are within the caps', async () => {
  const { app, close } = startPage()
  const good = { backend: 'offload', inFlight: 4, seconds: 1 }
  const cases = [
    [{}, /^backend must be one of offload, bcrypt, bcryptjs-sync, bcryptjs, node-rs$/],
    [{ ...good, backend: 'md5' }, /^backend must be one of/],
    [{ ...good, inFlight: 0 }, /^inFlight must be an integer from 1 to 256$/],
    [{ ...good, inFlight: LIMITS.inFlight.max + 1 }, /^inFlight must be an integer from 1 to 256$/],
    [{ ...good, inFlight: 2.5 }, /^inFlight must be an integer/],
    [{ ...good, inFlight: '4' }, /^inFlight must be an integer/],
    [{ ...good, seconds: 0 }, /^seconds must be an integer from 1 to 30$/],
    [{ ...good, seconds: LIMITS.seconds.max + 1 }, /^seconds must be an integer from 1 to 30$/],
    [{ ...good, seconds: null }, /^seconds must be an integer/],
  ]
  for (const [body, message] of cases) {
    const res = await post(app, '/burst', body).expect(400)
    assert.match(res.body.error, message, JSON.stringify(body))
  }
  assert.equal((await post(app, '/burst', '{"backend": ').expect(400)).body.error, 'malformed JSON')
  assert.deepEqual((await request(app).get('/burst').expect(200)).body.runs, [], 'nothing started')
  close()
})

test('GET /burst tells the page the caps, the cost and the backends', async () => {
  const { app, close } = startPage({ cost: 5 })
  const { body } = await request(app).get('/burst').expect(200)
  assert.deepEqual(body.limits, { inFlight: { min: 1, max: 256 }, seconds: { min: 1, max: 30 } })
  assert.equal(body.cost, 5)
  assert.deepEqual(body.backends.map((b) => b.name), backends.names)
  for (const b of body.backends) assert.ok(b.title.length > 0, b.name)
  close()
})

test('one burst at a time: a second is refused with 409 until the first is done', { timeout: 60_000 }, async () => {
  const { app, close } = startPage()
  const started = await post(app, '/burst', { backend: 'offload', inFlight: 4, seconds: 1 }).expect(202)
  assert.equal(started.body.backend, 'offload')
  assert.equal(started.body.cost, 4)
  const refused = await post(app, '/burst', { backend: 'bcrypt', inFlight: 1, seconds: 1 }).expect(409)
  assert.match(refused.body.error, /already running \(offload, #\d+\); one at a time/)

  const run = await finished(app, started.body.id)
  assert.equal(run.status, 'done')
  assert.ok(run.answered > 0, 'registrations and logins answered')
  assert.equal(run.failed, 0)
  assert.ok(run.result.completedPerSec > 0)
  assert.equal(typeof run.result.lagMaxMs, 'number')
  assert.ok(run.points.length > 0, 'one point per sample while it ran')
  for (const point of run.points) assert.deepEqual(Object.keys(point).sort(), ['completedPerSec', 'healthMs', 'lagMs', 't'])

  // Done: the next one starts, on another backend (bcryptjs's sync calls, on the event loop).
  const next = await post(app, '/burst', { backend: 'bcryptjs-sync', inFlight: 2, seconds: 1 }).expect(202)
  const second = await finished(app, next.body.id)
  assert.equal(second.status, 'done')
  assert.ok(second.answered > 0)
  close()
})

test('GET /live streams the history, then samples with the pool stats and the /health probe', { timeout: 60_000 }, async () => {
  const { app, live, close } = startPage()
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const base = `http://127.0.0.1:${server.address().port}`
  live.startProbe(`${base}/health`)

  // Once the stream is open, a registration: a sample counts its hash.
  let registered
  const samples = (seen) => seen.filter((e) => e.event === 'sample').map((e) => e.data)
  const events = await readEvents(`${base}/live`, (event, seen) => {
    // Sent now (supertest sends on then()), not once the events are read: the samples wait for its hash.
    if (event.event === 'history') registered = post(app, '/register', { username: 'live', password: 'pw' }).expect(201).then(() => {})
    return samples(seen).some((s) => s.hashesPerSec > 0) && samples(seen).some((s) => s.health.latencies.length > 0)
  })
  await registered
  assert.equal(events[0].event, 'history')
  assert.equal(events[0].data.intervalMs, 100)
  assert.ok(Array.isArray(events[0].data.samples))
  for (const sample of samples(events)) {
    for (const key of ['threads', 'lanesPerThread', 'queued', 'running', 'completed', 'rejected', 'cancelled']) {
      assert.equal(typeof sample.pool[key], 'number', key)
    }
    assert.ok(sample.pool.maxQueue === null || typeof sample.pool.maxQueue === 'number', 'maxQueue: null when unbounded')
    assert.equal(sample.pool.threads, bcrypt.stats().threads)
    assert.equal(sample.health.probing, true)
    for (const key of ['t', 'seconds', 'lagMs', 'hashesPerSec', 'comparesPerSec']) assert.equal(typeof sample[key], 'number', key)
    for (const ms of sample.health.latencies) assert.ok(ms > 0 && ms <= sample.health.worstMs, `${ms} ms of ${sample.health.worstMs}`)
  }

  // A burst's progress comes down the same stream.
  const watched = await readEvents(`${base}/live`, (event) => {
    if (event.event === 'history') post(app, '/burst', { backend: 'offload', inFlight: 2, seconds: 1 }).expect(202).then(() => {})
    return event.event === 'burst' && event.data.status === 'done'
  })
  const bursts = watched.filter((e) => e.event === 'burst')
  assert.deepEqual([...new Set(bursts.map((e) => e.data.status))], ['running', 'draining', 'done'])
  assert.ok(bursts.some((e) => e.data.status === 'running' && e.data.point), 'points while it runs')
  const { result } = bursts.at(-1).data
  assert.ok(result.completedPerSec > 0)
  assert.ok(result.healthP99Ms > 0 && result.healthP99Ms <= result.healthWorstMs, JSON.stringify(result))

  close()
  await new Promise((resolve) => server.close(resolve))
})

test('the page and its charting library are served', async () => {
  const { app, close } = startPage()
  const page = (await request(app).get('/').expect(200)).text
  for (const id of ['account', 'burst', 'chart-health', 'chart-ops', 'chart-pool', 'chart-runs']) assert.match(page, new RegExp(`id="${id}"`), id)
  assert.match((await request(app).get('/vendor/chart.js/chart.umd.js').expect(200)).text, /Chart/)
  for (const file of ['page.js', 'account.js', 'bursts.js', 'charts.js', 'live-charts.js']) {
    await request(app).get(`/${file}`).expect(200).expect('content-type', /javascript/)
  }
  close()
})

test('the op counter counts settled hashes and compares, and what is still running', async () => {
  const ops = opCounter()
  let release
  const backend = ops.wrap({ hash: () => new Promise((resolve) => (release = resolve)), compare: async () => true })
  const pending = backend.hash('pw', 4)
  assert.equal(backend.running(), 1)
  await backend.compare('pw', 'h')
  assert.deepEqual(ops.take(), { hashes: 0, compares: 1 })
  release('h')
  await pending
  assert.equal(backend.running(), 0)
  assert.deepEqual(ops.take(), { hashes: 1, compares: 0 })
  assert.deepEqual(ops.take(), { hashes: 0, compares: 0 })
})
