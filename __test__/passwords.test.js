'use strict'

// bcrypt-offload/passwords: every stored format checked against hashes made by implementations we
// did not write (bcrypt, bcryptjs, argon2, @node-rs/argon2, Node's crypto with Django's and Better
// Auth's parameters, and Django's own test vector), the upgrade flow from each format to each
// policy, the junk table (never a throw, always a verify's work), and every bad policy. Costs are
// kept low (bcrypt 4, argon2 1024 KiB) except where OWASP's parameters are the point. No timing.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const cBcrypt = require('bcrypt')
const bcryptjs = require('bcryptjs')
const argon2 = require('argon2')
const nodeRs = require('@node-rs/argon2')

const bcrypt = require('..')
const { createPasswords, REASONS } = require('../passwords.js')
const { createPasswords: createOver } = require('../lib/passwords/passwords.js')

const LOW_ARGON2 = { algorithm: 'argon2id', memoryCost: 1024, timeCost: 2, parallelism: 1 }
const LOW_BCRYPT = { algorithm: 'bcrypt', cost: 4 }

// Better Auth's scrypt (packages/better-auth/src/crypto/password.ts): N 16384, r 16, p 1, 64 bytes,
// the NFKC-normalised password, the salt's hex *text*.
function betterAuthHash(password, saltHex = crypto.randomBytes(16).toString('hex')) {
  const key = crypto.scryptSync(password.normalize('NFKC'), saltHex, 64, { N: 16384, r: 16, p: 1, maxmem: 128 * 16384 * 16 * 2 })
  return `${saltHex}:${key.toString('hex')}`
}

// Django's PBKDF2PasswordHasher: UTF-8 password, the salt's literal text, a 32-byte key in base64.
function djangoHash(password, salt, iterations) {
  return `pbkdf2_sha256$${iterations}$${salt}$${crypto.pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('base64')}`
}

const md5Wrapped = (password) => `md5:${bcryptjs.hashSync(crypto.createHash('md5').update(password).digest('hex'), 4)}`
const sha1Wrapped = (password) => `sha1:${cBcrypt.hashSync(crypto.createHash('sha1').update(password).digest('hex'), 4)}`

// One stored value per format, each made by someone else's code, for `password`.
async function storedByPeers(password) {
  return {
    'bcrypt $2a$ (bcrypt)': cBcrypt.hashSync(password, cBcrypt.genSaltSync(4, 'a')),
    'bcrypt $2b$ (bcryptjs)': bcryptjs.hashSync(password, 4),
    'bcrypt $2y$ (bcryptjs, as PHP writes it)': bcryptjs.hashSync(password, 4).replace(/^\$2b\$/, '$2y$'),
    // Other parameters than the low policy's, so that each is an upgrade.
    'argon2id (argon2)': await argon2.hash(password, { type: argon2.argon2id, memoryCost: 1024, timeCost: 3, parallelism: 1 }),
    'argon2i (argon2)': await argon2.hash(password, { type: argon2.argon2i, memoryCost: 2048, timeCost: 3, parallelism: 2 }),
    'argon2d (argon2)': await argon2.hash(password, { type: argon2.argon2d, memoryCost: 1024, timeCost: 2, parallelism: 1 }),
    'argon2id (@node-rs/argon2)': await nodeRs.hash(password, { algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 1 }),
    'Django pbkdf2_sha256 (crypto.pbkdf2Sync)': djangoHash(password, crypto.randomBytes(9).toString('base64url'), 1000),
    'Better Auth scrypt (crypto.scryptSync)': betterAuthHash(password),
    'md5: + bcrypt (bcryptjs)': md5Wrapped(password),
    'sha1: + bcrypt (bcrypt)': sha1Wrapped(password),
  }
}

test('every stored format verifies the right password and refuses a wrong one', async () => {
  const passwords = createPasswords(LOW_ARGON2)
  for (const password of ['correct horse', 'pässwörd ✓ 🙂', '']) {
    for (const [name, stored] of Object.entries(await storedByPeers(password))) {
      assert.deepEqual(await passwords.verify(password, stored), { ok: true, needsRehash: true }, `${name}, ${JSON.stringify(password)}`)
      const wrong = await passwords.verify(`${password}x`, stored)
      assert.deepEqual(wrong, { ok: false, needsRehash: true, reason: REASONS.MISMATCH }, name)
    }
  }
})

test("Django's own vector (tests/auth_tests/test_hashers.py, test_pbkdf2) verifies", async () => {
  const passwords = createPasswords(LOW_BCRYPT)
  const django = 'pbkdf2_sha256$30000$seasalt$VrX+V8drCGo68wlvy6rfu8i1d1pfkdeXA4LJkRGJodY='
  assert.deepEqual(await passwords.verify('lètmein', django), { ok: true, needsRehash: true })
  assert.equal((await passwords.verify('lètmeinz', django)).ok, false)
  // test_low_level_pbkdf2's, with another salt.
  assert.equal((await passwords.verify('lètmein', 'pbkdf2_sha256$30000$seasalt2$a75qzbogeVhNFeMqhdgyyoqGKpIzYUo651sq57RERew=')).ok, true)
  assert.equal(passwords.formatOf(django), 'django-pbkdf2-sha256')
})

test('Better Auth scrypt: the salt is its hex text, the password NFKC-normalised; Django does not normalise', async () => {
  const passwords = createPasswords(LOW_BCRYPT)
  // U+FB01 (the "fi" ligature) and U+2126 (Ohm) are NFKC-equal to "fi" and U+03A9.
  const stored = betterAuthHash('\uFB01x\u2126')
  assert.equal((await passwords.verify('fix\u03A9', stored)).ok, true)
  assert.equal((await passwords.verify('\uFB01x\u2126', stored)).ok, true)
  // The same salt used as its 16 bytes gives another key: the text is what counts.
  const saltHex = stored.split(':')[0]
  const asBytes = crypto.scryptSync('pw', Buffer.from(saltHex, 'hex'), 64, { N: 16384, r: 16, p: 1, maxmem: 2 ** 26 })
  assert.equal((await passwords.verify('pw', `${saltHex}:${asBytes.toString('hex')}`)).ok, false)
  const django = djangoHash('\uFB01', 'salt', 1000)
  assert.equal((await passwords.verify('\uFB01', django)).ok, true)
  assert.equal((await passwords.verify('fi', django)).ok, false)
  assert.equal(passwords.formatOf(stored), 'better-auth-scrypt')
})

test('our own argon2 hashes verify with argon2 and @node-rs/argon2, and theirs with us', async () => {
  const passwords = createPasswords(LOW_ARGON2)
  for (const password of ['a', 'correct horse battery staple', 'ünïcødé 🙂']) {
    const ours = await passwords.hash(password)
    assert.match(ours, /^\$argon2id\$v=19\$m=1024,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    assert.equal(await argon2.verify(ours, password), true)
    assert.equal(await nodeRs.verify(ours, password), true)
    assert.equal(await argon2.verify(ours, `${password}!`), false)
    assert.deepEqual(await passwords.verify(password, ours), { ok: true, needsRehash: false })
  }
})

test('bcrypt policy: $2b$ at its cost, verified by bcrypt and bcryptjs', async () => {
  const passwords = createPasswords(LOW_BCRYPT)
  const ours = await passwords.hash('pw')
  assert.match(ours, /^\$2b\$04\$/)
  assert.equal(await cBcrypt.compare('pw', ours), true)
  assert.equal(bcryptjs.compareSync('pw', ours), true)
  assert.deepEqual(await passwords.verify('pw', ours), { ok: true, needsRehash: false })
  assert.equal(passwords.needsRehash(ours), false)
  assert.equal(passwords.needsRehash(ours.replace('$2b$', '$2a$')), true)
  assert.equal(passwords.needsRehash(ours.replace('$2b$', '$2y$')), true)
  assert.equal(passwords.needsRehash(bcryptjs.hashSync('pw', 5)), true)
  assert.equal(passwords.needsRehash(await argon2.hash('pw', { memoryCost: 1024 })), true)
})

test('needsRehash: an argon2 hash is current only at the policy’s type, m, t, p and default lengths', async () => {
  const passwords = createPasswords(LOW_ARGON2)
  const make = (options) => argon2.hash('pw', { type: argon2.argon2id, memoryCost: 1024, timeCost: 2, parallelism: 1, ...options })
  assert.equal(passwords.needsRehash(await make({})), false)
  assert.equal(passwords.needsRehash(await make({ memoryCost: 2048 })), true)
  assert.equal(passwords.needsRehash(await make({ timeCost: 3 })), true)
  assert.equal(passwords.needsRehash(await make({ parallelism: 2 })), true)
  assert.equal(passwords.needsRehash(await make({ type: argon2.argon2i })), true)
  assert.equal(passwords.needsRehash(await make({ hashLength: 16 })), true)
  assert.equal(passwords.needsRehash(await make({ salt: crypto.randomBytes(32) })), true)
  assert.equal(passwords.needsRehash(await make({ associatedData: Buffer.from('tenant 7') })), true)
  // Still verifiable: argon2 writes the associated data into the string.
  assert.equal((await passwords.verify('pw', await make({ associatedData: Buffer.from('tenant 7') }))).ok, true)
  assert.equal(passwords.needsRehash(bcryptjs.hashSync('pw', 4)), true)
  // Version 0x10, with its v=16 and as the oldest hashes show it, with none: verified, then upgraded.
  const v16 = await make({ version: 0x10 })
  assert.match(v16, /^\$argon2id\$v=16\$/)
  for (const old of [v16, v16.replace('$v=16', '')]) {
    assert.deepEqual(await passwords.verify('pw', old), { ok: true, needsRehash: true })
    assert.equal((await passwords.verify('pw!', old)).ok, false)
  }
})

test('the upgrade flow: verify old → needsRehash → hash new → verify new, from every format to each policy', async () => {
  for (const policy of [LOW_ARGON2, { algorithm: 'bcrypt', cost: 5 }]) {
    const passwords = createPasswords(policy)
    for (const [name, old] of Object.entries(await storedByPeers('upgrade me'))) {
      const first = await passwords.verify('upgrade me', old)
      // A $2b$ at another cost, or an argon2id at other parameters, is upgraded too.
      assert.deepEqual(first, { ok: true, needsRehash: true }, `${policy.algorithm}: ${name}`)
      const fresh = await passwords.hash('upgrade me')
      assert.deepEqual(await passwords.verify('upgrade me', fresh), { ok: true, needsRehash: false }, `${policy.algorithm}: ${name}`)
      assert.equal(passwords.formatOf(fresh), policy.algorithm)
      assert.equal((await passwords.verify('not me', fresh)).ok, false)
    }
  }
})

// Junk a database (or an attacker with a foot in one) might hold: never a throw, never ok, always
// needsRehash, and a reason.
const wellFormedBcrypt = bcryptjs.hashSync('pw', 4)
const wellFormedArgon2 = '$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$' + 'A'.repeat(43)
const JUNK = [
  [undefined, REASONS.UNKNOWN],
  [null, REASONS.UNKNOWN],
  [42, REASONS.UNKNOWN],
  [{ toString: () => wellFormedBcrypt }, REASONS.UNKNOWN],
  [Buffer.from(wellFormedBcrypt), REASONS.UNKNOWN],
  ['', REASONS.UNKNOWN],
  ['pw', REASONS.UNKNOWN],
  ['x'.repeat(100_000), REASONS.UNKNOWN],
  ['\u0000', REASONS.UNKNOWN],
  [`${wellFormedBcrypt}\n`, REASONS.MALFORMED],
  [` ${wellFormedBcrypt}`, REASONS.UNKNOWN],
  ['$2b$', REASONS.MALFORMED],
  ['$2b$04$short', REASONS.MALFORMED],
  [wellFormedBcrypt.replace('$04$', '$03$'), REASONS.MALFORMED],
  [wellFormedBcrypt.replace('$04$', '$31$'), REASONS.TOO_COSTLY],
  [wellFormedBcrypt.replace('$04$', '$4$'), REASONS.MALFORMED],
  [wellFormedBcrypt.replace('$2b$', '$2x$'), REASONS.MALFORMED],
  [wellFormedBcrypt.replace('$2b$', '$2$'), REASONS.MALFORMED],
  [`${wellFormedBcrypt.slice(0, -1)}!`, REASONS.MALFORMED],
  ['$argon2id$', REASONS.MALFORMED],
  ['$argon2x$v=19$m=1024,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$' + 'A'.repeat(43), REASONS.MALFORMED],
  [wellFormedArgon2.replace('v=19', 'v=18'), REASONS.MALFORMED],
  [wellFormedArgon2.replace('v=19', 'v=019'), REASONS.MALFORMED],
  [wellFormedArgon2.replace('v=19', 'v=1'), REASONS.MALFORMED],
  [wellFormedArgon2.replace('p=1', 'p=0'), REASONS.MALFORMED],
  [wellFormedArgon2.replace('t=2', 't=0'), REASONS.MALFORMED],
  [wellFormedArgon2.replace('m=1024', 'm=7'), REASONS.MALFORMED],
  [wellFormedArgon2.replace('m=1024', 'm=99999999999'), REASONS.MALFORMED],
  [wellFormedArgon2.replace('m=1024,t=2', 'm=4194304,t=4294967295'), REASONS.TOO_COSTLY],
  [wellFormedArgon2.replace('t=2', 't=4294967296'), REASONS.MALFORMED],
  // 16 GiB: within the work a stored hash may ask for, over any budget this machine gives the pool
  // (which only the pool knows: formatOf reads it as argon2id).
  [wellFormedArgon2.replace('m=1024,t=2', 'm=16777216,t=1'), REASONS.TOO_COSTLY, 'argon2id'],
  [wellFormedArgon2.replace('m=1024,t=2,p=1', 't=2,m=1024,p=1'), REASONS.MALFORMED],
  [wellFormedArgon2.replace('c29tZXNhbHRzb21lc2FsdA', 'c2FsdA'), REASONS.MALFORMED],
  [wellFormedArgon2.replace('c29tZXNhbHRzb21lc2FsdA', 'c29tZXNhbHRzb21lc2FsdB'), REASONS.MALFORMED],
  [wellFormedArgon2.replace('c29tZXNhbHRzb21lc2FsdA', 'c29tZXNhbHRzb21lc2FsdA=='), REASONS.MALFORMED],
  [wellFormedArgon2.replace('A'.repeat(43), 'AA'), REASONS.MALFORMED],
  [`${wellFormedArgon2}$extra`, REASONS.MALFORMED],
  ['pbkdf2_sha256$', REASONS.MALFORMED],
  ['pbkdf2_sha256$0$salt$' + 'A'.repeat(43) + '=', REASONS.MALFORMED],
  ['pbkdf2_sha256$99999999$salt$' + 'A'.repeat(43) + '=', REASONS.TOO_COSTLY],
  ['pbkdf2_sha256$9999999999$salt$' + 'A'.repeat(43) + '=', REASONS.MALFORMED],
  ['pbkdf2_sha256$1000$$' + 'A'.repeat(43) + '=', REASONS.MALFORMED],
  ['pbkdf2_sha256$1000$salt$' + 'A'.repeat(44), REASONS.MALFORMED],
  ['pbkdf2_sha256$1000$salt$c2hvcnQ=', REASONS.MALFORMED],
  ['pbkdf2_sha1$1000$salt$' + 'A'.repeat(27) + '=', REASONS.UNKNOWN],
  ['md5:', REASONS.MALFORMED],
  ['md5:garbage', REASONS.MALFORMED],
  [`sha1:${wellFormedBcrypt.replace('$04$', '$99$')}`, REASONS.TOO_COSTLY],
  [`sha1:${wellFormedBcrypt.replace('$04$', '$00$')}`, REASONS.MALFORMED],
  [`sha256:${wellFormedBcrypt}`, REASONS.UNKNOWN],
  [crypto.createHash('md5').update('pw').digest('hex'), REASONS.UNKNOWN],
  ['abc:def', REASONS.MALFORMED],
  [`${'a'.repeat(32)}:${'b'.repeat(127)}`, REASONS.MALFORMED],
  [`${'a'.repeat(32)}:${'b'.repeat(128)}:`, REASONS.UNKNOWN],
  [`${'g'.repeat(32)}:${'b'.repeat(128)}`, REASONS.UNKNOWN],
]

test('junk stored values: { ok: false, needsRehash: true, reason }, never a throw', async () => {
  for (const policy of [LOW_BCRYPT, LOW_ARGON2]) {
    const passwords = createPasswords(policy)
    for (const [stored, reason, format] of JUNK) {
      const label = `${policy.algorithm}: ${typeof stored === 'string' ? JSON.stringify(stored.slice(0, 90)) : String(stored)}`
      assert.deepEqual(await passwords.verify('pw', stored), { ok: false, needsRehash: true, reason }, label)
      assert.equal(passwords.needsRehash(stored), true, label)
      assert.equal(passwords.formatOf(stored), format, label)
    }
  }
})

test('an unreadable stored value and an unknown account cost exactly a verify at the policy cost (bcrypt: key-schedule steps)', async () => {
  const passwords = createPasswords({ algorithm: 'bcrypt', cost: 5 })
  const real = await passwords.hash('pw')
  const steps = async (call) => {
    while (bcrypt.stats().running !== 0) await new Promise((resolve) => setTimeout(resolve, 5))
    const before = bcrypt.stats().laneSteps
    const value = await call()
    return [value.ok ?? value, bcrypt.stats().laneSteps - before]
  }
  // A cost-c bcrypt is 1 + 2^(c+1) key-schedule steps.
  assert.deepEqual(await steps(() => passwords.verify('wrong', real)), [false, 65])
  assert.deepEqual(await steps(() => passwords.verify('pw', real)), [true, 65])
  assert.deepEqual(await steps(() => passwords.verifyUnknown('pw')), [false, 65])
  for (const [stored] of JUNK) assert.deepEqual(await steps(() => passwords.verify('pw', stored)), [false, 65])
})

test('argon2id policy: an unreadable value and an unknown account are an argon2 verify at the policy’s parameters', async () => {
  // The real backends, with argon2's verify watched.
  const real = require('../argon2.js')
  const seen = []
  const watched = {
    bcrypt,
    kdf: require('../lib/kdf.js'),
    argon2: { ...real, verify: (digest, password, options) => (seen.push(digest), real.verify(digest, password, options)) },
  }
  const passwords = createOver({ algorithm: 'argon2id', memoryCost: 2048, timeCost: 3, parallelism: 2 }, watched)
  assert.equal(await passwords.verifyUnknown('pw'), false)
  assert.deepEqual(await passwords.verify('pw', 'junk'), { ok: false, needsRehash: true, reason: REASONS.UNKNOWN })
  assert.deepEqual(await passwords.verify('pw', '$argon2id$v=19$junk'), { ok: false, needsRehash: true, reason: REASONS.MALFORMED })
  assert.equal(seen.length, 3)
  for (const digest of seen) assert.match(digest, /^\$argon2id\$v=19\$m=2048,t=3,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
  // Nothing was computed for the unknown account but that verify: the decoy is made once.
  assert.equal(new Set(seen).size, 1)
})

test('the schedule reaches the pool: an aborted verify rejects, a bad option is the pool’s TypeError', async () => {
  for (const policy of [LOW_BCRYPT, LOW_ARGON2]) {
    const passwords = createPasswords(policy)
    const stored = await passwords.hash('pw')
    const controller = new AbortController()
    controller.abort()
    for (const call of [() => passwords.verify('pw', stored, { signal: controller.signal }), () => passwords.verify('pw', 'junk', { signal: controller.signal }), () => passwords.hash('pw', { signal: controller.signal })]) {
      await assert.rejects(call(), { name: 'AbortError' })
    }
    await assert.rejects(passwords.verify('pw', stored, { priority: 'urgent' }), { name: 'TypeError' })
    assert.deepEqual(await passwords.verify('pw', stored, { priority: 'high', key: 'ann', timeout: 60_000 }), { ok: true, needsRehash: false })
  }
})

test('bad arguments reject with a TypeError and a code; no password in any message', async () => {
  const passwords = createPasswords(LOW_BCRYPT)
  for (const password of [undefined, null, 42, {}, ['pw']]) {
    await assert.rejects(passwords.verify(password, wellFormedBcrypt), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    await assert.rejects(passwords.hash(password), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
    await assert.rejects(passwords.verifyUnknown(password), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' })
  }
  await assert.rejects(passwords.verify('secret pw', wellFormedBcrypt, 'high'), (err) => err.code === 'ERR_INVALID_ARG_TYPE' && !err.message.includes('secret'))
  assert.equal(await passwords.verify(Buffer.from('pw'), wellFormedBcrypt).then((r) => r.ok), true)
})

test('bad policies: TypeError or RangeError with a code', () => {
  const cases = [
    [undefined, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [null, TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['argon2id', TypeError, 'ERR_INVALID_ARG_TYPE'],
    [[], TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{}, TypeError, 'ERR_INVALID_ARG_VALUE'],
    [{ algorithm: 'argon2i' }, TypeError, 'ERR_INVALID_ARG_VALUE'],
    [{ algorithm: 'scrypt' }, TypeError, 'ERR_INVALID_ARG_VALUE'],
    [{ algorithm: 'toString' }, TypeError, 'ERR_INVALID_ARG_VALUE'],
    [{ algorithm: 'bcrypt', memoryCost: 19456 }, TypeError, 'ERR_INVALID_ARG_VALUE'],
    [{ algorithm: 'argon2id', cost: 10 }, TypeError, 'ERR_INVALID_ARG_VALUE'],
    [{ algorithm: 'argon2id', memorycost: 19456 }, TypeError, 'ERR_INVALID_ARG_VALUE'],
    [{ algorithm: 'bcrypt', cost: 3 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ algorithm: 'bcrypt', cost: 21 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ algorithm: 'bcrypt', cost: 10.5 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ algorithm: 'bcrypt', cost: '10' }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ algorithm: 'argon2id', parallelism: 0 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ algorithm: 'argon2id', timeCost: 0 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ algorithm: 'argon2id', memoryCost: 7 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ algorithm: 'argon2id', memoryCost: 31, parallelism: 4 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ algorithm: 'argon2id', memoryCost: 2 ** 23, timeCost: 4 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ algorithm: 'argon2id', memoryCost: NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ algorithm: 'argon2id', memoryCost: Infinity }, RangeError, 'ERR_OUT_OF_RANGE'],
  ]
  for (const [policy, Class, code] of cases) {
    assert.throws(() => createPasswords(policy), (err) => err instanceof Class && err.code === code, JSON.stringify(policy))
  }
  assert.deepEqual(createPasswords({ algorithm: 'argon2id' }).policy, { algorithm: 'argon2id', memoryCost: 19456, timeCost: 2, parallelism: 1 })
  assert.deepEqual(createPasswords({ algorithm: 'bcrypt', cost: undefined }).policy, { algorithm: 'bcrypt', cost: 10 })
  assert.deepEqual(createPasswords({ algorithm: 'argon2id', memoryCost: 2 ** 22, timeCost: 4 }).policy.memoryCost, 2 ** 22)
})

test("OWASP's parameters by default: argon2id m=19456, t=2, p=1, read back by argon2's needsRehash", async () => {
  const passwords = createPasswords({ algorithm: 'argon2id' })
  const stored = await passwords.hash('pw')
  assert.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  assert.equal(argon2.needsRehash(stored, { memoryCost: 19456, timeCost: 2, parallelism: 1 }), false)
  assert.deepEqual(await passwords.verify('pw', stored), { ok: true, needsRehash: false })
})

test('every format is computed off the event loop: the loop keeps turning while a verify runs', async () => {
  const passwords = createPasswords(LOW_BCRYPT)
  const stored = {
    bcrypt: bcryptjs.hashSync('pw', 8),
    argon2id: await argon2.hash('pw', { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 }),
    django: djangoHash('pw', 'salt', 300_000),
    betterAuth: betterAuthHash('pw'),
    legacy: `md5:${bcryptjs.hashSync(crypto.createHash('md5').update('pw').digest('hex'), 8)}`,
  }
  for (const [name, value] of Object.entries(stored)) {
    let settled = false
    const verified = passwords.verify('pw', value).finally(() => {
      settled = true
    })
    // Computed on the calling thread, the whole verify would be done before the first turn.
    let turns = 0
    while (!settled) {
      await new Promise((resolve) => setImmediate(resolve))
      turns++
    }
    assert.deepEqual(await verified, { ok: true, needsRehash: true }, name)
    assert.ok(turns > 1, `${name}: the loop turned ${turns} time(s) while it ran`)
  }
})

test('passwords.d.ts declares what passwords.js exports and what a passwords module has', () => {
  const ts = require('typescript')
  const path = require('node:path')
  const file = path.join(__dirname, '..', 'passwords.d.ts')
  const program = ts.createProgram([file], { strict: true, noEmit: true })
  assert.deepEqual(ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')), [])
  const checker = program.getTypeChecker()
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)))
  const values = exports.filter((s) => s.flags & ts.SymbolFlags.Value).map((s) => s.name).sort()
  assert.deepEqual(values, Object.keys(require('../passwords.js')).sort())
  const iface = exports.find((s) => s.name === 'Passwords')
  const members = checker.getDeclaredTypeOfSymbol(iface).getProperties().map((s) => s.name).sort()
  assert.deepEqual(members, Object.keys(createPasswords(LOW_BCRYPT)).sort())
})

test('passwords.d.ts types a sample of every call, and refuses the wrong policies (tsc, strict)', (t) => {
  const ts = require('typescript')
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'passwords-types-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const entry = JSON.stringify(path.join(__dirname, '..', 'passwords'))
  const sample = `
    import passwordsModule = require(${entry})
    import type { Passwords, VerifyResult, Format, Reason } from ${entry}
    async function sample(): Promise<void> {
      const argon: Passwords = passwordsModule.createPasswords({ algorithm: 'argon2id', memoryCost: 19456, timeCost: 2, parallelism: 1 })
      const bcrypt: Passwords = passwordsModule.createPasswords({ algorithm: 'bcrypt', cost: 12 })
      passwordsModule.createPasswords({ algorithm: 'argon2id' })
      // @ts-expect-error bcrypt has no memoryCost
      passwordsModule.createPasswords({ algorithm: 'bcrypt', memoryCost: 1 })
      // @ts-expect-error argon2id has no cost
      passwordsModule.createPasswords({ algorithm: 'argon2id', cost: 10 })
      // @ts-expect-error only argon2id and bcrypt
      passwordsModule.createPasswords({ algorithm: 'scrypt' })
      const stored: string = await argon.hash('pw', { priority: 'low', signal: AbortSignal.timeout(1000) })
      const r: VerifyResult = await bcrypt.verify(Buffer.from('pw'), stored, { priority: 'high', key: 'ann', timeout: 2000, deadline: new Date() })
      const ok: boolean = r.ok
      const again: boolean = r.needsRehash
      const why: Reason | undefined = r.reason
      const none: false = await argon.verifyUnknown('pw')
      const stale: boolean = argon.needsRehash(null)
      const format: Format | undefined = argon.formatOf(stored)
      const code: 'ERR_PASSWORD_HASH_TOO_COSTLY' = passwordsModule.REASONS.TOO_COSTLY
      void [ok, again, why, none, stale, format, code]
    }
    void sample
  `
  const file = path.join(dir, 'sample.cts')
  fs.writeFileSync(file, sample)
  const program = ts.createProgram([file], { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: ['node'], typeRoots: [path.join(__dirname, '..', 'node_modules', '@types')] })
  const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))
  assert.deepEqual(problems, [])
})

test('random passwords (fast-check): each format made by a peer verifies its own password, and not a neighbour', async () => {
  const fc = require('fast-check')
  const passwords = createPasswords(LOW_ARGON2)
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), async (password, suffix) => {
      const other = password + suffix
      const made = {
        bcrypt: bcryptjs.hashSync(password, 4),
        argon2: await nodeRs.hash(password, { algorithm: 2, memoryCost: 256, timeCost: 1, parallelism: 1 }),
        django: djangoHash(password, 'fc', 10),
        betterAuth: betterAuthHash(password),
      }
      for (const [name, stored] of Object.entries(made)) {
        // bcrypt reads only the first 72 bytes: a suffix past them is the same password to it.
        const same = name === 'bcrypt' && Buffer.byteLength(password) >= 72
        // Better Auth compares NFKC forms: a suffix may fold into the same text.
        const folded = name === 'betterAuth' && other.normalize('NFKC') === password.normalize('NFKC')
        assert.equal((await passwords.verify(password, stored)).ok, true, name)
        assert.equal((await passwords.verify(other, stored)).ok, same || folded, name)
      }
    }),
    { numRuns: 25 },
  )
})
