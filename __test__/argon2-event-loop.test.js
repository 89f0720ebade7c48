'use strict'

// argon2 on the package's pool leaves the event loop and libuv's threadpool free, as bcrypt does
// (see event-loop.test.js, whose method this is): counted, not timed. While fewer than half of a
// burst of argon2id hashes at OWASP's parameters have settled, the loop turns, timers fire and
// fs.readFile calls complete. Computed on the calling thread, nothing would happen before they all
// settled; on libuv's threadpool (node-argon2's and @node-rs/argon2's way), each read would queue
// behind all but four of them.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs/promises')
const { setImmediate: turn, setTimeout: timer } = require('node:timers/promises')

const argon2 = require('../argon2.js')

const HASHES = 32

test('the event loop turns, timers fire and fs.readFile completes while 32 argon2id hashes run', async () => {
  let settled = 0
  const work = Array.from({ length: HASHES }, (_, i) => argon2.hash(`password ${i}`).then((h) => (settled++, h)))
  const early = () => settled < HASHES / 2
  const countEarly = async (step) => {
    let n = 0
    while (early()) {
      await step()
      if (early()) n++
    }
    return n
  }
  const [turns, timers, reads] = await Promise.all([countEarly(turn), countEarly(timer), countEarly(() => fs.readFile(__filename))])
  const hashes = await Promise.all(work)
  assert.equal(new Set(hashes).size, HASHES)
  console.log(`# before half of ${HASHES} argon2id hashes settled: ${turns} loop turns, ${timers} timers, ${reads} reads`)
  assert.ok(turns >= 100, `the event loop turned ${turns} times`)
  assert.ok(timers >= 10, `${timers} timers fired`)
  assert.ok(reads >= 10, `${reads} fs.readFile calls completed`)
})
