'use strict'

// Leak soak: N hash + compare pairs at cost 4 (default 1,000,000), 64 in flight, checking each answer.
// Memory is read after forced GCs at every tenth of the run; the run fails if RSS ends more than
// 10 MB above its level after warm-up. Warm-up is the first fifth: V8 grows its young generation
// (heapTotal, from ~5 to ~20 MB here) during the first 100–250k pairs, depending on the allocation
// rate, and that growth is RSS that no leak explains; the table shows it. A small share of calls
// take the other paths a server hits (Buffer passwords, wrong passwords, signals that abort,
// malformed hashes), so that their allocations are soaked too.
//
//   node --expose-gc bench/soak.js [pairs] [inflight]    (npm run soak)
//
// Writes bench/results/soak.md. Not part of CI: it runs for minutes.

const fs = require('node:fs')
const path = require('node:path')
const os = require('node:os')

const bcrypt = require('..')

if (typeof global.gc !== 'function') {
  console.error('run with --expose-gc (npm run soak does)')
  process.exit(2)
}

const PAIRS = Number(process.argv[2] ?? 1_000_000)
const INFLIGHT = Number(process.argv[3] ?? 64)
const WARMUP = Math.floor(PAIRS / 5)
const LIMIT_MB = 10
const MB = 1024 * 1024

async function settle() {
  // Two rounds: finalizers queued by the first collection (napi references, external buffers) run
  // before the second one frees what they held.
  for (let i = 0; i < 2; i++) {
    global.gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  const m = process.memoryUsage()
  return { rss: m.rss / MB, heapTotal: m.heapTotal / MB, heap: m.heapUsed / MB, external: m.external / MB }
}

let failures = 0
function check(ok, what) {
  if (!ok) {
    failures++
    if (failures <= 10) console.error(`wrong answer: ${what}`)
  }
}

// One pair: hash, then compare. Every 97th compares a wrong password, every 101st password is a
// Buffer, every 1009th hash is aborted at once, every 1013th compare gets a malformed hash.
async function pair(i) {
  const text = `soak password ${i}`
  const password = i % 101 === 0 ? Buffer.from(text) : text
  if (i % 1009 === 0) {
    const controller = new AbortController()
    const pending = bcrypt.hash(password, 4, { signal: controller.signal })
    controller.abort()
    const err = await pending.catch((e) => e)
    check(err?.name === 'AbortError', `aborted hash ${i}`)
    return
  }
  const hash = await bcrypt.hash(password, 4)
  if (i % 1013 === 0) check((await bcrypt.compare(text, hash.slice(0, 59))) === false, `malformed ${i}`)
  else if (i % 97 === 0) check((await bcrypt.compare(`${text}!`, hash)) === false, `wrong password ${i}`)
  else check((await bcrypt.compare(text, hash)) === true, `compare ${i}`)
}

async function run(from, to) {
  let next = from
  const worker = async () => {
    while (next < to) await pair(next++)
  }
  await Promise.all(Array.from({ length: INFLIGHT }, worker))
}

async function main() {
  const started = Date.now()
  console.log(`${PAIRS} hash+compare pairs at cost 4, ${INFLIGHT} in flight; warm-up ${WARMUP}`)
  const samples = [{ pairs: 0, ...(await settle()) }]
  const step = Math.ceil(PAIRS / 10)
  for (let from = 0; from < PAIRS; from += step) {
    const to = Math.min(PAIRS, from + step)
    await run(from, to)
    const m = await settle()
    samples.push({ pairs: to, ...m })
    const rate = (to / ((Date.now() - started) / 1000)).toFixed(0)
    console.log(`${to} pairs: rss ${m.rss.toFixed(1)} MB, heap used/total ${m.heap.toFixed(1)}/${m.heapTotal.toFixed(1)} MB, ${rate} pairs/s`)
  }
  const base = samples.find((s) => s.pairs >= WARMUP)
  const end = samples[samples.length - 1]
  const growth = end.rss - base.rss
  const native = end.rss - end.heapTotal - (base.rss - base.heapTotal)
  // A leak of even one small allocation per job would show as a steady slope here.
  const half = samples[Math.floor(samples.length / 2)]
  const lateBytesPerPair = ((end.rss - half.rss) * MB) / (end.pairs - half.pairs)
  const maxRss = Math.max(...samples.map((s) => s.rss))
  const seconds = (Date.now() - started) / 1000
  const stats = bcrypt.stats()
  check(stats.running + stats.queued === 0, `${stats.running} jobs running, ${stats.queued} queued at the end`)
  const lines = [
    `# Soak: ${PAIRS.toLocaleString('en')} hash+compare pairs at cost 4`,
    '',
    `Command: \`npm run soak\` (\`node --expose-gc bench/soak.js ${PAIRS} ${INFLIGHT}\`), ${new Date().toISOString()}.`,
    `Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model}, pool ${stats.threads} threads × ${stats.lanesPerThread} lanes.`,
    `${seconds.toFixed(0)} s, ${(PAIRS / seconds).toFixed(0)} pairs/s; ${stats.completed} jobs completed, ${stats.cancelled} cancelled; wrong answers: ${failures}.`,
    '',
    `RSS growth after warm-up (${base.pairs} pairs): **${growth.toFixed(1)} MB** (limit ${LIMIT_MB} MB), of which outside V8's heap ${native.toFixed(1)} MB; highest RSS ${maxRss.toFixed(1)} MB.`,
    `Over the second half (${half.pairs} to ${end.pairs} pairs): ${(end.rss - half.rss).toFixed(1)} MB, ${lateBytesPerPair.toFixed(1)} bytes per pair.`,
    '',
    '| pairs | RSS MB | V8 heap total MB | V8 heap used MB | external MB |',
    '|---:|---:|---:|---:|---:|',
    ...samples.map(
      (s) => `| ${s.pairs} | ${s.rss.toFixed(1)} | ${s.heapTotal.toFixed(1)} | ${s.heap.toFixed(1)} | ${s.external.toFixed(1)} |`,
    ),
    '',
  ]
  const out = path.join(__dirname, 'results', 'soak.md')
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, lines.join('\n'))
  console.log(lines.join('\n'))
  if (failures > 0 || growth >= LIMIT_MB) process.exit(1)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
