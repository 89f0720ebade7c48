'use strict'

// argon2 through the tier (client.argon2): computed by the workers, sealed as bcrypt's jobs are, with
// the options, answers and errors of bcrypt-offload/argon2. Checked against the `argon2` package (a
// hash made through the tier verifies there, and one made there verifies through the tier), against
// the local pool (the same raw bytes, the same errors), and against an attacker who writes Redis.

const test = require('node:test')
const assert = require('node:assert/strict')
const { randomBytes } = require('node:crypto')

const peer = require('argon2')
const local = require('../argon2.js')
const { redisForFile, queueTestFile, tier, settle, until, waitingCount, waitingIds, completedEvents, startRedis, queueName } = require('./redis-helpers.js')
const { connect, newKey } = require('../queue.js')

queueTestFile()
const redis = redisForFile()

// Small parameters: these tests are about the tier, not argon2's cost.
const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 }
const outcomeOf = (err) => ({ name: err?.constructor?.name, code: err?.code, message: err?.message })

test('argon2 through the tier: hashes the argon2 package verifies, and the reverse, for every type', { timeout: 60_000 }, async () => {
  const t = await tier(redis)
  try {
    for (const type of [local.argon2id, local.argon2i, local.argon2d]) {
      const password = `pässword ${type}`
      const digest = await t.client.argon2.hash(password, { ...CHEAP, type })
      assert.match(digest, /^\$argon2(id|i|d)\$v=19\$m=1024,t=1,p=1\$/)
      assert.equal(await peer.verify(digest, password), true)
      assert.equal(await peer.verify(digest, 'wrong'), false)
      const theirs = await peer.hash(password, { ...CHEAP, type })
      assert.equal(await t.client.argon2.verify(theirs, password), true)
      assert.equal(await t.client.argon2.verify(theirs, 'wrong'), false)
      assert.equal(t.client.argon2.needsRehash(theirs, { ...CHEAP, type }), false)
    }
    // The worker computes exactly what the local pool computes: the same bytes for the same inputs,
    // secret and associated data included, and raw hashes as Buffers.
    const inputs = { ...CHEAP, salt: Buffer.alloc(16, 7), secret: Buffer.from('pepper'), associatedData: Buffer.from('ad'), hashLength: 48 }
    const password = Buffer.from([0, 1, 2, 255])
    assert.equal(await t.client.argon2.hash(password, inputs), await local.hash(password, inputs))
    const raw = await t.client.argon2.hash(password, { ...inputs, raw: true })
    assert.ok(Buffer.isBuffer(raw))
    assert.deepEqual(raw, await local.hash(password, { ...inputs, raw: true }))
    const peppered = await local.hash('pw', { ...CHEAP, secret: Buffer.from('pepper') })
    assert.equal(await t.client.argon2.verify(peppered, 'pw', { secret: Buffer.from('pepper') }), true)
    assert.equal(await t.client.argon2.verify(peppered, 'pw'), false)
    // The longest password the tier carries.
    const longest = 'é'.repeat(512)
    assert.equal(await peer.verify(await t.client.argon2.hash(longest, CHEAP), longest), true)
    const { argon2Hash, argon2Verify } = t.workers[0].stats()
    assert.deepEqual({ argon2Hash, argon2Verify }, { argon2Hash: 6, argon2Verify: 8 })
  } finally {
    await t.close()
  }
})

test('bad options and digests: the same answer or error through the tier as locally', { timeout: 60_000 }, async () => {
  const t = await tier(redis)
  try {
    const good = await local.hash('pw', CHEAP)
    const cases = [
      ['memoryCost below the minimum', (a) => a.hash('pw', { ...CHEAP, memoryCost: 1 })],
      ['parallelism 0', (a) => a.hash('pw', { ...CHEAP, parallelism: 0 })],
      ['a salt too short', (a) => a.hash('pw', { ...CHEAP, salt: Buffer.alloc(4) })],
      ['an unknown type', (a) => a.hash('pw', { ...CHEAP, type: 7 })],
      ['a type that is a string', (a) => a.hash('pw', { ...CHEAP, type: 'argon2id' })],
      ['timeCost 0', (a) => a.hash('pw', { ...CHEAP, timeCost: 0 })],
      ['more memory than any budget holds', (a) => a.hash('pw', { ...CHEAP, memoryCost: 2 ** 32 - 1 })],
      ['options that are not an object', (a) => a.hash('pw', [])],
      ['a password that is a number', (a) => a.hash(42, CHEAP)],
      ['a bad priority', (a) => a.verify(good, 'pw', { priority: 'urgent' })],
      ['a digest with junk', (a) => a.verify(`${good}junk`, 'pw')],
      ['a bcrypt hash', (a) => a.verify('$2b$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'pw')],
      ['a digest that is not a string', (a) => a.verify(null, 'pw')],
      ['needsRehash of junk', async (a) => a.needsRehash('junk')],
    ]
    const rows = []
    for (const [label, call] of cases) {
      const [here, there] = [await settle(call(local)), await settle(call(t.client.argon2))]
      rows.push([label, there.error ? outcomeOf(there.error) : there.value])
      assert.deepEqual(there.error ? outcomeOf(there.error) : there.value, here.error ? outcomeOf(here.error) : here.value, label)
    }
    // Each of the binding's refusals came back from a worker, worded by the caller's facade.
    assert.ok(rows.some(([, r]) => r.code === 'ERR_BCRYPT_MEMORY_BUDGET'))
    assert.ok(rows.filter(([, r]) => r.code === 'ERR_OUT_OF_RANGE' || r.code === 'ERR_INVALID_ARG_VALUE').length >= 3, JSON.stringify(rows))
  } finally {
    await t.close()
  }
})

test('past what the tier carries for argon2: a RangeError with a code, nothing queued, no secret in it', { timeout: 30_000 }, async () => {
  const t = await tier(redis, { workers: 0 })
  try {
    const good = await local.hash('pw', CHEAP)
    const longDigest = await local.hash('pw', { ...CHEAP, salt: Buffer.alloc(64, 1), hashLength: 1024 })
    const secret = 'x'.repeat(1025)
    const cases = [
      [() => t.client.argon2.hash(secret, CHEAP), 'the password is 1025 bytes'],
      [() => t.client.argon2.verify(good, secret), 'the password is 1025 bytes'],
      [() => t.client.argon2.hash('pw', { ...CHEAP, salt: Buffer.alloc(65) }), 'options.salt is 65 bytes'],
      [() => t.client.argon2.hash('pw', { ...CHEAP, secret: Buffer.alloc(65) }), 'options.secret is 65 bytes'],
      [() => t.client.argon2.hash('pw', { ...CHEAP, associatedData: Buffer.alloc(65) }), 'options.associatedData is 65 bytes'],
      [() => t.client.argon2.hash('pw', { ...CHEAP, hashLength: 129 }), 'options.hashLength is 129'],
      [() => t.client.argon2.verify(longDigest, 'pw'), `the digest is ${longDigest.length} characters`],
    ]
    for (const [call, says] of cases) {
      const { error } = await settle(call())
      assert.ok(error instanceof RangeError, says)
      assert.equal(error.code, 'ERR_BCRYPT_QUEUE_ARGON2_LIMIT')
      assert.ok(error.message.includes(says), error.message)
      assert.equal(error.message.includes(secret), false)
    }
    assert.equal(await waitingCount(redis, t.keys), 0)
    assert.equal(t.client.stats().submitted, 0)
  } finally {
    await t.close()
  }
})

test('an argon2 request or result rewritten in Redis is refused (ERR_BCRYPT_QUEUE_TAMPERED)', { timeout: 60_000 }, async () => {
  const t = await tier(redis, { workers: 0 })
  const { Worker } = require('bullmq')
  let attacker
  try {
    const stored = await local.hash('right password', CHEAP)
    // A request replayed onto another job: the worker refuses it, computes nothing.
    const first = settle(t.client.argon2.verify(stored, 'right password'))
    await until(async () => (await waitingCount(redis, t.keys)) === 1)
    const second = settle(t.client.argon2.verify(stored, 'wrong password'))
    await until(async () => (await waitingCount(redis, t.keys)) === 2)
    const [idFirst, idSecond] = await waitingIds(redis, t.keys)
    await redis.command('HSET', t.keys(idSecond), 'data', await redis.command('HGET', t.keys(idFirst), 'data'))
    const worker = await t.addWorker()
    assert.equal((await first).value, true)
    assert.equal((await second).error?.code, 'ERR_BCRYPT_QUEUE_TAMPERED')
    assert.equal(worker.stats().rejected, 1)
    // A result replayed: the first job's `true` handed to a wrong password's verify, and a flipped bit.
    const [trueResult] = (await completedEvents(redis, t.keys)).map((e) => JSON.parse(e.returnvalue))
    await worker.close()
    let forged
    attacker = new Worker(t.name, async () => forged(), { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } })
    for (const forge of [() => trueResult, () => { const b = Buffer.from(trueResult, 'base64'); b[20] ^= 1; return b.toString('base64') }, () => true]) {
      forged = forge
      assert.equal((await settle(t.client.argon2.verify(stored, 'wrong password'))).error?.code, 'ERR_BCRYPT_QUEUE_TAMPERED')
      assert.equal((await settle(t.client.argon2.hash('pw', CHEAP))).error?.code, 'ERR_BCRYPT_QUEUE_TAMPERED')
    }
  } finally {
    await attacker?.close()
    await t.close()
  }
})

test('argon2 through the tier: abort and deadline as bcrypt calls have them; needsRehash queues nothing', { timeout: 30_000 }, async () => {
  const t = await tier(redis, { workers: 0 })
  try {
    const stored = await local.hash('pw', CHEAP)
    const controller = new AbortController()
    const aborted = settle(t.client.argon2.hash('pw', { ...CHEAP, signal: controller.signal }))
    await until(async () => (await waitingCount(redis, t.keys)) === 1)
    controller.abort()
    assert.equal((await aborted).error?.name, 'AbortError')
    await until(async () => (await waitingCount(redis, t.keys)) === 0)
    // No worker to start it by its deadline: dropped uncomputed.
    const late = await settle(t.client.argon2.verify(stored, 'pw', { timeout: 50 }))
    assert.equal(late.error?.code, 'ERR_BCRYPT_DEADLINE')
    assert.equal(t.client.argon2.needsRehash(stored, CHEAP), false)
    assert.equal(t.client.argon2.needsRehash(stored), true)
    // A digest that is not argon2's: false at once, nothing queued (as the local pool answers).
    assert.equal(await t.client.argon2.verify('not a digest', 'pw'), false)
    assert.equal(t.client.stats().submitted, 2)
    // A job queued with a deadline, then a worker: it starts in time and answers.
    const inTime = settle(t.client.argon2.verify(stored, 'pw', { timeout: 20_000 }))
    await t.addWorker()
    assert.equal((await inTime).value, true)
  } finally {
    await t.close()
  }
})

test('bcrypt-offload/passwords over the tier: verify-and-upgrade computed by the workers', { timeout: 60_000 }, async () => {
  const { createPasswords } = require('../passwords.js')
  const bcrypt = require('..')
  const t = await tier(redis)
  try {
    const passwords = createPasswords({ algorithm: 'argon2id', ...CHEAP }, { tier: t.client })
    const fromBcrypt = bcrypt.hashSync('old password', 4)
    assert.deepEqual(await passwords.verify('old password', fromBcrypt), { ok: true, needsRehash: true })
    const upgraded = await passwords.hash('old password')
    assert.equal(await peer.verify(upgraded, 'old password'), true)
    assert.deepEqual(await passwords.verify('old password', upgraded), { ok: true, needsRehash: false })
    assert.equal((await passwords.verify('wrong', upgraded)).ok, false)
    assert.equal(await passwords.verifyUnknown('anyone'), false)
    assert.equal((await passwords.verify('pw', 'junk')).reason, 'ERR_PASSWORD_HASH_UNKNOWN')
    const { compare, argon2Hash, argon2Verify } = t.workers[0].stats()
    // bcrypt's compare; the policy's hash and the decoy's; three verifies and two decoy verifies.
    assert.deepEqual({ compare, argon2Hash, argon2Verify }, { compare: 1, argon2Hash: 2, argon2Verify: 4 })
    for (const tier of [null, {}, bcrypt]) {
      assert.throws(() => createPasswords({ algorithm: 'bcrypt' }, { tier }), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    }
  } finally {
    await t.close()
  }
})

test("argon2 with fallback 'local': computed on this process's pool while Redis is down", { timeout: 30_000 }, async (t) => {
  const server = await startRedis()
  t.after(() => server.destroy())
  const client = connect({ redis: server.url, key: newKey(), name: queueName(), fallback: 'local' })
  try {
    await client.ready()
    await server.kill()
    const salt = Buffer.alloc(16, 3)
    const digest = await client.argon2.hash('down', { ...CHEAP, salt })
    assert.equal(digest, await local.hash('down', { ...CHEAP, salt }))
    assert.deepEqual(await client.argon2.hash('down', { ...CHEAP, salt, raw: true }), await local.hash('down', { ...CHEAP, salt, raw: true }))
    assert.equal(await client.argon2.verify(digest, 'down'), true)
    assert.equal(await client.argon2.verify(digest, 'wrong'), false)
    assert.equal(client.stats().local, 4)
  } finally {
    await client.close()
  }
})
