'use strict'

// Property-based parity with implementations we did not write (fast-check): random strings against
// bcryptjs, random bytes against bcrypt, costs 4–6, every form of ours, one call at a time and many
// at once. fast-check shrinks a failure
// to a small counterexample and prints its seed.

const test = require('node:test')
const assert = require('node:assert/strict')
const fc = require('fast-check')

const ours = require('..')
const cBcrypt = require('bcrypt')
const jsBcrypt = require('bcryptjs')

const cost = fc.integer({ min: 4, max: 6 })
const saltBytes = fc.uint8Array({ minLength: 16, maxLength: 16 })
// bcryptjs's own salt encoder, so the salt string comes from code we did not write either.
const saltFor = (bytes, c) => `$2b$0${c}$${jsBcrypt.encodeBase64(Array.from(bytes), 16)}`
// Full-Unicode strings without unpaired surrogates (those, bcryptjs encodes its own way).
const text = fc.string({ unit: 'grapheme', maxLength: 40 })

test('hash and compare agree with bcryptjs over random strings', async () => {
  await fc.assert(
    fc.asyncProperty(text, cost, saltBytes, async (password, c, bytes) => {
      const salt = saltFor(bytes, c)
      const theirs = jsBcrypt.hashSync(password, salt)
      assert.equal(ours.hashSync(password, salt), theirs)
      assert.equal(await ours.hash(password, salt), theirs)
      assert.equal(await ours.compare(password, theirs), true)
      assert.equal(jsBcrypt.compareSync(password, await ours.hash(password, c)), true)
    }),
    { numRuns: 60 },
  )
})

test('hash agrees with bcrypt over random bytes, NULs and long inputs included', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 100 }), cost, saltBytes, async (bytes, c, s) => {
      const password = Buffer.from(bytes)
      const salt = saltFor(s, c)
      const theirs = cBcrypt.hashSync(password, salt)
      assert.equal(await ours.hash(password, salt), theirs)
      assert.equal(ours.compareSync(password, theirs), true)
      assert.equal(cBcrypt.compareSync(password, ours.hashSync(password, salt)), true)
    }),
    { numRuns: 60 },
  )
})

// Many calls at once, of mixed costs, so that the pool interleaves them in its lanes and jobs join
// lanes already mid-way through other jobs' key schedules: each answer must still be bcrypt's.
test('calls made all at once, mixed costs, agree with bcrypt and bcryptjs', async () => {
  const job = fc.tuple(fc.oneof(text, fc.uint8Array({ maxLength: 80 })), cost, saltBytes)
  await fc.assert(
    fc.asyncProperty(fc.array(job, { minLength: 2, maxLength: 30 }), async (jobs) => {
      const inputs = jobs.map(([password, c, bytes]) => [typeof password === 'string' ? password : Buffer.from(password), saltFor(bytes, c)])
      const hashes = await Promise.all(inputs.map(([password, salt]) => ours.hash(password, salt)))
      const reference = (password, salt) =>
        typeof password === 'string' ? jsBcrypt.hashSync(password, salt) : cBcrypt.hashSync(password, salt)
      inputs.forEach(([password, salt], i) => assert.equal(hashes[i], reference(password, salt)))
      const verdicts = await Promise.all(inputs.map(([password], i) => ours.compare(password, hashes[i])))
      assert.deepEqual(verdicts, inputs.map(() => true))
    }),
    { numRuns: 15 },
  )
})
