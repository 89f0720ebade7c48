'use strict'

// How the WASI build (npm/wasm32-wasi, the fallback where no native binary fits) compares with the
// native addon and with bcryptjs: one hashSync at cost 10 (median of 7), and async throughput at
// cost 6 with 16 calls in flight for 3 s, pool of 1 and of 2 threads (configure({ threads })).
// Each measurement runs in a process of its own, since the pool's size is fixed at its first use.
//
//   node bench/wasm.js            the table (needs npm run build:all, or at least the wasm target)
//   node bench/wasm.js --one IMPL THREADS   one process's measurement, as JSON (used by the above)

const { execFileSync } = require('node:child_process')
const path = require('node:path')

const SYNC_COST = 10
const ASYNC_COST = 6
const IN_FLIGHT = 16
const SECONDS = 3

function load(impl) {
  if (impl === 'bcryptjs') return require('bcryptjs')
  const bcrypt = require('..')
  const loaded = require('../binding.js').__napiBindingTarget
  const want = impl === 'wasm' ? 'wasm32-wasi' : 'native'
  if (loaded !== want) throw new Error(`wanted the ${want} binding, got ${loaded}`)
  return bcrypt
}

async function one(impl, threads) {
  const bcrypt = load(impl)
  if (impl !== 'bcryptjs') bcrypt.configure({ threads })
  const salt = bcrypt.genSaltSync(SYNC_COST)
  bcrypt.hashSync('warm-up', salt)
  const times = []
  for (let i = 0; i < 7; i++) {
    const t = process.hrtime.bigint()
    bcrypt.hashSync(`password ${i}`, salt)
    times.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  times.sort((a, b) => a - b)

  const asyncSalt = bcrypt.genSaltSync(ASYNC_COST)
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => bcrypt.hash(`warm ${i}`, asyncSalt)))
  let done = 0
  const until = Date.now() + SECONDS * 1000
  const t0 = process.hrtime.bigint()
  async function caller(k) {
    while (Date.now() < until) {
      await bcrypt.hash(`pw ${k} ${done}`, asyncSalt)
      done++
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, k) => caller(k)))
  const secs = Number(process.hrtime.bigint() - t0) / 1e9
  const threadsUsed = impl === 'bcryptjs' ? 'main' : bcrypt.stats().threads
  return { impl, threads: threadsUsed, syncMs: times[3], perSec: done / secs }
}

if (process.argv[2] === '--one') {
  one(process.argv[3], Number(process.argv[4])).then(
    (r) => {
      console.log(JSON.stringify(r))
      process.exit(0)
    },
    (e) => {
      console.error(e)
      process.exit(1)
    },
  )
} else {
  const rows = []
  const runs = [
    ['native', 1],
    ['native', 2],
    ['wasm', 1],
    ['wasm', 2],
    ['bcryptjs', 1],
  ]
  for (const [impl, threads] of runs) {
    const env = { ...process.env }
    delete env.NAPI_RS_FORCE_WASI
    if (impl === 'wasm') env.NAPI_RS_FORCE_WASI = 'error'
    const out = execFileSync(process.execPath, ['--no-warnings', __filename, '--one', impl, String(threads)], {
      env,
      cwd: path.join(__dirname, '..'),
      encoding: 'utf8',
    })
    rows.push(JSON.parse(out.trim().split('\n').pop()))
    console.error(out.trim())
  }
  console.log(`\nNode ${process.version}, ${require('node:os').cpus().length} cores`)
  console.log(`| build | pool threads | hashSync cost ${SYNC_COST} (ms, median of 7) | hash cost ${ASYNC_COST}, ${IN_FLIGHT} in flight (hashes/s) |`)
  console.log('|---|---:|---:|---:|')
  for (const r of rows) console.log(`| ${r.impl} | ${r.threads} | ${r.syncMs.toFixed(1)} | ${r.perSec.toFixed(0)} |`)
}
