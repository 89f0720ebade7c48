'use strict'

// A short tour: hash and verify a password, then show the event loop staying free while a burst of
// hashes runs on the package's own pool. `npm run demo:quick`.

const { performance } = require('node:perf_hooks')
const fs = require('node:fs/promises')

const bcrypt = require('..')

const COST = Number(process.env.COST ?? 10)
const BURST = Number(process.env.BURST ?? 32)

async function main() {
  const { threads, lanesPerThread } = bcrypt.stats()
  console.log(`bcrypt-offload: ${threads} pool threads × ${lanesPerThread} lanes, cost ${COST}\n`)

  let t = performance.now()
  const hash = await bcrypt.hash('correct horse battery staple', COST)
  console.log(`hash     ${(performance.now() - t).toFixed(1).padStart(7)} ms  ${hash}`)
  t = performance.now()
  const ok = await bcrypt.compare('correct horse battery staple', hash)
  const bad = await bcrypt.compare('Tr0ub4dor&3', hash)
  console.log(`compare  ${((performance.now() - t) / 2).toFixed(1).padStart(7)} ms  right password: ${ok}, wrong one: ${bad}`)

  // A burst of hashes, while a 10 ms timer and fs.readFile keep running on the main thread.
  let lagMax = 0
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    lagMax = Math.max(lagMax, now - last - 10)
    last = now
  }, 10)
  t = performance.now()
  let done = false
  const burst = Promise.all(Array.from({ length: BURST }, (_, i) => bcrypt.hash(`user ${i}`, COST))).then(() => { done = true })
  let reads = 0
  let readMax = 0
  while (!done) {
    const r = performance.now()
    await fs.readFile(__filename)
    readMax = Math.max(readMax, performance.now() - r)
    reads++
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  await burst
  clearInterval(timer)
  const seconds = (performance.now() - t) / 1000
  console.log(`\n${BURST} hashes in flight: ${seconds.toFixed(2)} s (${(BURST / seconds).toFixed(1)} hashes/s)`)
  console.log(`meanwhile: worst 10 ms-timer lag ${lagMax.toFixed(1)} ms, ${reads} fs.readFile calls, slowest ${readMax.toFixed(1)} ms`)
}

main()
