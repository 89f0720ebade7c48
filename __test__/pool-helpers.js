'use strict'

// Waiting on the pool, for the test files that watch its counters. No timing thresholds: a broken
// implementation makes these wait until the test runner's timeout.

const assert = require('node:assert/strict')
const { setTimeout: sleep } = require('node:timers/promises')

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

module.exports = { SLOW, until, settledLanes, occupyAllLanes, growth }
