'use strict'

// `npm run bench:architectures` (also the last part of `npm run bench:queue`): the same Express app
// (demo/) under k6 on each way of keeping bcrypt off its event loop, on this one machine:
//   - bcrypt-offload's local pool (BCRYPT_BACKEND=offload);
//   - bcrypt-offload/queue: the gateway, a redis-server and QUEUE_WORKERS worker processes sharing
//     the cores (demo/cluster.js, as `npm run demo:cluster` starts it);
//   - bcrypt (native, on libuv's threadpool);
//   - bcryptjs on a piscina worker pool (bench/peers/piscina-worker.js);
//   - a Rust HTTP microservice, axum + rayon + the bcrypt crate (bench/peers/microservice/, built
//     here with cargo), which the app calls over local HTTP.
// 100 virtual users loop register → login → health at cost 10, measured for DURATION after a
// WARMUP (bench/http/flow.js says why), in ROUNDS rounds (every architecture once per round, so
// that the machine's drift falls on all); each server is checked for right answers (and the
// microservice against bcryptjs) before it is timed. Reports the medians of the rounds; writes
// bench/results/architectures.{json,md,svg}.
//   ROUNDS (3), DURATION (15s), WARMUP (10s, read by flow.js), VUS (100), COST (10), QUEUE_WORKERS (2)

const { execFileSync, spawn } = require('node:child_process')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const bcryptjs = require('bcryptjs')
const { k6Binary, startDemo, stop, k6, summarize, aggregate, chart, f } = require('./k6.js')

const ROOT = path.join(__dirname, '..', '..')
const RESULTS = path.join(ROOT, 'bench', 'results')
const ROUNDS = Number(process.env.ROUNDS ?? 3)
const DURATION = process.env.DURATION ?? '15s'
const VUS = Number(process.env.VUS ?? 100)
const COST = Number(process.env.COST ?? 10)
const QUEUE_WORKERS = Number(process.env.QUEUE_WORKERS ?? 2)

const MICROSERVICE = path.join(ROOT, 'bench', 'peers', 'microservice')
const MICROSERVICE_TARGET = path.join(ROOT, 'target', 'peers')

function buildMicroservice() {
  console.log('building bench/peers/microservice (cargo build --release)')
  execFileSync('cargo', ['build', '--release', '--quiet', '--manifest-path', path.join(MICROSERVICE, 'Cargo.toml')], {
    env: { ...process.env, CARGO_TARGET_DIR: MICROSERVICE_TARGET },
    stdio: 'inherit',
  })
  return path.join(MICROSERVICE_TARGET, 'release', 'bcrypt-microservice')
}

// Starts the microservice on a free port; resolves with the child, its URL set, once it listens.
function startMicroservice(binary) {
  const child = spawn(binary, [], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] })
  child.exited = new Promise((resolve) => child.once('exit', resolve))
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match) resolve(Object.assign(child, { url: match[1] }))
    })
    child.once('exit', (code) => reject(new Error(`microservice exited (${code}) before it listened`)))
  })
}

const postJson = (url, body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

// The service's own answers, against bcryptjs both ways, and its refusal of a malformed hash.
async function checkMicroservice(url) {
  const post = (route, body) => postJson(`${url}${route}`, body)
  const { hash } = await (await post('/hash', { password: 'pässword', cost: 5 })).json()
  assert.equal(bcryptjs.compareSync('pässword', hash), true, 'bcryptjs accepts the microservice hash')
  const theirs = bcryptjs.hashSync('other', 5)
  assert.deepEqual(await (await post('/compare', { password: 'other', hash: theirs })).json(), { ok: true })
  assert.deepEqual(await (await post('/compare', { password: 'wrong', hash: theirs })).json(), { ok: false })
  assert.equal((await post('/compare', { password: 'x', hash: 'not a hash' })).status, 400)
}

// Right answers through the app before any timing: 201, 200, and 401 for a wrong password.
async function checkApp(port) {
  const post = (route, body) => postJson(`http://127.0.0.1:${port}${route}`, body)
  const user = { username: `check-${process.hrtime.bigint()}`, password: 'correct horse' }
  assert.equal((await post('/register', user)).status, 201)
  assert.equal((await post('/login', user)).status, 200)
  assert.equal((await post('/login', { ...user, password: 'wrong horse' })).status, 401)
}

const ARCHITECTURES = [
  {
    label: 'bcrypt-offload, local pool',
    // Like the peers (no bound), it refuses nothing: the demo's own bound can be below the VUs.
    start: (port) => startDemo(port, { BCRYPT_BACKEND: 'offload', BCRYPT_COST: String(COST), MAX_QUEUE: String(VUS) }),
  },
  {
    label: `bcrypt-offload/queue, ${QUEUE_WORKERS} workers`,
    start: (port) => startDemo(port, { BCRYPT_COST: String(COST), QUEUE_WORKERS: String(QUEUE_WORKERS) }, 'cluster.js'),
  },
  { label: 'bcrypt', start: (port) => startDemo(port, { BCRYPT_BACKEND: 'bcrypt', BCRYPT_COST: String(COST) }) },
  { label: 'piscina + bcryptjs', start: (port) => startDemo(port, { BCRYPT_BACKEND: 'piscina', BCRYPT_COST: String(COST) }) },
  {
    label: 'Rust microservice (axum, rayon)',
    start: async (port, binary) => {
      const service = await startMicroservice(binary)
      try {
        await checkMicroservice(service.url)
        const app = await startDemo(port, { BCRYPT_BACKEND: 'microservice', BCRYPT_MICROSERVICE_URL: service.url, BCRYPT_COST: String(COST) })
        return [app, service]
      } catch (err) {
        await stop(service)
        throw err
      }
    },
  },
]

async function main() {
  k6Binary()
  const binary = buildMicroservice()
  fs.mkdirSync(RESULTS, { recursive: true })
  // runs[label] = one summary per round
  const runs = Object.fromEntries(ARCHITECTURES.map((a) => [a.label, []]))
  let port = 3300
  for (let round = 1; round <= ROUNDS; round++) {
    for (const arch of ARCHITECTURES) {
      console.log(`\n== round ${round}/${ROUNDS}: ${arch.label}`)
      const children = [await arch.start(++port, binary)].flat()
      try {
        await checkApp(port)
        runs[arch.label].push(summarize(arch.label, await k6(port, { VUS: String(VUS), DURATION }), DURATION))
      } finally {
        // The app first (it may be mid-call to the microservice), then what it called.
        for (const child of children) await stop(child)
      }
      console.log(runs[arch.label].at(-1))
    }
  }
  const results = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${os.cpus()[0].model}, ${os.availableParallelism()} cores, Node ${process.version}`,
    settings: { vus: VUS, duration: DURATION, warmup: process.env.WARMUP ?? '10s', cost: COST, rounds: ROUNDS, queueWorkers: QUEUE_WORKERS },
    runs,
  }
  fs.writeFileSync(path.join(RESULTS, 'architectures.json'), `${JSON.stringify(results, null, 1)}\n`)
  await render(results)
}

// Writes architectures.md and .svg from the measured results (`--render` redraws them from the json).
async function render({ date, machine, settings, runs }) {
  const { vus, duration, warmup, cost, rounds, queueWorkers } = settings
  const rows = aggregate(runs, ['bcrypt'])
  const table = [
    `# bench/http/architectures.js — ${date}`,
    '',
    `${machine}. The demo app (demo/) under k6, ${vus} VUs looping register → login → health, measured for ${duration} after a ${warmup} warm-up, bcrypt cost ${cost}; ` +
      `${rounds} rounds, each architecture once per round, medians shown. Everything on this machine: k6, the app, and what it ` +
      `hashes on (the queue tier: a redis-server and ${queueWorkers} worker processes splitting the cores; the microservice: a process of its own).`,
    '',
    '| architecture | completed flows/s (median) | per round | vs bcrypt (median of rounds) | register p95 (ms) | login p95 (ms) | /health p99 (ms, median; worst) | failed requests |',
    '|---|---:|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${f(r.flowsPerSec)} | ${r.perRound.map((x) => f(x)).join(', ')} | ${f(r.vsBaseline, 2)}x | ${f(r.registerP95, 0)} | ${f(r.loginP95, 0)} | ${f(r.healthP99)}; ${f(r.healthP99Max)} | ${r.failed} of ${r.requests} |`,
    ),
    '',
  ].join('\n')
  fs.writeFileSync(path.join(RESULTS, 'architectures.md'), table)
  fs.writeFileSync(path.join(RESULTS, 'architectures.svg'), await chart(rows, `k6, ${vus} VUs, register → login → health, cost ${cost}, median of ${rounds}; ${machine}`))
  console.log(`\n${table}`)
}

const start = process.argv.includes('--render')
  ? () => render(JSON.parse(fs.readFileSync(path.join(RESULTS, 'architectures.json'), 'utf8')))
  : main
start().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
