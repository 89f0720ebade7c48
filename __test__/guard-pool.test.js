'use strict'

// The guard over the real package (its scheduler: priority, key, timeout, compareUnknown): logins
// at cost 4 with real hashes, an unknown account costing the pool one job, a returning user's
// login taken ahead of a queue of guesses, and a guess that cannot start by its deadline answered
// 503. No timing thresholds: what is checked is order and counts.

const test = require('node:test')
const assert = require('node:assert/strict')

const bcrypt = require('..')
const { createGuard } = require('../guard.js')
const { occupyAllLanes, settledLanes, until } = require('./pool-helpers.js')
const { KEY, cookieValue } = require('./guard-helpers.js')

// Until the scheduler is in, the package has no compareUnknown and the guard cannot run on it.
const skip = typeof bcrypt.compareUnknown !== 'function' && 'bcrypt-offload has no compareUnknown yet (the scheduler has not landed)'

test('real hashes: ok, wrong, unknown, and the cookie that makes the next login trusted', { skip }, async () => {
  const guard = createGuard({ bcrypt, keys: [KEY], rounds: 4 })
  const hash = await bcrypt.hash('pw', 4)
  const ok = await guard.login({ account: 'ann', password: 'pw', hash, address: '192.0.2.1' })
  assert.deepEqual([ok.ok, ok.trusted, ok.status], [true, false, 200])
  const again = await guard.login({ account: 'ann', password: 'pw', hash, address: '192.0.2.1', deviceCookie: cookieValue(ok.setCookie) })
  assert.deepEqual([again.ok, again.trusted], [true, true])
  assert.equal((await guard.login({ account: 'ann', password: 'px', hash, address: '192.0.2.1' })).status, 401)
  await settledLanes(bcrypt)
  const before = bcrypt.stats().completed
  assert.equal((await guard.login({ account: 'nobody', password: 'pw', hash: undefined, address: '192.0.2.1' })).status, 401)
  assert.equal(bcrypt.stats().completed, before + 1, 'an unknown account costs the pool exactly one job')
})

test('a returning user\'s login is taken ahead of every queued guess', { skip, timeout: 60_000 }, async () => {
  const guard = createGuard({ bcrypt, keys: [KEY], rounds: 8, timeout: { trusted: 30_000, untrusted: 30_000 }, lockout: { failures: 1000 } })
  const hash = await bcrypt.hash('pw', 8)
  const cookie = cookieValue((await guard.login({ account: 'ann', password: 'pw', hash, address: '192.0.2.1' })).setCookie)

  const release = await occupyAllLanes(bcrypt)
  const { threads, lanesPerThread } = bcrypt.stats()
  const lanes = threads * lanesPerThread
  const order = []
  const guesses = Array.from({ length: 6 * lanes }, (_, i) =>
    guard.login({ account: 'ann', password: `guess ${i}`, hash, address: `10.0.${i}.1` }).then((r) => (order.push('guess'), r)),
  )
  await until(() => bcrypt.stats().queued >= guesses.length)
  const returning = guard
    .login({ account: 'ann', password: 'pw', hash, address: '10.9.9.9', deviceCookie: cookie })
    .then((r) => (order.push('returning'), r))
  await until(() => bcrypt.stats().queued >= guesses.length + 1)
  await release()
  const r = await returning
  assert.deepEqual([r.ok, r.trusted, r.status], [true, true, 200])
  for (const g of await Promise.all(guesses)) assert.equal(g.status, 401)
  // Queued last, it started in the first round of lanes freed: at most one round of guesses ended before it.
  assert.ok(order.indexOf('returning') <= lanes, `returning user answered after ${order.indexOf('returning')} guesses (${lanes} lanes)`)
})

test('a guess that cannot start by its deadline is answered 503, uncomputed and uncounted', { skip, timeout: 60_000 }, async () => {
  const guard = createGuard({ bcrypt, keys: [KEY], rounds: 4, timeout: { trusted: 1000, untrusted: 50 }, lockout: { failures: 1 } })
  const hash = await bcrypt.hash('pw', 4)
  const release = await occupyAllLanes(bcrypt)
  let results
  try {
    const before = bcrypt.stats().completed
    // One account each: with failures: 1, concurrent guesses on one account would be held back as in flight.
    results = await Promise.all(Array.from({ length: 5 }, (_, i) => guard.login({ account: `user${i}`, password: `guess ${i}`, hash, address: `10.1.${i}.1` })))
    assert.equal(bcrypt.stats().completed, before)
  } finally {
    await release()
  }
  for (const r of results) {
    assert.deepEqual([r.ok, r.status, r.reason], [false, 503, 'busy'])
    assert.ok(r.retryAfter >= 1)
  }
  // Not counted: with failures: 1, one counted guess would have locked its account.
  for (let i = 0; i < 5; i++) assert.equal((await guard.login({ account: `user${i}`, password: 'pw', hash, address: '10.1.0.1' })).status, 200)
})
