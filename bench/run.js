'use strict'

// bcrypt-offload against bcrypt, @node-rs/bcrypt and bcryptjs, in one process on one machine.
//   npm run bench                 (BENCH_RUNS=5 for more runs; BENCH_QUICK=1 for a smoke run)
// Each figure is the median of several runs, contenders interleaved run by run so that machine
// noise falls on all of them alike. Every contender's output is checked equal before any timing.
// Writes the tables to stdout and to bench/results/latest.md.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { performance } = require('node:perf_hooks')

const ours = require('..')
const cBcrypt = require('bcrypt')
const nodeRs = require('@node-rs/bcrypt')
const bcryptjs = require('bcryptjs')

const QUICK = Boolean(process.env.BENCH_QUICK)
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3))
const IN_FLIGHT = 64

const OURS = 'bcrypt-offload'
const contenders = {
  [OURS]: { hashSync: ours.hashSync, hash: ours.hash, compare: ours.compare },
  bcrypt: { hashSync: cBcrypt.hashSync, hash: cBcrypt.hash, compare: cBcrypt.compare },
  '@node-rs/bcrypt': {
    hashSync: (p, salt) => nodeRs.hashSync(p, { salt }),
    hash: (p, salt) => nodeRs.hash(p, { salt }),
    compare: nodeRs.verify,
  },
  bcryptjs: { hashSync: bcryptjs.hashSync, hash: bcryptjs.hash, compare: bcryptjs.compare },
}
const names = Object.keys(contenders)

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]

function checkAgreement() {
  for (const cost of [4, 10]) {
    const salt = ours.genSaltSync(cost)
    for (const password of ['', 'password', 'pässwörd ✓', 'x'.repeat(100)]) {
      const answers = names.map((n) => contenders[n].hashSync(password, salt))
      if (new Set(answers).size !== 1) throw new Error(`contenders disagree on ${JSON.stringify(password)}: ${answers}`)
    }
  }
}

// Runs `measure(name)` `runs` times per contender, interleaved; returns name → median.
async function interleaved(measure, runs = RUNS) {
  const samples = Object.fromEntries(names.map((n) => [n, []]))
  for (let r = 0; r < runs; r++) {
    for (const n of names) samples[n].push(await measure(n))
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]))
}

// A single hash is short and the machine's drift is not: latencies take more samples.
const LATENCY_RUNS = Math.max(RUNS, QUICK ? 1 : 7)

async function latency(cost, kind) {
  const salt = ours.genSaltSync(cost)
  return interleaved(async (n) => {
    const t = performance.now()
    if (kind === 'sync') contenders[n].hashSync('correct horse', salt)
    else await contenders[n].hash('correct horse', salt)
    return performance.now() - t
  }, LATENCY_RUNS)
}

// 64 callers, each starting its next call as soon as its last one settles, for a fixed time (then
// the calls still in flight finish): sustained throughput with 64 in flight. A single burst of 64
// would mostly time the ramp-up and the tail (a 64-hash burst at cost 4 lasts ~20 ms).
async function throughput(cost, op) {
  const salt = ours.genSaltSync(cost)
  const stored = ours.hashSync('password 0', salt)
  const seconds = QUICK ? 0.5 : cost <= 4 ? 1.5 : 4
  const sustain = async (n, seconds) => {
    const c = contenders[n]
    const start = performance.now()
    const deadline = start + seconds * 1000
    let done = 0
    const caller = async (i) => {
      do {
        await (op === 'hash' ? c.hash(`password ${i}`, salt) : c.compare(`password ${i}`, stored))
        done++
      } while (performance.now() < deadline)
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => caller(i)))
    return (done * 1000) / (performance.now() - start)
  }
  // A short untimed pass each first: the first second of a run is slower (JIT, caches, clocks), and
  // whichever contender went first would pay for it.
  for (const n of names) await sustain(n, 0.2)
  return interleaved((n) => sustain(n, seconds))
}

// fs.readFile of a small file issued every 5 ms while `inFlight` hashes run: the p99 of its
// latency. Open loop, as requests reach a server: a closed loop (the next read only after the last
// one returns) would record one slow read and then hundreds of fast ones once the queue drained.
async function readFileWhileBusy(cost, inFlight) {
  const salt = ours.genSaltSync(cost)
  for (let i = 0; i < 5; i++) await fs.promises.readFile(__filename)
  return interleaved(async (n) => {
    const c = contenders[n]
    let busy = true
    const work = Promise.all(Array.from({ length: inFlight }, (_, i) => c.hash(`password ${i}`, salt))).finally(() => {
      busy = false
    })
    const reads = []
    const pending = []
    while (busy) {
      const t = performance.now()
      pending.push(fs.promises.readFile(__filename).then(() => reads.push(performance.now() - t)))
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await Promise.all([work, ...pending])
    return percentile(reads, 99)
  })
}

// Login latency under registration load: one compare's time while 64 hashes are queued ahead of it,
// with compares first (the default) and in order of arrival. Ours only: the peers have no order to
// choose.
async function compareBehindHashes(cost) {
  const salt = ours.genSaltSync(cost)
  const stored = ours.hashSync('pw', salt)
  const results = {}
  for (const compareFirst of [true, false]) {
    ours.configure({ compareFirst })
    const samples = []
    for (let r = 0; r < RUNS; r++) {
      const hashes = Array.from({ length: 64 }, (_, i) => ours.hash(`user ${i}`, salt))
      const t = performance.now()
      await ours.compare('pw', stored)
      samples.push(performance.now() - t)
      await Promise.all(hashes)
    }
    results[compareFirst ? 'compares first (default)' : 'in order of arrival'] = median(samples)
  }
  ours.configure({ compareFirst: true })
  const batch = await latency(cost, 'async')
  const lines = [
    `### A compare's latency with 64 hashes queued ahead of it, cost ${cost} (bcrypt-offload)`,
    '',
    '| order | ms |',
    '|---|---:|',
    ...Object.entries(results).map(([k, v]) => `| ${k} | ${fmt(v)} |`),
    `| (one lone hash, for scale) | ${fmt(batch[OURS])} |`,
  ]
  return `${lines.join('\n')}\n`
}

// John the Ripper's bcrypt self-test on the same cores, if installed (Debian: apt-get install
// john): "$2a$05" hashes per second, real time, beside ours through Node at cost 5, 64 in flight.
async function versusJohn() {
  const { spawnSync } = require('node:child_process')
  const john = spawnSync('john', ['--test=5', '--format=bcrypt'], { encoding: 'utf8' })
  if (john.error) return '### John the Ripper\n\nNot installed: `apt-get install john` adds it to this comparison.\n'
  const real = /Raw:\s+([\d.]+K?) c\/s real/.exec(john.stdout)
  if (!real) return `### John the Ripper\n\nCould not read its output:\n\n\`\`\`\n${john.stdout}\n\`\`\`\n`
  const johnRate = real[1].endsWith('K') ? Number.parseFloat(real[1]) * 1000 : Number.parseFloat(real[1])
  const oursRate = (await throughput(5, 'hash'))[OURS]
  return [
    '### Against John the Ripper, cost 5 ($2a$05), both cores',
    '',
    '| contender | hashes/s | vs John |',
    '|---|---:|---:|',
    `| John the Ripper (\`john --test=5 --format=bcrypt\`, real) | ${fmt(johnRate)} | 1.00x |`,
    `| bcrypt-offload through Node, ${IN_FLIGHT} in flight | ${fmt(oursRate)} | ${(oursRate / johnRate).toFixed(2)}x |`,
    '',
  ].join('\n')
}

// What the pool measured for each lane count on this machine, and what it chose.
function lanesTable() {
  const s = ours.stats()
  const lines = [
    `### Lanes on this machine: ${s.lanesPerThread} per thread (${s.lanesSource})`,
    '',
    '| lanes | throughput vs 1 lane |',
    '|---:|---:|',
    ...(s.laneSpeedup ?? []).map((x, i) => `| ${i + 1} | ${x.toFixed(2)}x |`),
  ]
  return `${lines.join('\n')}\n`
}

// One lane-step (`stats().laneSteps`) is one ExpandKey: 521 Blowfish encryptions (9 for the P-array,
// 512 for the S-boxes) of 16 rounds each.
const ROUNDS_PER_LANE_STEP = 521 * 16

// The kernel's cost through Node: the process's CPU time (every pool thread's, and the main
// thread's share of settling promises) per Blowfish round per lane, while 64 hashes are in flight.
// Cycles need a clock this script cannot calibrate: `npm run bench:lanes` gives cycles per round per
// lane for the kernel alone (a thread's CPU time times a clock timed on dependent adds).
async function kernelCost() {
  const lines = ['### The kernel through Node: CPU time per Blowfish round per lane (bcrypt-offload)', '', '| cost | ns per round per lane |', '|---:|---:|']
  for (const cost of QUICK ? [4] : [4, 10]) {
    const salt = ours.genSaltSync(cost)
    const samples = []
    for (let r = 0; r < RUNS; r++) {
      const steps = ours.stats().laneSteps
      const cpu = process.cpuUsage()
      const deadline = performance.now() + (QUICK ? 500 : 2000)
      const caller = async (i) => {
        do await ours.hash(`password ${i}`, salt)
        while (performance.now() < deadline)
      }
      await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => caller(i)))
      const used = process.cpuUsage(cpu)
      samples.push(((used.user + used.system) * 1000) / ((ours.stats().laneSteps - steps) * ROUNDS_PER_LANE_STEP))
    }
    lines.push(`| ${cost} | ${median(samples).toFixed(3)} |`)
  }
  return `${lines.join('\n')}\n`
}

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))

// One row per contender; `better` says whether higher or lower is better, for the ratio column.
function table(title, unit, results, better) {
  const peers = names.filter((n) => n !== OURS && n in results)
  const best = better === 'higher' ? Math.max(...peers.map((n) => results[n])) : Math.min(...peers.map((n) => results[n]))
  const lines = [`### ${title}`, '', `| contender | ${unit} | vs best peer |`, '|---|---:|---:|']
  for (const n of names.filter((x) => x in results)) {
    const ratio = better === 'higher' ? results[n] / best : best / results[n]
    lines.push(`| ${n} | ${fmt(results[n])} | ${ratio.toFixed(2)}x |`)
  }
  return `${lines.join('\n')}\n`
}

async function main() {
  checkAgreement()
  // Start the pool and let it measure its lanes before anything is timed.
  await ours.hash('start', 4)
  while (ours.stats().lanesSource === 'provisional') await new Promise((resolve) => setTimeout(resolve, 10))
  const header = [
    `# bench/run.js — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `${os.cpus()[0].model}, ${os.availableParallelism()} cores; Node ${process.version}; ` +
      `pool ${ours.stats().threads} threads × ${ours.stats().lanesPerThread} lanes; libuv threadpool ${process.env.UV_THREADPOOL_SIZE ?? 4}; ` +
      `medians of ${LATENCY_RUNS} runs (one hash) and ${RUNS} runs (the rest). "vs best peer": how many times better than the best of the other three (>1 is better).`,
    '',
  ].join('\n')
  const sections = [header]
  const emit = (s) => {
    sections.push(s)
    console.log(s)
  }
  console.log(header)
  emit(lanesTable())
  emit(await kernelCost())
  for (const cost of QUICK ? [4] : [10, 12]) {
    emit(table(`One hash at a time, cost ${cost}, sync`, 'ms', await latency(cost, 'sync'), 'lower'))
    emit(table(`One hash at a time, cost ${cost}, lone awaited async call`, 'ms', await latency(cost, 'async'), 'lower'))
  }
  for (const cost of QUICK ? [4] : [4, 10]) {
    for (const op of ['hash', 'compare']) {
      emit(table(`Async ${op} throughput, ${IN_FLIGHT} in flight, cost ${cost}`, op === 'hash' ? 'hashes/s' : 'compares/s', await throughput(cost, op), 'higher'))
    }
  }
  const busyCost = QUICK ? 4 : 10
  emit(table(`fs.readFile p99 while 32 hashes at cost ${busyCost} are in flight`, 'ms', await readFileWhileBusy(busyCost, 32), 'lower'))
  emit(await compareBehindHashes(QUICK ? 4 : 10))
  if (!QUICK) emit(await versusJohn())
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true })
  fs.writeFileSync(path.join(__dirname, 'results', QUICK ? 'quick.md' : 'latest.md'), sections.join('\n'))
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
