'use strict'

// The queue tier (bcrypt-offload/queue) against the local package, on one machine:
//   npm run bench:queue          (BENCH_QUICK=1 for a smoke run)
// - latency the tier adds per call: cost 4 (so that the hash itself is small), one call at a time
//   and 64 in flight, tier and local runs interleaved in blocks so that machine noise falls on both;
// - hashes/s at cost 10 with 1 and with 2 worker processes of one pool thread each, 64 in flight;
// - recovery from SIGKILL: a worker holding 6 jobs killed, a second one idle beside it; the time
//   from the kill until the last of them is answered, less the time 6 such jobs take to compute
//   (measured on the same worker just before).
// Starts its own redis-server (scripts/system-deps.sh), clients in this process, workers as child
// processes (the CLI). Every answer of the tier is checked against the local package's before any
// timing. Writes the tables to stdout and to bench/results/queue.md.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const local = require('..')
const { connect, newKey } = require('../queue.js')
const { startRedis, until } = require('../__test__/redis-helpers.js')

const QUICK = Boolean(process.env.BENCH_QUICK)
const RUNS = QUICK ? 1 : 3
const CLI = path.join(__dirname, '..', 'bin', 'bcrypt-offload.js')
const IN_FLIGHT = 64

const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]
const median = (xs) => percentile(xs, 50)
const f = (x, digits = 2) => (x >= 100 ? x.toFixed(0) : x.toFixed(digits))

// Every child this process started, killed if it exits early (a failed check, Ctrl-C).
const children = new Set()
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')))
process.on('SIGINT', () => process.exit(130))

async function spawnWorker(redisUrl, key, name, threads) {
  const child = spawn(process.execPath, [CLI, 'worker', '--redis', redisUrl, '--name', name], {
    env: { ...process.env, BCRYPT_OFFLOAD_QUEUE_KEY: key, BCRYPT_OFFLOAD_THREADS: String(threads) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  child.output = ''
  child.stdout.on('data', (d) => (child.output += d))
  child.exited = new Promise((resolve) => child.once('exit', resolve))
  children.add(child)
  child.once('exit', () => children.delete(child))
  await until(() => child.output.includes('jobs at once') || child.exitCode !== null)
  if (child.exitCode !== null) throw new Error(`worker exited: ${child.output}`)
  return child
}

async function stop(workers) {
  for (const w of workers) w.kill('SIGTERM')
  await Promise.all(workers.map((w) => w.exited))
}

// Latencies (ms) of `count` calls of `call(i)`, `inFlight` at a time.
async function latencies(call, count, inFlight) {
  const out = []
  let next = 0
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const i = next++
        const t = performance.now()
        await call(i)
        out.push(performance.now() - t)
      }
    }),
  )
  return out
}

// Calls completed per second by `inFlight` callers over `seconds`, after `warmup` seconds.
async function throughput(call, seconds, warmup = 2, inFlight = IN_FLIGHT) {
  let counting = false
  let done = 0
  let stopAt = Infinity
  const started = performance.now()
  let measuredFrom
  await Promise.all(
    Array.from({ length: inFlight }, async (_, c) => {
      for (let i = 0; performance.now() < stopAt; i++) {
        await call(c * 1e6 + i)
        if (counting) done++
        if (!counting && performance.now() - started >= warmup * 1000) {
          counting = true
          measuredFrom = performance.now()
          stopAt = measuredFrom + seconds * 1000
        }
      }
    }),
  )
  return done / ((performance.now() - measuredFrom) / 1000)
}

async function main() {
  const redis = await startRedis()
  children.add(redis.process)
  const key = newKey()
  const lines = []
  const say = (line = '') => {
    console.log(line)
    lines.push(line)
  }
  const cores = os.availableParallelism()
  say(`# bench/queue.js — ${new Date().toISOString().slice(0, 10)}`)
  say()
  say(`${os.cpus()[0].model.trim()}, ${cores} cores; Node ${process.version}; redis-server ${(await redis.command('INFO', 'server')).toString().match(/redis_version:(\S+)/)[1]} on loopback; bullmq ${require('bullmq/package.json').version}, ioredis ${require('ioredis/package.json').version}. Clients in one process, workers in others, all on this machine.`)
  say()

  // --- Latency: a worker with the whole pool (as the local package has it) ---
  const name = 'bench-latency'
  const client = connect({ redis: redis.url, key, name, timeout: 120_000 })
  let workers = [await spawnWorker(redis.url, key, name, cores)]
  await client.ready()
  for (const cost of [4, 10]) {
    const salt = local.genSaltSync(cost)
    for (const pw of ['', 'password', 'pässwörd ✓', 'x'.repeat(100)]) {
      const [remote, here] = [await client.hash(pw, salt), local.hashSync(pw, salt)]
      if (remote !== here || !(await client.compare(pw, here)) || (await client.compare(`!${pw}`, here))) {
        throw new Error(`the tier disagrees with the local package on ${JSON.stringify(pw)}`)
      }
    }
  }
  const salt4 = local.genSaltSync(4)
  const via = { local: (i) => local.hash(`pw${i}`, salt4), tier: (i) => client.hash(`pw${i}`, salt4) }
  const seq = { local: [], tier: [] }
  const par = { local: [], tier: [] }
  const blocks = QUICK ? 2 : 6
  for (const w of ['local', 'tier']) await latencies(via[w], 100, 8) // warm-up
  for (let b = 0; b < blocks; b++) {
    for (const w of ['local', 'tier']) seq[w].push(...(await latencies(via[w], 100, 1)))
    for (const w of ['local', 'tier']) par[w].push(...(await latencies(via[w], 1000, IN_FLIGHT)))
  }
  say(`### Latency per call, cost 4 (ms): the worker has the whole pool (${cores} threads), as the local package does`)
  say()
  say('| calls | local p50 | tier p50 | added p50 | local p99 | tier p99 | added p99 |')
  say('|---|---:|---:|---:|---:|---:|---:|')
  for (const [label, s] of [['one at a time', seq], [`${IN_FLIGHT} in flight`, par]]) {
    const [l50, t50, l99, t99] = [median(s.local), median(s.tier), percentile(s.local, 99), percentile(s.tier, 99)]
    say(`| ${label} (${s.local.length} each) | ${f(l50)} | ${f(t50)} | ${f(t50 - l50)} | ${f(l99)} | ${f(t99)} | ${f(t99 - l99)} |`)
  }
  say()
  await stop(workers)

  // --- Throughput at cost 10: 1 and 2 worker processes of one pool thread each ---
  const salt10 = local.genSaltSync(10)
  const seconds = QUICK ? 3 : 8
  const rates = { 1: [], 2: [] }
  for (let r = 0; r < RUNS; r++) {
    for (const n of [1, 2]) {
      const q = `bench-throughput-${r}-${n}`
      const c = connect({ redis: redis.url, key, name: q, timeout: 120_000 })
      workers = await Promise.all(Array.from({ length: n }, () => spawnWorker(redis.url, key, q, 1)))
      await c.ready()
      rates[n].push(await throughput((i) => c.hash(`pw${i}`, salt10), seconds))
      await c.close()
      await stop(workers)
    }
  }
  const [one, two] = [median(rates[1]), median(rates[2])]
  say(`### Hashes per second, cost 10, ${IN_FLIGHT} in flight, ${seconds} s after a 2 s warm-up (median of ${RUNS})`)
  say()
  say('| workers (one pool thread each) | hashes/s | runs | vs one worker |')
  say('|---|---:|---|---:|')
  say(`| 1 | ${f(one, 1)} | ${rates[1].map((x) => f(x, 1)).join(', ')} | 1.00x |`)
  say(`| 2 | ${f(two, 1)} | ${rates[2].map((x) => f(x, 1)).join(', ')} | ${(two / one).toFixed(2)}x |`)
  say()

  // --- Recovery from SIGKILL ---
  const recoveries = []
  // Cost 13: 6 such jobs take long enough (~1.4 s) for the second worker to start beside them.
  const salt = local.genSaltSync(13)
  for (let r = 0; r < (QUICK ? 1 : 5); r++) {
    const q = `bench-recovery-${r}`
    const c = connect({ redis: redis.url, key, name: q, timeout: 120_000 })
    const victim = await spawnWorker(redis.url, key, q, 1)
    await c.ready()
    // The compute time of a full worker (6 jobs on its lanes), for the subtraction below.
    let t = performance.now()
    await Promise.all(Array.from({ length: 6 }, (_, i) => c.hash(`warm${i}`, salt)))
    const computeMs = performance.now() - t
    const calls = Array.from({ length: 6 }, (_, i) => c.hash(`victim${i}`, salt))
    await until(async () => (await redis.command('LLEN', `bull:${q}:active`)) === 6)
    const survivor = await spawnWorker(redis.url, key, q, 1)
    if ((await redis.command('LLEN', `bull:${q}:active`)) !== 6) throw new Error('the jobs finished before the kill: use a higher cost')
    t = performance.now()
    victim.kill('SIGKILL')
    const hashes = await Promise.all(calls)
    const totalMs = performance.now() - t
    hashes.forEach((h, i) => {
      if (!local.compareSync(`victim${i}`, h)) throw new Error('a recovered job answered wrong')
    })
    recoveries.push({ totalMs, computeMs })
    await c.close()
    await stop([survivor])
    await victim.exited
  }
  say('### Recovery from SIGKILL: a worker holding 6 jobs (cost 13) killed, another idle beside it')
  say()
  say('| run | kill → all 6 answered (ms) | of which computing them (ms) | recovery (ms) |')
  say('|---|---:|---:|---:|')
  recoveries.forEach(({ totalMs, computeMs }, i) => say(`| ${i + 1} | ${f(totalMs, 0)} | ${f(computeMs, 0)} | ${f(totalMs - computeMs, 0)} |`))
  say()
  say(`Worker settings: lockDuration 2000 ms, stalledInterval 1000 ms (lib/queue/worker.js).`)

  await client.close()
  await redis.destroy()
  if (!QUICK) fs.writeFileSync(path.join(__dirname, 'results', 'queue.md'), `${lines.join('\n')}\n`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
