'use strict'

// The call forms and errors of `bcrypt` 6, plus what this package adds: bytes other than Buffer,
// $2y$ verification, whole-string comparison, inputs copied at call time, configure().

const test = require('node:test')
const assert = require('node:assert/strict')
const { promisify } = require('node:util')

const bcrypt = require('..')
const promises = require('../promises')

const SALT = '$2b$04$CCCCCCCCCCCCCCCCCCCCC.'
const HASH = bcrypt.hashSync('U*U', SALT)

const INVALID_SALT = 'Invalid salt. Salt must be in the form of: $Vers$log2(NumRounds)$saltvalue'

// One expectation, checked in all three forms: sync throws, promise rejects, callback gets it.
// bcrypt gives a callback in the data or salt position a different error; those calls skip it.
async function expectError(name, args, { message, code, type = TypeError, callback = true }) {
  const check = (err) => {
    assert.ok(err instanceof type, `${name}: ${err} is not a ${type.name}`)
    assert.equal(err.message, message)
    assert.equal(err.code, code)
    return true
  }
  if (bcrypt[`${name}Sync`]) assert.throws(() => bcrypt[`${name}Sync`](...args), check)
  await assert.rejects(bcrypt[name](...args), check)
  if (!callback) return
  const err = await new Promise((resolve) => bcrypt[name](...args, (e) => resolve(e)))
  check(err)
}

test('sync, promise and callback forms agree', async () => {
  const viaCallback = await promisify(bcrypt.hash)('U*U', SALT)
  assert.equal(await bcrypt.hash('U*U', SALT), HASH)
  assert.equal(viaCallback, HASH)
  for (const [password, expected] of [['U*U', true], ['U*V', false]]) {
    assert.equal(bcrypt.compareSync(password, HASH), expected)
    assert.equal(await bcrypt.compare(password, HASH), expected)
    assert.equal(await promisify(bcrypt.compare)(password, HASH), expected)
  }
})

test('callbacks get undefined for the error and run on a later tick', async () => {
  let sync = true
  const args = await new Promise((resolve) => {
    bcrypt.hash('x', SALT, (...a) => resolve([sync, ...a]))
    sync = false
  })
  assert.deepEqual(args, [false, undefined, bcrypt.hashSync('x', SALT)])
  const [err, salt] = await new Promise((resolve) => bcrypt.genSalt(5, 'a', (...a) => resolve(a)))
  assert.equal(err, undefined)
  assert.match(salt, /^\$2a\$05\$[./A-Za-z0-9]{22}$/)
})

test('genSalt: defaults, minor, clamping', async () => {
  assert.match(bcrypt.genSaltSync(), /^\$2b\$10\$[./A-Za-z0-9]{22}$/)
  assert.match(await bcrypt.genSalt(), /^\$2b\$10\$/)
  assert.match(bcrypt.genSaltSync(12, 'a'), /^\$2a\$12\$/)
  assert.match(bcrypt.genSaltSync(NaN), /^\$2b\$10\$/)
  assert.match(bcrypt.genSaltSync(1), /^\$2b\$04\$/)
  assert.match(bcrypt.genSaltSync(100), /^\$2b\$31\$/)
  assert.match(bcrypt.genSaltSync(-1), /^\$2b\$04\$/)
  assert.match(bcrypt.genSaltSync(7.9), /^\$2b\$07\$/)
  assert.notEqual(bcrypt.genSaltSync(4), bcrypt.genSaltSync(4))
})

test('hash takes rounds, a salt, or a whole hash as its salt', async () => {
  assert.equal(bcrypt.getRounds(await bcrypt.hash('pw', 5)), 5)
  assert.equal(bcrypt.getRounds(bcrypt.hashSync('pw', 6)), 6)
  assert.equal(bcrypt.hashSync('U*U', HASH), HASH)
})

test('Buffer, Uint8Array and string give the same hash', () => {
  const text = 'pässwörd ✓'
  const h = bcrypt.hashSync(text, SALT)
  assert.equal(bcrypt.hashSync(Buffer.from(text), SALT), h)
  assert.equal(bcrypt.hashSync(new Uint8Array(Buffer.from(text)), SALT), h)
  assert.ok(bcrypt.compareSync(new TextEncoder().encode(text), h))
})

test('inputs are copied at call time: changing the Buffer afterwards changes nothing', async () => {
  const password = Buffer.from('correct horse battery staple')
  const expected = bcrypt.hashSync(password, SALT)
  const pending = [bcrypt.hash(password, SALT), bcrypt.compare(password, expected)]
  password.fill(0)
  assert.deepEqual(await Promise.all(pending), [expected, true])
})

test('$2y$ hashes verify; $2a$ and $2b$ of short passwords are one computation', async () => {
  const y = HASH.replace('$2b$', '$2y$')
  assert.equal(bcrypt.compareSync('U*U', y), true)
  assert.equal(await bcrypt.compare('U*U', y), true)
  assert.equal(await bcrypt.compare('U*V', y), false)
  assert.equal(bcrypt.hashSync('U*U', SALT.replace('$2b$', '$2y$')), y)
  assert.equal(bcrypt.hashSync('U*U', SALT.replace('$2b$', '$2a$')), HASH.replace('$2b$', '$2a$'))
})

test('compare wants the whole hash: NUL and junk after it do not match (bcrypt #1224)', async () => {
  for (const stored of [`${HASH}\0junk`, `${HASH}x`, HASH.slice(0, -1), ` ${HASH}`]) {
    assert.equal(bcrypt.compareSync('U*U', stored), false, JSON.stringify(stored))
    assert.equal(await bcrypt.compare('U*U', stored), false, JSON.stringify(stored))
  }
})

test('malformed stored hashes compare false, as in bcrypt', async () => {
  for (const stored of ['', ':', 'password', '$2b$', '$2b$10$', '$2x$04$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW']) {
    assert.equal(bcrypt.compareSync('U*U', stored), false)
    assert.equal(await bcrypt.compare('U*U', stored), false)
  }
})

test('missing and mistyped arguments', async () => {
  const noSalt = { message: 'data and salt arguments required', code: 'ERR_MISSING_ARGS', callback: false }
  await expectError('hash', [], noSalt)
  await expectError('hash', ['pw'], noSalt)
  await expectError('hash', ['pw', null], { message: 'data and salt arguments required', code: 'ERR_MISSING_ARGS' })
  const types = 'data must be a string or Buffer and salt must either be a salt string or a number of rounds'
  for (const args of [[{}, SALT], ['pw', {}], [42, SALT], ['pw', true], [[1, 2], 10]]) {
    await expectError('hash', args, { message: types, code: 'ERR_INVALID_ARG_TYPE' })
  }
  for (const salt of ['', 'some$value', '$2b$10$short', '$2b$03$CCCCCCCCCCCCCCCCCCCCC.', '$2b$10$CCCCCCCCCCCCCCCCCCCC!.']) {
    await expectError('hash', ['pw', salt], { message: INVALID_SALT, code: 'ERR_INVALID_ARG_VALUE' })
  }
  await expectError('compare', [], { message: 'data and hash arguments required', code: 'ERR_MISSING_ARGS' })
  await expectError('compare', ['pw'], { message: 'data and hash arguments required', code: 'ERR_MISSING_ARGS' })
  assert.throws(() => bcrypt.compareSync('pw', 42), { message: 'data must be a string or Buffer and hash must be a string', code: 'ERR_INVALID_ARG_TYPE' })
  await assert.rejects(bcrypt.compare('pw', 42), { message: 'data and hash must be strings', code: 'ERR_INVALID_ARG_TYPE' })
  await expectError('genSalt', ['10'], { message: 'rounds must be a number', code: 'ERR_INVALID_ARG_TYPE' })
  await expectError('genSalt', [10, 'c'], { message: 'minor must be either "a" or "b"', code: 'ERR_INVALID_ARG_VALUE' })
})

test('a callback in the data or salt position receives the error', async () => {
  const first = await new Promise((resolve) => bcrypt.hash(resolve))
  assert.equal(first.code, 'ERR_INVALID_ARG_TYPE')
  const second = await new Promise((resolve) => bcrypt.compare('pw', resolve))
  assert.equal(second.code, 'ERR_MISSING_ARGS')
})

test('a callback that is not a function rejects; null means a promise', async () => {
  const cb = { message: 'cb must be a function or null to return a Promise', code: 'ERR_INVALID_ARG_TYPE' }
  await assert.rejects(bcrypt.hash('pw', SALT, 'nope'), cb)
  await assert.rejects(bcrypt.compare('pw', HASH, 42), cb)
  await assert.rejects(bcrypt.genSalt(4, 'b', {}), cb)
  assert.equal(await bcrypt.hash('U*U', SALT, null), HASH)
  assert.equal(await bcrypt.compare('U*U', HASH, undefined), true)
})

test('getRounds, getSalt, truncates', () => {
  assert.equal(bcrypt.getRounds(HASH), 4)
  assert.equal(bcrypt.getRounds('$2y$12$x'), 12)
  assert.throws(() => bcrypt.getRounds(''), { message: 'invalid hash provided', code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => bcrypt.getRounds(), { message: 'hash argument required', code: 'ERR_MISSING_ARGS' })
  assert.throws(() => bcrypt.getRounds(5), { message: 'hash must be a string', code: 'ERR_INVALID_ARG_TYPE' })

  assert.equal(bcrypt.getSalt(HASH), SALT)
  assert.throws(() => bcrypt.getSalt('abc'), { name: 'RangeError', message: 'Illegal hash length: 3 != 60' })
  assert.throws(() => bcrypt.getSalt(7), { name: 'TypeError', message: 'Illegal arguments: number' })

  assert.equal(bcrypt.truncates('a'.repeat(72)), false)
  assert.equal(bcrypt.truncates('a'.repeat(73)), true)
  assert.equal(bcrypt.truncates('é'.repeat(36)), false)
  assert.equal(bcrypt.truncates('é'.repeat(37)), true)
  assert.equal(bcrypt.truncates(Buffer.alloc(73)), true)
  assert.throws(() => bcrypt.truncates(null), { message: 'Illegal arguments: object' })
})

test('configure validates, and the running size stays fixed once the pool has started', async () => {
  await bcrypt.hash('start the pool', SALT)
  assert.throws(() => bcrypt.configure(), { code: 'ERR_INVALID_ARG_TYPE' })
  assert.throws(() => bcrypt.configure({ threads: 0 }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => bcrypt.configure({ threads: 1.5 }), { code: 'ERR_OUT_OF_RANGE' })
  assert.throws(() => bcrypt.configure({ threads: 5000 }), { code: 'ERR_OUT_OF_RANGE' })
  const running = bcrypt.stats().threads
  assert.doesNotThrow(() => bcrypt.configure({ threads: running }))
  assert.throws(() => bcrypt.configure({ threads: running + 1 }), { code: 'ERR_BCRYPT_POOL_STARTED' })
})

test('promises.use swaps the Promise implementation of the promise forms', async () => {
  class Tagged extends Promise {}
  promises.use(Tagged)
  try {
    const rejected = bcrypt.hash()
    assert.ok(rejected instanceof Tagged)
    await assert.rejects(rejected)
    const pending = [bcrypt.hash('U*U', SALT), bcrypt.compare('U*U', HASH), bcrypt.genSalt(4)]
    for (const p of pending) assert.ok(p instanceof Tagged)
    const [h, ok] = await Promise.all(pending.slice(0, 2))
    assert.deepEqual([h, ok], [HASH, true])
  } finally {
    promises.use(Promise)
  }
})

test('ES module entry: default and named exports are the CommonJS instance', async () => {
  const esm = await import('bcrypt-offload')
  assert.equal(esm.default, bcrypt)
  assert.equal(esm.hash, bcrypt.hash)
  assert.equal(esm.compareSync('U*U', HASH), true)
  // index.mjs lists the names again (ES modules need them statically): the two lists must agree.
  const names = (m) => Object.keys(m).filter((k) => k !== 'default').sort()
  assert.deepEqual(names(esm), names(bcrypt))
})

test('the environment sets the pool up; bad values fail loudly, not silently', () => {
  const { execFileSync } = require('node:child_process')
  const run = (env) =>
    JSON.parse(
      execFileSync(process.execPath, ['-e', `
        const b = require(${JSON.stringify(require.resolve('..'))})
        b.hash('x', 4).then(() => console.log(JSON.stringify({ threads: b.stats().threads })),
          (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })))`], { env: { ...process.env, ...env }, encoding: 'utf8' }),
    )
  assert.deepEqual(run({ BCRYPT_OFFLOAD_THREADS: '3' }), { threads: 3 })
  assert.deepEqual(run({ BCRYPT_OFFLOAD_PRIORITY: 'normal', BCRYPT_OFFLOAD_THREADS: '1' }), { threads: 1 })
  for (const env of [{ BCRYPT_OFFLOAD_THREADS: 'many' }, { BCRYPT_OFFLOAD_THREADS: '0' }, { BCRYPT_OFFLOAD_PRIORITY: 'high' }]) {
    const err = run(env)
    assert.equal(err.name, 'RangeError')
    assert.equal(err.code, 'ERR_OUT_OF_RANGE')
    assert.match(err.message, new RegExp(Object.keys(env)[0]))
  }
})

test('stats() before the first call does not fix the pool size', () => {
  const { execFileSync } = require('node:child_process')
  const out = execFileSync(process.execPath, ['-e', `
    const b = require(${JSON.stringify(require.resolve('..'))})
    const before = b.stats()
    b.configure({ threads: 1 })
    b.hash('x', 4).then(() => console.log(JSON.stringify([before.completed, b.stats().threads])))`], { encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out), [0, 1])
})

test('a callback after undefined or null options is still called', async () => {
  for (const options of [undefined, null]) {
    const [err, h] = await new Promise((resolve) => bcrypt.hash('U*U', SALT, options, (...a) => resolve(a)))
    assert.deepEqual([err, h], [undefined, HASH])
    const [err2, ok] = await new Promise((resolve) => bcrypt.compare('U*U', HASH, options, (...a) => resolve(a)))
    assert.deepEqual([err2, ok], [undefined, true])
  }
})
