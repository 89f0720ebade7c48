'use strict'

// One measurement of one contender, in a process of its own (bench/argon2.js starts it):
//   node bench/argon2/child.js <contender> <seconds> <inFlight>
// First the agreement check's tag, then `inFlight` callers each hashing again as soon as their
// last hash settles, for `seconds` after a short untimed warm-up, while fs.readFile of a small file
// is issued every 5 ms (open loop: a late read does not delay the next). Prints one JSON line:
// the tag (base64), hashes/s, the reads' p99 and count, and the process's peak RSS.

const fs = require('node:fs')
const { performance } = require('node:perf_hooks')

const { CONTENDERS } = require('./contenders.js')

const [name, seconds, inFlight] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])]
// The agreement check's input, the same in every child.
const CHECK = { password: 'correct horse battery staple', salt: Buffer.from('bench/argon2 salt') }

const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]

async function saturate(contender, ms, onEach) {
  const deadline = performance.now() + ms
  let done = 0
  const caller = async (i) => {
    do {
      await contender.hash(`password ${i} ${done}`)
      done++
    } while (performance.now() < deadline)
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: inFlight }, (_, i) => caller(i)))
  return { done, elapsed: performance.now() - start }
}

async function main() {
  const contender = CONTENDERS[name]()
  const tag = (await contender.raw(CHECK.password, CHECK.salt)).toString('base64')
  for (let i = 0; i < 3; i++) await fs.promises.readFile(__filename)
  await saturate(contender, 500)

  let busy = true
  const reads = []
  const pending = []
  const work = saturate(contender, seconds * 1000).finally(() => {
    busy = false
  })
  while (busy) {
    const t = performance.now()
    pending.push(fs.promises.readFile(__filename).then(() => reads.push(performance.now() - t)))
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const { done, elapsed } = await work
  await Promise.all(pending)
  const result = {
    name,
    node: process.version,
    tag,
    hashesPerSecond: (done * 1000) / elapsed,
    readP99: percentile(reads, 99),
    reads: reads.length,
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

main().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
