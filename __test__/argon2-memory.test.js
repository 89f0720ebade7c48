'use strict'

// The memory budget under load: 1,000 concurrent argon2id hashes at OWASP's m=19456 with a budget
// of two jobs on a pool of four threads. They all resolve, none is refused, the memory the pool's
// tasks hold never passes the budget, and the process's peak RSS stays within the budget plus a
// generous allowance over the baseline. Without the budget, four jobs (76 MiB) would run at once.
// A memory bound, not a timing one. Its own file: it configures the process-wide pool.

const test = require('node:test')
const assert = require('node:assert/strict')

const bcrypt = require('..')
const argon2 = require('../argon2.js')

const JOB = 19456 * 1024
const BUDGET = 2 * JOB
// Node's own growth over 1,000 pending calls (promises, closures, strings) and the allocator's
// slack: generous, and still under the two jobs more that an unbounded pool would hold.
const ALLOWANCE = 32 * 1024 * 1024
const maxRss = () => process.resourceUsage().maxRSS * 1024

test('1,000 concurrent hashes at m=19456 stay within the memory budget', async () => {
  bcrypt.configure({ threads: 4, argon2MemoryBudget: BUDGET })
  // The pool's threads and the first job's allocations are part of the baseline.
  const warm = await argon2.hash('warm up', { timeCost: 1 })
  assert.equal(await argon2.verify(warm, 'warm up'), true)
  const baseline = maxRss()
  let peakInUse = 0
  let sawWaiting = false
  const sampler = setInterval(() => {
    const { memory } = bcrypt.stats()
    peakInUse = Math.max(peakInUse, memory.inUse)
    sawWaiting ||= memory.waiting > 0
  }, 2)
  try {
    const digests = await Promise.all(Array.from({ length: 1000 }, (_, i) => argon2.hash(`password ${i}`, { timeCost: 1 })))
    assert.equal(new Set(digests).size, 1000)
    assert.ok(digests.every((d) => d.startsWith('$argon2id$v=19$m=19456,t=1,p=1$')))
    assert.equal(await argon2.verify(digests[999], 'password 999'), true)
  } finally {
    clearInterval(sampler)
  }
  const stats = bcrypt.stats()
  assert.equal(stats.memory.budget, BUDGET)
  assert.equal(stats.memory.inUse, 0)
  assert.ok(peakInUse <= BUDGET, `tasks held ${peakInUse} bytes, over the budget of ${BUDGET}`)
  assert.equal(peakInUse, BUDGET, 'two jobs ran at once: the budget, not the threads, was the bound')
  assert.ok(sawWaiting, 'jobs waited for memory')
  const grown = maxRss() - baseline
  assert.ok(grown <= BUDGET + ALLOWANCE, `peak RSS grew ${grown} bytes over a baseline of ${baseline}`)
})

test('the Prometheus series show the memory budget and what the tasks hold', async () => {
  const client = require('prom-client')
  const { registerPoolMetrics } = require('../lib/metrics.js')
  const registry = new client.Registry()
  registerPoolMetrics(client, registry, bcrypt.stats)
  await argon2.hash('series', { memoryCost: 64, timeCost: 1 })
  const text = await registry.metrics()
  const { memory } = bcrypt.stats()
  assert.match(text, new RegExp(`^bcrypt_pool_memory_budget_bytes ${memory.budget}$`, 'm'))
  assert.match(text, /^bcrypt_pool_memory_in_use_bytes 0$/m)
  assert.match(text, /^bcrypt_pool_memory_waiting 0$/m)
  assert.match(text, /^bcrypt_pool_tasks_running 0$/m)
})

test('the sync forms are held to the memory budget too: a hostile digest cannot ask the allocator for 4 TiB', () => {
  // m = 2^32-1 KiB in a well-formed PHC string: verifySync refuses it before allocating anything.
  const digest = '$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'
  assert.throws(() => argon2.verifySync(digest, 'x'), { name: 'RangeError', code: 'ERR_BCRYPT_MEMORY_BUDGET' })
  assert.throws(() => argon2.hashSync('x', { memoryCost: 2 ** 31 }), { name: 'RangeError', code: 'ERR_BCRYPT_MEMORY_BUDGET' })
  assert.equal(argon2.verifySync(argon2.hashSync('x', { memoryCost: 64, timeCost: 1 }), 'x'), true)
})
