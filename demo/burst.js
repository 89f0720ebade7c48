'use strict'

// The demo page's load control: a bounded burst of registrations and logins that the server sends
// to itself, against the backend chosen on the page, so that a visitor sees what each package does
// to the server's other requests. POST /burst starts one (one at a time), GET /burst lists the
// recent ones with their figures; their progress streams through demo/live.js.
//
// The burst drives the demo app itself (createApp) on the chosen backend, with users in memory, on a
// second port of this same process: it shares this server's event loop and libuv's threadpool,
// which are what the other packages block, and its accounts never mix with the real ones.

const http = require('node:http')
const express = require('express')

const { createApp } = require('./app')
const { openUsers } = require('./users')
const backends = require('./backends')

// A burst is a demonstration, not a load test: bounded so that one visitor cannot keep the server
// busy for long (bcryptjs-sync at 256 in flight already stalls it for tens of seconds).
const LIMITS = { inFlight: { min: 1, max: 256 }, seconds: { min: 1, max: 30 } }
const KEEP_RUNS = 8

/**
 * @param {object} o
 * @param {ReturnType<import('./live').createLive>} o.live
 * @param {ReturnType<import('./ops').opCounter>} o.ops
 * @param {number} o.cost bcrypt cost of the burst's hashes
 */
function createBurst({ live, ops, cost }) {
  const targets = new Map()
  const runs = []
  let current = null
  let nextId = 1

  // One app per backend, made on first use and kept: each app's metrics registry lives as long as
  // the process, so one per burst would pile up.
  function target(name) {
    if (!targets.has(name)) {
      const backend = ops.wrap(backends.load(name))
      targets.set(name, { backend, app: createApp({ users: openUsers(), backend, cost }) })
    }
    return targets.get(name)
  }

  live.onSample((sample) => {
    // Points start once the callers do: x is seconds from then.
    if (!current || current.status === 'starting') return
    const run = current
    const point = {
      t: round((sample.t - run.startedAt) / 1000),
      healthMs: sample.health.worstMs,
      lagMs: sample.lagMs,
      completedPerSec: round(run.answeredSinceSample / sample.seconds),
    }
    run.answeredSinceSample = 0
    run.points.push(point)
    run.latencies.push(...sample.health.latencies)
    run.worstHealthMs = Math.max(run.worstHealthMs, sample.health.worstMs ?? 0)
    run.lagMaxMs = Math.max(run.lagMaxMs, sample.lagMs)
    live.broadcast('burst', { ...view(run), point })
  })

  async function execute(run) {
    const { backend, app } = target(run.backend)
    const server = http.createServer(app)
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    const agent = new http.Agent({ keepAlive: true, maxSockets: run.inFlight })
    const { port } = server.address()
    let ended = false

    run.status = 'running'
    run.startedAt = Date.now()
    live.broadcast('burst', view(run))

    // One caller: registers a new user, logs in as them, again until the end. A 503 (the offload
    // backend's queue bound) is waited out as its Retry-After asks, as a polite client would.
    async function caller(i) {
      for (let n = 0; !ended; n++) {
        const user = { username: `burst${run.id}-${i}-${n}`, password: `password ${i} ${n}` }
        for (const route of ['/register', '/login']) {
          const status = await post({ port, agent }, route, user)
          if (ended) return
          if (status === 201 || status === 200) {
            run.answered++
            run.answeredSinceSample++
          } else if (status === 503) {
            run.refused++
            await sleep(1000)
            break
          } else {
            run.failed++
            break
          }
        }
      }
    }
    const callers = Array.from({ length: run.inFlight }, (_, i) => caller(i))

    await sleep(run.seconds * 1000)
    // The end: requests still open are cut off (the offload backend drops their hashes), then the
    // burst waits for the work its backend still has (bcrypt's queued hashes cannot be dropped) so
    // that the next burst starts on a quiet server.
    ended = true
    run.status = 'draining'
    live.broadcast('burst', view(run))
    agent.destroy()
    server.closeAllConnections()
    server.close()
    await Promise.all(callers)
    while (backend.running() > 0) await sleep(50)
    // One more sample, for the probe's requests that were waiting behind the burst.
    await new Promise((resolve) => {
      const unsubscribe = live.onSample(() => (unsubscribe(), resolve()))
    })

    run.status = 'done'
    run.result = summary(run)
    current = null
    live.broadcast('burst', view(run))
  }

  const router = express.Router()
  router.get('/burst', (req, res) => {
    res.json({
      limits: LIMITS,
      cost,
      backends: backends.names.map((name) => ({ name, title: backends.titles[name] })),
      runs: runs.map((run) => ({ ...view(run), points: run.points })),
    })
  })
  router.post('/burst', (req, res) => {
    const settings = parse(req.body)
    if (current) {
      return res.status(409).json({ error: `a burst is already running (${current.backend}, #${current.id}); one at a time` })
    }
    const run = { id: nextId++, ...settings, cost, status: 'starting', startedAt: Date.now(), answered: 0, answeredSinceSample: 0, refused: 0, failed: 0, latencies: [], worstHealthMs: 0, lagMaxMs: 0, points: [], result: null }
    current = run
    runs.push(run)
    if (runs.length > KEEP_RUNS) runs.shift()
    execute(run).catch((err) => {
      console.error(`burst #${run.id} failed:`, err)
      run.status = 'failed'
      current = null
      live.broadcast('burst', view(run))
    })
    res.status(202).json(view(run))
  })

  return { router, limits: LIMITS }
}

function parse(body) {
  const { backend, inFlight, seconds } = body ?? {}
  const fail = (message) => Object.assign(new Error(message), { status: 400 })
  if (!backends.names.includes(backend)) throw fail(`backend must be one of ${backends.names.join(', ')}`)
  for (const [name, value] of [['inFlight', inFlight], ['seconds', seconds]]) {
    const { min, max } = LIMITS[name]
    if (!Number.isInteger(value) || value < min || value > max) throw fail(`${name} must be an integer from ${min} to ${max}`)
  }
  return { backend, inFlight, seconds }
}

// What the page shows of a run: its settings, progress and, once done, its figures.
function view(run) {
  const { id, backend, inFlight, seconds, cost, status, startedAt, answered, refused, failed, result } = run
  return { id, backend, inFlight, seconds, cost, status, startedAt, answered, refused, failed, result }
}

function summary(run) {
  const sorted = [...run.latencies].sort((a, b) => a - b)
  const p99 = sorted.length ? sorted[Math.ceil(sorted.length * 0.99) - 1] : null
  return {
    completedPerSec: round(run.answered / run.seconds),
    healthP99Ms: p99,
    // A probe that waited through the whole stall may be answered only after the run: its wait so
    // far (the probe's stalledMs) counts too.
    healthWorstMs: run.worstHealthMs,
    lagMaxMs: run.lagMaxMs,
  }
}

function post({ port, agent }, route, body) {
  const data = JSON.stringify(body)
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: route, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode))
        res.on('error', () => resolve(0))
      },
    )
    // Cut off at the end of the burst: not an answer, and not the server's failure either.
    req.on('error', () => resolve(0))
    req.end(data)
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const round = (x) => Math.round(x * 10) / 10

module.exports = { createBurst, LIMITS }
