'use strict'

// What the size of a sealed message tells someone who reads Redis, and what a request carries of
// a password (lib/queue/envelope.js). A request carries the 72 bytes bcrypt reads of its password,
// never the password, so that every request is one size: here those 72 bytes are held to the
// binding's own hashes under every minor and every password length up to 600 bytes (the `$2a$`
// wraparound at 255 included), and against a real redis-server every job's data and every result in
// the event stream, measured as an attacker would, has one length whatever the password, its
// length, the operation, the salt, the fair-share key or the answer.

const test = require('node:test')
const assert = require('node:assert/strict')
const { createHash, randomBytes } = require('node:crypto')

const binding = require('../binding.js')
const local = require('..')
const envelope = require('../lib/queue/envelope.js')
const { compareLegacy } = require('../queue.js')
const { redisForFile, queueTestFile, tier, until, waitingCount, waitingIds, completedEvents } = require('./redis-helpers.js')

const FAST = 4
const SALT = 'CCCCCCCCCCCCCCCCCCCCC.'
const SETTINGS = ['$2$', '$2a$', '$2b$', '$2y$'].map((prefix) => `${prefix}04$${SALT}`)

// What a worker computes from a sealed request: the bytes it opens to, under the setting it opens to.
function throughEnvelope(op, setting, data) {
  const key = Buffer.from(envelope.newKey(), 'base64')
  const sealed = envelope.sealRequest(key, 'q', 'job', { op, setting, data, deadline: 1e12 })
  return envelope.openRequest(key, 'q', 'job', sealed)
}

test('the 72 bytes a request carries give the hash the whole password gives, under every minor', () => {
  const patterns = [(n) => randomBytes(n), (n) => Buffer.alloc(n, 0), (n) => Buffer.from('é'.repeat(n)).subarray(0, n)]
  for (const setting of SETTINGS) {
    for (let length = 0; length <= 600; length++) {
      const password = patterns[length % patterns.length](length)
      const opened = throughEnvelope('hash', setting, password)
      assert.equal(opened.data.length, binding.MAX_PASSWORD_BYTES)
      assert.equal(binding.hashSync(opened.data, opened.setting), binding.hashSync(password, setting), `${setting} length ${length}`)
    }
  }
  // Two passwords that differ only past what bcrypt reads: the same 72 bytes. Passwords that
  // differ where `$2a$` reads (its wraparound) or anywhere in the first 72: not.
  const pair = (setting, a, b) => [a, b].map((p) => throughEnvelope('compare', setting, p).data.toString('hex'))
  const long = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256))
  const [b1, b2] = pair(SETTINGS[2], long, Buffer.concat([long, Buffer.from('y')]))
  assert.equal(b1, b2)
  const [a1, a2] = pair(SETTINGS[1], long, Buffer.concat([long, Buffer.from('y')]))
  assert.notEqual(a1, a2)
})

test('a salt string travels as the 29 characters bcrypt reads of it, with the same outcome', () => {
  const hash = local.hashSync('pw', `$2b$04$${SALT}`)
  for (const salt of [hash, `${hash}junk`, `$2b$04$${SALT}${'x'.repeat(10_000)}`, `$2$04$${SALT}é`, `$2b$04$${SALT.slice(0, 21)}`, `$2b$04$${SALT.slice(0, 20)}é.`, 'not a salt', '']) {
    const opened = throughEnvelope('hash', salt, 'pw')
    assert.ok(opened.setting.length <= 29)
    const outcome = (s) => {
      try {
        return binding.hashSync('pw', s)
      } catch (err) {
        return err.code
      }
    }
    assert.equal(outcome(opened.setting), outcome(salt), salt.slice(0, 40))
  }
})

queueTestFile()
const redis = redisForFile()

/**
 * `calls` (`{ call, check }`, made with no worker running) as an attacker reading Redis sees them:
 * every waiting job's sealed data one size, no 'right password' in the clear; then, once a worker
 * has answered each (as `check` expects), every result in the event stream one size. Resolves the
 * two sets of sizes (one each).
 */
async function oneSizeEach(t, calls) {
  for (const { call } of calls) call.catch(() => {}) // awaited below, unless an assertion fails first

  // The jobs as they wait, read straight from Redis: each one's sealed data.
  await until(async () => (await waitingCount(redis, t.keys)) === calls.length)
  const ids = await waitingIds(redis, t.keys)
  const jobs = await Promise.all(ids.map((id) => redis.command('HGETALL', t.keys(id))))
  const data = jobs.map((fields) => String(fields[fields.map(String).indexOf('data') + 1]))
  const requestSizes = new Set(data.map((d) => Buffer.from(JSON.parse(d).s, 'base64').length))
  assert.equal(requestSizes.size, 1, `request sizes ${[...requestSizes]}`)
  assert.equal(new Set(data.map((d) => d.length)).size, 1)
  // Not a single byte of what was hashed in the clear: no password reaches Redis unsealed.
  const dump = Buffer.concat(jobs.flat().map((v) => Buffer.from(v)))
  assert.equal(dump.includes('right password'), false)

  await t.addWorker()
  const outcomes = await Promise.all(calls.map(({ call }) => call))
  outcomes.forEach((outcome, i) => assert.ok(calls[i].check(outcome), `call ${i}: ${outcome}`))

  const results = await completedEvents(redis, t.keys)
  assert.equal(results.length, calls.length)
  const resultSizes = new Set(results.map((e) => Buffer.from(JSON.parse(e.returnvalue), 'base64').length))
  assert.equal(resultSizes.size, 1, `result sizes ${[...resultSizes]}`)
  assert.equal(new Set(results.map((e) => e.returnvalue.length)).size, 1)
  return { requestSizes, resultSizes }
}

test('in Redis, every job and every result has one size: an attacker reading it learns neither lengths nor answers', { timeout: 60_000 }, async () => {
  const t = await tier(redis, { workers: 0, timeout: 50_000 })
  try {
    const stored = await local.hash('right password', FAST)
    const storedA = local.hashSync('right password', `$2a$04$${SALT}`)
    const passwords = ['', 'a', 'x'.repeat(72), 'x'.repeat(73), 'é'.repeat(200), randomBytes(256), randomBytes(1000), 'p'.repeat(100_000)]
    const keys = [undefined, '', '203.0.113.7', 'k'.repeat(1024), '\u{1F600}'.repeat(512)]
    const calls = []
    passwords.forEach((password, i) => {
      const options = { key: keys[i % keys.length], priority: ['high', 'normal', 'low'][i % 3] }
      calls.push({ call: t.client.hash(password, FAST, options), check: (h) => local.compareSync(password, h) })
      calls.push({ call: t.client.hash(password, `${stored}${'z'.repeat(i * 100)}`, options), check: (h) => h === local.hashSync(password, stored) })
      calls.push({ call: t.client.hash(password, `$2a$04$${SALT}`, options), check: (h) => h === local.hashSync(password, `$2a$04$${SALT}`) })
      calls.push({ call: t.client.compare(password, stored, options), check: (ok) => ok === false })
      calls.push({ call: t.client.compareUnknown(password, { ...options, rounds: FAST }), check: (ok) => ok === false })
    })
    for (const hash of [stored, storedA]) {
      calls.push({ call: t.client.compare('right password', hash), check: (ok) => ok === true })
      calls.push({ call: t.client.compare('wrong password', hash), check: (ok) => ok === false })
    }
    // compareLegacy ships a legacy digest's hex (32 or 40 characters) as the password: the same size.
    for (const kind of ['md5', 'sha1']) {
      const wrapped = `${kind}:${local.hashSync(createHash(kind).update('right password').digest('hex'), FAST)}`
      calls.push({ call: compareLegacy(t.client, 'right password', wrapped), check: (r) => r.ok === true && r.upgrade === true })
    }
    // A failure comes back sealed too: a salt the worker's binding refuses.
    calls.push({ call: t.client.hash('pw', '$2b$04$not a salt at all......').then(() => 'resolved', (err) => err.code), check: (code) => code === 'ERR_INVALID_ARG_VALUE' })

    const { requestSizes, resultSizes } = await oneSizeEach(t, calls)
    console.log(`${calls.length} jobs: every request ${[...requestSizes]} bytes sealed, every result ${[...resultSizes]}`)
  } finally {
    await t.close()
  }
})

test('argon2 jobs: every request one size and every result one size, whatever the password, its options or the answer', { timeout: 60_000 }, async () => {
  const argon2 = require('../argon2.js')
  const { ARGON2_LIMITS: LIMITS } = envelope
  const t = await tier(redis, { workers: 0, timeout: 50_000 })
  try {
    const cheap = { memoryCost: 1024, timeCost: 1, parallelism: 1 }
    const stored = argon2.hashSync('right password', cheap)
    // A well-formed digest of the longest the tier carries, made of the largest fields.
    const numbers = 'm=4294967295,t=4294967295,p=16777215'
    const head = `$argon2id$v=19$${numbers},data=${Buffer.alloc(LIMITS.associatedData, 1).toString('base64').replace(/=+$/, '')}$${Buffer.alloc(LIMITS.salt, 2).toString('base64').replace(/=+$/, '')}$`
    let longest = head
    for (let n = 4; `${head}${Buffer.alloc(n + 1).toString('base64').replace(/=+$/, '')}`.length <= LIMITS.digest; n++) longest = `${head}${Buffer.alloc(n).toString('base64').replace(/=+$/, '')}`
    assert.ok(require('../binding.js').argon2Info(longest), 'the longest digest is well-formed')
    const max = (n) => Buffer.alloc(n, 0xff)
    const largest = { type: 2 ** 32 - 1, version: 2 ** 32 - 1, memoryCost: 2 ** 32 - 1, timeCost: 2 ** 32 - 1, parallelism: 2 ** 32 - 1, hashLength: LIMITS.hashLength, salt: max(LIMITS.salt), secret: max(LIMITS.secret), associatedData: max(LIMITS.associatedData) }
    const passwords = ['', 'a', 'é'.repeat(LIMITS.password / 2), randomBytes(LIMITS.password), 'right password']
    const keys = [undefined, 'k'.repeat(1024), '\u{1F600}'.repeat(512)]
    const calls = []
    passwords.forEach((password, i) => {
      const options = { key: keys[i % keys.length], priority: ['high', 'normal', 'low'][i % 3] }
      calls.push({ call: t.client.argon2.hash(password, { ...cheap, ...options }), check: (h) => argon2.verifySync(h, password) })
      calls.push({ call: t.client.argon2.hash(password, { ...cheap, ...options, raw: true, hashLength: LIMITS.hashLength, salt: max(LIMITS.salt), secret: max(LIMITS.secret), associatedData: max(LIMITS.associatedData) }), check: (h) => h.length === LIMITS.hashLength })
      calls.push({ call: t.client.argon2.hash(password, { ...cheap, ...options, hashLength: LIMITS.hashLength, salt: max(LIMITS.salt), associatedData: max(LIMITS.associatedData) }), check: (h) => argon2.verifySync(h, password) })
      calls.push({ call: t.client.argon2.verify(stored, password, options), check: (ok) => ok === (password === 'right password') })
      calls.push({ call: t.client.argon2.verify(longest, password, { ...options, secret: max(LIMITS.secret) }).catch((err) => err.code), check: (code) => code === 'ERR_BCRYPT_MEMORY_BUDGET' })
      calls.push({ call: t.client.argon2.hash(password, { ...largest, ...options }).catch((err) => err.code), check: (code) => code === 'ERR_OUT_OF_RANGE' })
    })
    const { requestSizes, resultSizes } = await oneSizeEach(t, calls)
    console.log(`${calls.length} argon2 jobs: every request ${[...requestSizes]} bytes sealed, every result ${[...resultSizes]}`)
  } finally {
    await t.close()
  }
})
