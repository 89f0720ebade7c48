'use strict'

// bcrypt-offload/argon2 against implementations we did not write: RFC 9106's test vectors, and
// round trips both ways with `argon2` (node-argon2, over the reference C implementation) and
// `@node-rs/argon2` over random passwords and parameters (fast-check); then its bad input, its
// scheduling, and its place on the pool.

const test = require('node:test')
const assert = require('node:assert/strict')
const fc = require('fast-check')

const ours = require('../argon2.js')
const bcrypt = require('..')
const nodeArgon2 = require('argon2')
const nodeRs = require('@node-rs/argon2')

// RFC 9106, section 5: password 32 × 0x01, salt 16 × 0x02, secret 8 × 0x03, associated data
// 12 × 0x04, m=32, t=3, p=4, version 0x13, 32-byte tags.
const RFC_9106 = {
  options: {
    memoryCost: 32,
    timeCost: 3,
    parallelism: 4,
    hashLength: 32,
    salt: Buffer.alloc(16, 2),
    secret: Buffer.alloc(8, 3),
    associatedData: Buffer.alloc(12, 4),
    raw: true,
  },
  password: Buffer.alloc(32, 1),
  tags: [
    [ours.argon2d, '512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb'],
    [ours.argon2i, 'c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8'],
    [ours.argon2id, '0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659'],
  ],
}

test("RFC 9106's test vectors, sync and on the pool, raw and encoded", async () => {
  for (const [type, tag] of RFC_9106.tags) {
    const options = { ...RFC_9106.options, type }
    assert.equal(ours.hashSync(RFC_9106.password, options).toString('hex'), tag)
    assert.equal((await ours.hash(RFC_9106.password, options)).toString('hex'), tag)
    const digest = await ours.hash(RFC_9106.password, { ...options, raw: false })
    assert.equal(digest.split('$').pop(), Buffer.from(tag, 'hex').toString('base64').replace(/=+$/, ''))
    // The reference implementation (through node-argon2) checks what we encoded, data= included.
    assert.equal(await nodeArgon2.verify(digest, RFC_9106.password, { secret: RFC_9106.options.secret }), true)
    assert.equal(await ours.verify(digest, RFC_9106.password, { secret: RFC_9106.options.secret }), true)
    assert.equal(await ours.verify(digest, RFC_9106.password), false, 'the secret is part of the hash')
  }
})

// Parameters every implementation accepts, kept small so that hundreds of runs take seconds.
const params = fc.record({
  type: fc.constantFrom(0, 1, 2),
  version: fc.constantFrom(0x10, 0x13),
  parallelism: fc.integer({ min: 1, max: 3 }),
  extraMemory: fc.integer({ min: 0, max: 40 }),
  timeCost: fc.integer({ min: 1, max: 3 }),
  hashLength: fc.integer({ min: 4, max: 64 }),
  salt: fc.uint8Array({ minLength: 8, maxLength: 48 }).map(Buffer.from),
  secret: fc.option(fc.uint8Array({ minLength: 1, maxLength: 32 }).map(Buffer.from), { nil: undefined }),
})
const password = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.uint8Array({ maxLength: 80 }).map(Buffer.from))

const optionsOf = (p) => ({
  type: p.type,
  version: p.version,
  memoryCost: 8 * p.parallelism + p.extraMemory,
  timeCost: p.timeCost,
  parallelism: p.parallelism,
  hashLength: p.hashLength,
  salt: p.salt,
  secret: p.secret,
})
// @node-rs/argon2's names for the same.
const nodeRsOptionsOf = (o) => ({
  algorithm: o.type,
  version: o.version === 0x10 ? 0 : 1,
  memoryCost: o.memoryCost,
  timeCost: o.timeCost,
  parallelism: o.parallelism,
  outputLen: o.hashLength,
  salt: o.salt,
  secret: o.secret,
})

test('hashes are byte-identical with argon2 and @node-rs/argon2 and each verifies the others', async () => {
  await fc.assert(
    fc.asyncProperty(password, params, async (pw, p) => {
      const options = optionsOf(p)
      const secret = { secret: p.secret }
      const mine = await ours.hash(pw, options)
      const theirs = await nodeArgon2.hash(pw, options)
      const rs = await nodeRs.hash(pw, nodeRsOptionsOf(options))
      assert.equal(mine, theirs, 'argon2 writes the same PHC string')
      assert.equal(mine, rs, '@node-rs/argon2 writes the same PHC string')
      assert.equal(ours.hashSync(pw, options), mine)
      assert.equal(await nodeArgon2.verify(mine, pw, secret), true)
      // @node-rs/argon2's verify refuses a password that is not UTF-8 ("invalid utf-8 sequence"),
      // though its hash takes any bytes.
      const utf8 = typeof pw === 'string' || Buffer.from(pw.toString('utf8')).equals(pw)
      if (utf8) assert.equal(await nodeRs.verify(mine, pw, secret), true)
      assert.equal(await ours.verify(theirs, pw, secret), true)
      assert.equal(await ours.verify(rs, pw, secret), true)
      assert.equal(ours.verifySync(rs, pw, secret), true)
      // A different password is refused by all.
      const other = typeof pw === 'string' ? `${pw}x` : Buffer.concat([pw, Buffer.of(0)])
      assert.equal(await ours.verify(theirs, other, secret), false)
      assert.equal(await nodeArgon2.verify(mine, other, secret), false)
    }),
    { numRuns: 1000 },
  )
})

test('associated data round-trips with argon2, which records it as data=', async () => {
  await fc.assert(
    fc.asyncProperty(password, params, fc.uint8Array({ minLength: 1, maxLength: 100 }).map(Buffer.from), async (pw, p, ad) => {
      const options = { ...optionsOf(p), associatedData: ad }
      const mine = await ours.hash(pw, options)
      assert.equal(mine, await nodeArgon2.hash(pw, options))
      assert.match(mine, /,data=/)
      assert.equal(await nodeArgon2.verify(mine, pw, { secret: p.secret }), true)
      assert.equal(await ours.verify(mine, pw, { secret: p.secret }), true)
    }),
    { numRuns: 100 },
  )
})

test('the defaults are OWASP’s argon2id m=19456, t=2, p=1 and a 16-byte salt', async () => {
  const digest = await ours.hash('correct horse')
  assert.match(digest, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
  assert.equal(await nodeArgon2.verify(digest, 'correct horse'), true)
  assert.equal(await nodeRs.verify(digest, 'correct horse'), true)
  assert.deepEqual(ours.defaults, { type: 2, version: 0x13, memoryCost: 19456, timeCost: 2, parallelism: 1, hashLength: 32 })
  assert.notEqual(await ours.hash('correct horse'), digest, 'a new salt each time')
  assert.equal(ours.needsRehash(digest), false)
})

test('needsRehash compares type, version and costs', async () => {
  const digest = await ours.hash('pw', { memoryCost: 64, timeCost: 1, parallelism: 2, type: ours.argon2i })
  const same = { memoryCost: 64, timeCost: 1, parallelism: 2, type: ours.argon2i }
  assert.equal(ours.needsRehash(digest, same), false)
  for (const change of [{ memoryCost: 128 }, { timeCost: 2 }, { parallelism: 1 }, { type: ours.argon2id }, { version: 0x10 }]) {
    assert.equal(ours.needsRehash(digest, { ...same, ...change }), true, JSON.stringify(change))
  }
  assert.throws(() => ours.needsRehash('$2b$10$abc'), { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => ours.needsRehash(42), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
})

test('bad options are refused with a Node-style code before anything is queued', async () => {
  const before = bcrypt.stats()
  const cases = [
    [{ memoryCost: 7 }, RangeError, 'ERR_OUT_OF_RANGE', /memoryCost/],
    [{ memoryCost: 15, parallelism: 2 }, RangeError, 'ERR_OUT_OF_RANGE', /memoryCost/],
    [{ parallelism: 0 }, RangeError, 'ERR_OUT_OF_RANGE', /parallelism/],
    [{ parallelism: 2 ** 24 }, RangeError, 'ERR_OUT_OF_RANGE', /parallelism/],
    [{ timeCost: 0 }, RangeError, 'ERR_OUT_OF_RANGE', /timeCost/],
    [{ hashLength: 3 }, RangeError, 'ERR_OUT_OF_RANGE', /hashLength/],
    [{ salt: Buffer.alloc(7) }, RangeError, 'ERR_OUT_OF_RANGE', /salt/],
    [{ associatedData: 'ad' }, TypeError, 'ERR_INVALID_ARG_TYPE', /associatedData/],
    [{ type: 3 }, RangeError, 'ERR_OUT_OF_RANGE', /type/],
    [{ version: 0x12 }, RangeError, 'ERR_OUT_OF_RANGE', /version/],
    [{ memoryCost: 1.5 }, RangeError, 'ERR_OUT_OF_RANGE', /memoryCost/],
    [{ memoryCost: -1 }, RangeError, 'ERR_OUT_OF_RANGE', /memoryCost/],
    [{ memoryCost: 2 ** 32 }, RangeError, 'ERR_OUT_OF_RANGE', /memoryCost/],
    [{ memoryCost: '64' }, TypeError, 'ERR_INVALID_ARG_TYPE', /memoryCost/],
    [{ salt: 'saltsalt' }, TypeError, 'ERR_INVALID_ARG_TYPE', /salt/],
    [{ secret: [1, 2] }, TypeError, 'ERR_INVALID_ARG_TYPE', /secret/],
    [{ raw: 1 }, TypeError, 'ERR_INVALID_ARG_TYPE', /raw/],
    [{ priority: 'urgent' }, TypeError, 'ERR_INVALID_ARG_VALUE', /priority/],
    [{ timeout: -1 }, RangeError, 'ERR_OUT_OF_RANGE', /timeout/],
  ]
  for (const [options, Class, code, message] of cases) {
    const check = (err) => err instanceof Class && err.code === code && message.test(err.message)
    await assert.rejects(ours.hash('pw', options), check, JSON.stringify(options))
    if (!('priority' in options || 'timeout' in options)) assert.throws(() => ours.hashSync('pw', options), check)
  }
  for (const pw of [undefined, null, 42, {}, [1]]) {
    await assert.rejects(ours.hash(pw), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    await assert.rejects(ours.verify('$argon2id$', pw), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  }
  await assert.rejects(ours.verify(42, 'pw'), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(ours.hash('pw', new AbortController().signal), { code: 'ERR_INVALID_ARG_TYPE' })
  const after = bcrypt.stats()
  assert.equal(after.completed + after.rejected, before.completed + before.rejected, 'nothing reached the pool')
})

test('a digest that is not a well-formed argon2 hash verifies false, never throws or hangs', async () => {
  const good = await ours.hash('pw', { memoryCost: 16, timeCost: 1 })
  const junk = [
    '',
    'junk',
    '$argon2id$',
    '$argon2id$v=19$m=16,t=1,p=1$$',
    good.replace('argon2id', 'argon2x'),
    good.replace('m=16', 'm=7'),
    good.replace('p=1', 'p=0'),
    good.replace('t=1', 't=0'),
    good.replace('m=16', 'm=016'),
    good.replace('v=19', 'v=20'),
    `${good}$`,
    `${good}=`,
    good.replace(/\$[^$]+\$([^$]+)$/, '$AAAAAA$$1'), // a 4-byte salt
    good.slice(0, -40), // a hash too short
    '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy',
  ]
  for (const digest of junk) {
    assert.equal(await ours.verify(digest, 'pw'), false, digest)
    assert.equal(ours.verifySync(digest, 'pw'), false, digest)
  }
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 120 }), async (s) => {
      assert.equal(await ours.verify(s, 'pw'), false)
      assert.equal(await ours.verify(good.slice(0, 20) + s, 'pw'), false)
    }),
    { numRuns: 500 },
  )
})

test('argon2i and argon2d, version 0x10 and no v= at all, verify as argon2 wrote them', async () => {
  for (const type of [nodeArgon2.argon2d, nodeArgon2.argon2i, nodeArgon2.argon2id]) {
    for (const version of [0x10, 0x13]) {
      const digest = await nodeArgon2.hash('pw', { type, version, memoryCost: 32, timeCost: 2, parallelism: 1 })
      assert.equal(await ours.verify(digest, 'pw'), true, digest)
      assert.equal(await ours.verify(digest, 'px'), false, digest)
      if (version === 0x10) {
        // node-argon2 reads a digest without v= as version 0x10; so do we.
        const bare = digest.replace('$v=16', '')
        assert.equal(await ours.verify(bare, 'pw'), await nodeArgon2.verify(bare, 'pw'))
        assert.equal(await ours.verify(bare, 'pw'), true)
      }
    }
  }
})

test('scheduled as bcrypt jobs are: an aborted signal, a deadline, a priority and key', async () => {
  const aborted = AbortSignal.abort(new Error('gone'))
  await assert.rejects(ours.hash('pw', { signal: aborted }), { name: 'AbortError', code: 'ABORT_ERR' })
  await assert.rejects(ours.verify('$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAA', 'pw', { signal: aborted }), { name: 'AbortError' })
  await assert.rejects(ours.hash('pw', { deadline: Date.now() - 1 }), { code: 'ERR_BCRYPT_DEADLINE' })
  const digest = await ours.hash('pw', { memoryCost: 64, timeCost: 1, priority: 'high', key: 'acct', timeout: 60_000 })
  assert.equal(await ours.verify(digest, 'pw', { priority: 'low', key: 'acct', signal: new AbortController().signal }), true)
  const { classes } = bcrypt.stats()
  assert.ok(classes.high.completed >= 1 && classes.low.completed >= 1)
})

test('a job no memory budget could hold is a RangeError at call time', async (t) => {
  const { memory } = bcrypt.stats()
  const digest = await ours.hash('pw', { memoryCost: 2048, timeCost: 1 })
  t.after(() => bcrypt.configure({ argon2MemoryBudget: memory.budget }))
  bcrypt.configure({ argon2MemoryBudget: 1024 * 1024 })
  const err = await ours.hash('pw', { memoryCost: 2048 }).catch((e) => e)
  assert.ok(err instanceof RangeError)
  assert.equal(err.code, 'ERR_BCRYPT_MEMORY_BUDGET')
  assert.equal(err.budget, 1024 * 1024)
  assert.equal(err.memory, 2048 * 1024)
  await assert.rejects(ours.verify(digest, 'pw'), { code: 'ERR_BCRYPT_MEMORY_BUDGET' })
  // The sync forms, on the calling thread, are held to it too.
  assert.throws(() => ours.verifySync(digest, 'pw'), { name: 'RangeError', code: 'ERR_BCRYPT_MEMORY_BUDGET' })
  // Within it, it runs.
  assert.equal(await ours.verify(await ours.hash('pw', { memoryCost: 1024, timeCost: 1 }), 'pw'), true)
  for (const bad of [0, -1, 1.5, '1', 2 ** 53]) {
    assert.throws(() => bcrypt.configure({ argon2MemoryBudget: bad }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  }
})

test('computed on the pool: stats() counts the jobs and the memory they hold', async () => {
  const before = bcrypt.stats()
  const pending = Array.from({ length: 4 }, () => ours.hash('pw', { memoryCost: 4096, timeCost: 1 }))
  await Promise.all(pending)
  const after = bcrypt.stats()
  assert.equal(after.completed - before.completed, 4)
  assert.deepEqual(
    { inUse: after.memory.inUse, waiting: after.memory.waiting, tasksRunning: after.memory.tasksRunning },
    { inUse: 0, waiting: 0, tasksRunning: 0 },
  )
  assert.ok(after.memory.budget >= 19456 * 1024, 'the default holds at least one default job')
})

test('a job waiting for memory is dropped by its signal or its deadline, and the others run', async (t) => {
  const { memory } = bcrypt.stats()
  t.after(() => bcrypt.configure({ argon2MemoryBudget: memory.budget }))
  // Room for one job at a time: the rest wait for memory.
  bcrypt.configure({ argon2MemoryBudget: 8192 * 1024 })
  const before = bcrypt.stats()
  const options = { memoryCost: 8192, timeCost: 4 }
  const running = Array.from({ length: 3 }, (_, i) => ours.hash(`pw ${i}`, options))
  const controller = new AbortController()
  const aborted = ours.hash('aborted', { ...options, signal: controller.signal })
  const late = ours.hash('late', { ...options, timeout: 1 })
  controller.abort()
  await assert.rejects(aborted, { name: 'AbortError' })
  await assert.rejects(late, { code: 'ERR_BCRYPT_DEADLINE' })
  const digests = await Promise.all(running)
  assert.equal(await ours.verify(digests[2], 'pw 2'), true)
  // The dropped two leave the queue when a thread reaches them (or at once, had they been parked).
  const dropped = (s) => s.cancelled - before.cancelled + (s.expired - before.expired)
  while (dropped(bcrypt.stats()) < 2) await new Promise((resolve) => setImmediate(resolve))
  const after = bcrypt.stats()
  assert.equal(dropped(after), 2)
  assert.equal(after.completed - before.completed, 4, 'three hashes and a verify; the dropped two never ran')
})
