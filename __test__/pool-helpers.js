'use strict'

// Waiting on the pool, for the test files that watch its counters. No timing thresholds: a broken
// implementation makes these wait until the test runner's timeout.

const assert = require('node:assert/strict')
const fs = require('node:fs/promises')
const { setImmediate: turn, setTimeout: sleep } = require('node:timers/promises')

const SLOW = '$2b$20$CCCCCCCCCCCCCCCCCCCCC.' // about a minute per hash

async function until(condition) {
  while (!condition()) await sleep(5)
}

// Starts the pool and waits until it has measured how many lanes its threads run (a count that
// changes under a test would leave lanes free that the test thinks are taken).
async function settledLanes(bcrypt) {
  await bcrypt.hash('start the pool', '$2b$04$CCCCCCCCCCCCCCCCCCCCC.')
  await until(() => bcrypt.stats().lanesSource !== 'provisional')
}

// Fills every lane of `bcrypt`'s pool with a hash that takes a minute, and returns a function that
// aborts them all (each must reject with an AbortError) and waits for their lanes to be free.
async function occupyAllLanes(bcrypt) {
  await settledLanes(bcrypt)
  const { threads, lanesPerThread } = bcrypt.stats()
  const controller = new AbortController()
  const jobs = Array.from({ length: threads * lanesPerThread }, (_, i) =>
    bcrypt.hash(`busy ${i}`, SLOW, { signal: controller.signal }).catch((err) => err),
  )
  await until(() => bcrypt.stats().running === threads * lanesPerThread)
  return async () => {
    controller.abort()
    for (const result of await Promise.all(jobs)) assert.equal(result.name, 'AbortError')
    await until(() => bcrypt.stats().running === 0)
  }
}

// How much each of the pool's running totals grew from one stats() to a later one: jobs completed
// (computed or failed), timed in a lane (compute), timed waiting for one (queueWait), cancelled and
// refused.
function growth(before, after) {
  const totals = (s) => ({ completed: s.completed, computed: s.compute.count, waited: s.queueWait.count, cancelled: s.cancelled, rejected: s.rejected })
  const [from, to] = [totals(before), totals(after)]
  return Object.fromEntries(Object.keys(to).map((key) => [key, to[key] - from[key]]))
}

/**
 * What the event loop did while fewer than half of `count` calls (`start(i)`, each a promise) had
 * settled: counted, not timed (event-loop.test.js says why). Resolves `{ results, turns, timers,
 * reads }`: the calls' values, and how many setImmediate turns, setTimeout timers and fs.readFile
 * calls completed in that window.
 */
async function loopWhileBusy(count, start) {
  let settled = 0
  const work = Array.from({ length: count }, (_, i) => start(i).then((value) => (settled++, value)))
  const early = () => settled < count / 2
  // How many times `step` completed while fewer than half the calls had settled.
  const countEarly = async (step) => {
    let n = 0
    while (early()) {
      await step()
      if (early()) n++
    }
    return n
  }
  const [turns, timers, reads] = await Promise.all([countEarly(turn), countEarly(() => sleep(1)), countEarly(() => fs.readFile(__filename))])
  return { results: await Promise.all(work), turns, timers, reads }
}

module.exports = { SLOW, until, settledLanes, occupyAllLanes, growth, loopWhileBusy }
