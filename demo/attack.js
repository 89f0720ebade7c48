'use strict'

// The demo page's attack control: a bounded flood of wrong passwords that the server sends its own
// login guard, from many synthetic addresses, while simulated first-time users log in with the
// right password and no device cookie. The page logs in meanwhile as a returning user holding a
// device cookie and charts its own logins beside what this reports. POST /attack starts one (one
// at a time), GET /attack lists the recent ones; their progress streams through demo/live.js.
//
// The guesses go to the guard's core (guard.login) rather than over HTTP: the addresses are made
// up (198.18.0.0/15, the benchmarking range), so no proxy or `trust proxy` is needed, and the pool
// sees exactly what /login would give it. Most guesses spray names that do not exist (each costs a
// compareUnknown, and none gets locked out); one in ten goes at the `target` account, the page's
// returning user, whose untrusted logins the lockout then refuses while its device cookie keeps it in.

const { randomBytes } = require('node:crypto')
const express = require('express')

// A demonstration, not a load test: bounded so that one visitor cannot keep the server busy long.
const LIMITS = { rate: { min: 1, max: 1000 }, addresses: { min: 1, max: 1000 }, seconds: { min: 1, max: 60 } }
const KEEP_RUNS = 8
// Guesses still awaiting their answer, at most: past this the attack sends no more until some
// settle (the guard's deadlines settle them within a few seconds), so its memory stays bounded.
const MAX_IN_FLIGHT = 4096
// First-time users: this many logins a second, each from an address of its own (TEST-NET-3),
// with the right password and no cookie, across FIRST_TIME.accounts accounts made for them.
const FIRST_TIME = { perSecond: 2, accounts: 20 }
const TICK_MS = 20

/**
 * @param {object} o
 * @param {ReturnType<import('./live').createLive>} o.live
 * @param {import('../guard').Guard} o.guard the app's own guard, the one /login uses
 * @param {{ hashOf(username: string): string | undefined }} o.users the app's users (the target's hash)
 * @param {{ hash(password: string, cost: number): Promise<string> }} o.backend
 * @param {number} o.cost
 */
function createAttack({ live, guard, users, backend, cost }) {
  const runs = []
  let current = null
  let nextId = 1
  let firstTimers = null

  // Made on the first attack and kept: hashing them costs the pool FIRST_TIME.accounts hashes.
  function firstTimeAccounts() {
    firstTimers ??= Promise.all(
      Array.from({ length: FIRST_TIME.accounts }, async (_, i) => {
        const password = randomBytes(12).toString('base64url')
        return { username: `first-time-${i}`, password, hash: await backend.hash(password, cost) }
      }),
    )
    firstTimers.catch(() => (firstTimers = null))
    return firstTimers
  }

  live.onSample((sample) => {
    if (!current || current.status === 'starting') return
    const run = current
    const { since } = run
    const point = {
      t: round((sample.t - run.startedAt) / 1000),
      seconds: sample.seconds,
      guesses: since.guesses,
      firstTime: since.firstTime,
    }
    run.since = emptyTally()
    run.points.push(point)
    live.broadcast('attack', { ...view(run), point })
  })

  async function execute(run) {
    const accounts = await firstTimeAccounts()
    run.status = 'running'
    run.startedAt = Date.now()
    live.broadcast('attack', view(run))

    let inFlight = 0
    const pending = new Set()
    const track = (promise) => {
      pending.add(promise)
      promise.finally(() => pending.delete(promise))
    }

    let sent = 0
    function guess() {
      const i = sent++
      const a = i % run.addresses
      const atTarget = run.target !== undefined && i % 10 === 0
      const account = atTarget ? run.target : `sprayed-${run.id}-${i}`
      inFlight++
      const attempt = guard
        .login({ account, password: `guess ${i}`, hash: atTarget ? users.hashOf(account) : undefined, address: `198.18.${a >> 8}.${a & 255}` })
        .then(
          (r) => tally(run, 'guesses', r.reason),
          () => tally(run, 'guesses', 'error'),
        )
        .finally(() => inFlight--)
      track(attempt)
    }

    let firstTimeSent = 0
    function firstTimeLogin() {
      const k = firstTimeSent++
      const { username, password, hash } = accounts[k % accounts.length]
      const started = performance.now()
      const attempt = guard.login({ account: username, password, hash, address: `203.0.113.${k % 256}` }).then(
        (r) => {
          const ms = performance.now() - started
          tally(run, 'firstTime', r.reason)
          run.since.firstTime.answers.push([round(ms), r.reason])
          if (r.ok) run.servedLatencies.push(ms)
        },
        () => tally(run, 'firstTime', 'error'),
      )
      track(attempt)
    }

    const began = performance.now()
    const ticker = setInterval(() => {
      const elapsed = (performance.now() - began) / 1000
      for (let due = Math.floor(run.rate * elapsed) - sent; due > 0; due--) {
        if (inFlight >= MAX_IN_FLIGHT) {
          run.notSent += due
          sent += due
          break
        }
        guess()
      }
      if (firstTimeSent < Math.floor(FIRST_TIME.perSecond * elapsed) + 1) firstTimeLogin()
    }, TICK_MS)

    await sleep(run.seconds * 1000)
    clearInterval(ticker)
    run.status = 'draining'
    live.broadcast('attack', view(run))
    // What is still queued settles by its deadline (the guard's timeouts), computed or refused.
    while (pending.size > 0) await Promise.allSettled([...pending])
    await new Promise((resolve) => {
      const unsubscribe = live.onSample(() => (unsubscribe(), resolve()))
    })
    run.status = 'done'
    run.result = summary(run)
    current = null
    live.broadcast('attack', view(run))
  }

  const router = express.Router()
  router.get('/attack', (req, res) => {
    res.json({ limits: LIMITS, cost, firstTime: FIRST_TIME, runs: runs.map((run) => ({ ...view(run), points: run.points })) })
  })
  router.post('/attack', (req, res) => {
    const settings = parse(req.body)
    if (current) return res.status(409).json({ error: `an attack is already running (#${current.id}); one at a time` })
    const run = {
      id: nextId++,
      ...settings,
      cost,
      status: 'starting',
      startedAt: Date.now(),
      totals: emptyTally(),
      since: emptyTally(),
      servedLatencies: [],
      notSent: 0,
      points: [],
      result: null,
    }
    current = run
    runs.push(run)
    if (runs.length > KEEP_RUNS) runs.shift()
    execute(run).catch((err) => {
      console.error(`attack #${run.id} failed:`, err)
      run.status = 'failed'
      current = null
      live.broadcast('attack', view(run))
    })
    res.status(202).json(view(run))
  })

  return { router, limits: LIMITS }
}

const emptyTally = () => ({
  guesses: { wrong: 0, locked: 0, busy: 0, ok: 0, error: 0 },
  // answers: [ms, reason] of each first-time login settled, for the page's chart.
  firstTime: { ok: 0, wrong: 0, locked: 0, busy: 0, error: 0, answers: [] },
})

function tally(run, who, reason) {
  run.totals[who][reason]++
  run.since[who][reason]++
}

function parse(body) {
  const { rate, addresses, seconds, target } = body ?? {}
  const fail = (message) => Object.assign(new Error(message), { status: 400 })
  for (const [name, value] of [['rate', rate], ['addresses', addresses], ['seconds', seconds]]) {
    const { min, max } = LIMITS[name]
    if (!Number.isInteger(value) || value < min || value > max) throw fail(`${name} must be an integer from ${min} to ${max}`)
  }
  if (target !== undefined && (typeof target !== 'string' || target === '' || Buffer.byteLength(target) > 256)) {
    throw fail('target must be a username (a non-empty string of at most 256 bytes), or left out')
  }
  return { rate, addresses, seconds, target }
}

// What the page shows of a run: its settings, progress and totals, and once done its figures.
function view(run) {
  const { id, rate, addresses, seconds, target, cost, status, startedAt, notSent, result } = run
  const { answers, ...firstTime } = run.totals.firstTime
  return { id, rate, addresses, seconds, target, cost, status, startedAt, notSent, guesses: { ...run.totals.guesses }, firstTime, result }
}

function summary(run) {
  const { guesses, firstTime } = run.totals
  const sorted = [...run.servedLatencies].sort((a, b) => a - b)
  const firstTimeSent = firstTime.ok + firstTime.wrong + firstTime.locked + firstTime.busy + firstTime.error
  return {
    guessesPerSec: round((guesses.wrong + guesses.locked + guesses.busy + guesses.ok + guesses.error) / run.seconds),
    computedPerSec: round(guesses.wrong / run.seconds),
    firstTimeServedShare: firstTimeSent ? round(firstTime.ok / firstTimeSent, 1000) : null,
    // Of the logins served: a refusal is quick, and would only flatter the figure.
    firstTimeServedP95Ms: sorted.length ? round(sorted[Math.ceil(sorted.length * 0.95) - 1]) : null,
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const round = (x, per = 10) => Math.round(x * per) / per

module.exports = { createAttack, LIMITS, FIRST_TIME }
