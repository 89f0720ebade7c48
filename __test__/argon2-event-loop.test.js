'use strict'

// argon2 on the package's pool leaves the event loop and libuv's threadpool free, as bcrypt does
// (see event-loop.test.js, whose method this is): counted, not timed. While fewer than half of a
// burst of argon2id hashes at OWASP's parameters have settled, the loop turns, timers fire and
// fs.readFile calls complete. Computed on the calling thread, nothing would happen before they all
// settled; on libuv's threadpool (node-argon2's and @node-rs/argon2's way), each read would queue
// behind all but four of them.

const test = require('node:test')
const assert = require('node:assert/strict')
const argon2 = require('../argon2.js')
const { loopWhileBusy } = require('./pool-helpers.js')

const HASHES = 32

test('the event loop turns, timers fire and fs.readFile completes while 32 argon2id hashes run', async () => {
  const { results: hashes, turns, timers, reads } = await loopWhileBusy(HASHES, (i) => argon2.hash(`password ${i}`))
  assert.equal(new Set(hashes).size, HASHES)
  console.log(`# before half of ${HASHES} argon2id hashes settled: ${turns} loop turns, ${timers} timers, ${reads} reads`)
  assert.ok(turns >= 100, `the event loop turned ${turns} times`)
  assert.ok(timers >= 10, `${timers} timers fired`)
  assert.ok(reads >= 10, `${reads} fs.readFile calls completed`)
})
