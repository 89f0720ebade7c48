'use strict'

// The point of the package: while the pool is saturated, JavaScript keeps running and libuv's
// threadpool (fs, dns, zlib) stays free. Counted, not timed: the turns of the event loop, the timers
// that fired and the fs.readFile calls that completed while fewer than half of a burst of hashes had
// settled. Each count is zero, on any machine, for either way this could break: hashes computed on
// the calling thread settle before the loop turns at all, and hashes on libuv's threadpool (four
// threads, first in first out; bcrypt's way) hold a read queued behind them until all but four have
// been computed.

const test = require('node:test')
const assert = require('node:assert/strict')
const bcrypt = require('..')
const { loopWhileBusy } = require('./pool-helpers.js')

const COST = 10
const HASHES = 64

test('the event loop turns, timers fire and fs.readFile completes while 64 hashes run', async () => {
  const salt = bcrypt.genSaltSync(COST)
  const { results: hashes, turns, timers, reads } = await loopWhileBusy(HASHES, (i) => bcrypt.hash(`password ${i}`, salt))

  assert.equal(new Set(hashes).size, HASHES)
  // Above zero is the property; the margins rule out a loop that turns only now and then. Each
  // count is of steps far shorter than a cost-10 hash, of which 32 settle in the window.
  console.log(`# before half of ${HASHES} hashes settled: ${turns} loop turns, ${timers} timers, ${reads} reads`)
  assert.ok(turns >= 100, `the event loop turned ${turns} times`)
  assert.ok(timers >= 10, `${timers} timers fired`)
  assert.ok(reads >= 10, `${reads} fs.readFile calls completed`)
})
