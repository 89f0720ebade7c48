'use strict'

// The point of the package: while the pool is saturated, JavaScript keeps running and libuv's
// threadpool (fs, dns, zlib) stays free. Bounds are loose on purpose, relative to one hash measured
// in the same process: on libuv's pool these waits would be whole hashes or more.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs/promises')
const { performance } = require('node:perf_hooks')

const bcrypt = require('..')

const COST = 10

function oneHashMs() {
  const salt = bcrypt.genSaltSync(COST)
  const times = [0, 1, 2].map(() => {
    const t = performance.now()
    bcrypt.hashSync('measure', salt)
    return performance.now() - t
  })
  return times.sort((a, b) => a - b)[1]
}

test('timers stay on time and fs.readFile stays fast while 64 hashes run', async () => {
  const budget = oneHashMs()
  const salt = bcrypt.genSaltSync(COST)
  const work = Array.from({ length: 64 }, (_, i) => bcrypt.hash(`password ${i}`, salt))
  let running = true
  const settled = Promise.all(work).finally(() => { running = false })

  const lags = []
  const reads = []
  const tick = 10
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    lags.push(now - last - tick)
    last = now
  }, tick)
  while (running) {
    const t = performance.now()
    await fs.readFile(__filename)
    reads.push(performance.now() - t)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  clearInterval(timer)
  const hashes = await settled

  assert.equal(new Set(hashes).size, 64)
  assert.ok(lags.length > 5 && reads.length > 5, 'the hashes finished before anything was measured')
  const worstLag = Math.max(...lags)
  const worstRead = Math.max(...reads)
  assert.ok(worstLag < budget, `timer lag ${worstLag.toFixed(1)} ms, one hash ${budget.toFixed(1)} ms`)
  assert.ok(worstRead < budget, `fs.readFile ${worstRead.toFixed(1)} ms, one hash ${budget.toFixed(1)} ms`)
})
