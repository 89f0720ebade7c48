'use strict'

// Many calls in flight at once: every one settles, exactly once, with the right answer.

const test = require('node:test')
const assert = require('node:assert/strict')

const bcrypt = require('..')

test('1,000 concurrent hash and compare calls all settle correctly', async () => {
  const salt = '$2b$04$abcdefghijklmnopqrstuu'
  const jobs = Array.from({ length: 1000 }, (_, i) => {
    const password = `password-${i}`
    const expected = bcrypt.hashSync(password, salt)
    return i % 2 === 0
      ? bcrypt.hash(password, salt).then((h) => assert.equal(h, expected, password))
      : bcrypt.compare(i % 4 === 1 ? password : `${password}!`, expected).then((ok) => assert.equal(ok, i % 4 === 1, password))
  })
  const results = await Promise.allSettled(jobs)
  assert.deepEqual(results.filter((r) => r.status === 'rejected'), [])
})

test('mixed costs in flight together give the single-lane answers', async () => {
  const cases = Array.from({ length: 24 }, (_, i) => ({ password: `p${i}`, cost: 4 + (i % 5) }))
  const hashes = await Promise.all(cases.map(({ password, cost }) => bcrypt.hash(password, cost)))
  for (const [i, h] of hashes.entries()) {
    assert.equal(bcrypt.getRounds(h), cases[i].cost)
    assert.equal(bcrypt.hashSync(cases[i].password, h), h)
  }
  assert.equal(bcrypt.stats().running, 0)
})
