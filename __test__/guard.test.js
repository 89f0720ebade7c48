'use strict'

// bcrypt-offload/guard's core (lib/guard/guard.js) over a fake bcrypt that records its calls: what
// each path asks of the pool (class, fair-share key, deadline), the two lockouts, unknown accounts,
// the pool's refusals, and createGuard's and login()'s argument errors. The cookie's own checks are
// in guard-cookie.test.js, the Express middleware in guard-express.test.js, the real pool in
// guard-pool.test.js.

const test = require('node:test')
const assert = require('node:assert/strict')

const { createGuard, memoryStore } = require('../guard.js')
const { KEY, hashOf, fakeBcrypt, makeGuard, cookieValue, poolError } = require('./guard-helpers.js')

const PASSWORD = 'correct horse'
const STORED = hashOf(PASSWORD)

// Logs in as a returning user would: the first time without a cookie, then with the one it got.
async function trustedCookie(guard, account = 'ann') {
  const r = await guard.login({ account, password: PASSWORD, hash: STORED, address: '192.0.2.1' })
  assert.equal(r.ok, true)
  return cookieValue(r.setCookie)
}

test('each path asks the pool for its class, key and deadline', async () => {
  const { guard, bcrypt } = makeGuard({ timeout: { trusted: 700, untrusted: 1500 }, rounds: 11 })
  const cookie = await trustedCookie(guard)
  bcrypt.calls.length = 0

  const trusted = await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: '198.51.100.7', deviceCookie: cookie })
  const untrusted = await guard.login({ account: 'ann', password: 'guess', hash: STORED, address: '198.51.100.7' })
  const unknown = await guard.login({ account: 'nobody', password: 'guess', hash: undefined, address: '198.51.100.7' })
  assert.deepEqual(
    bcrypt.calls.map(({ fn, data, hash, options }) => ({ fn, data, hash, options })),
    [
      { fn: 'compare', data: PASSWORD, hash: STORED, options: { priority: 'high', key: 'ann', timeout: 700 } },
      { fn: 'compare', data: 'guess', hash: STORED, options: { priority: 'normal', key: '198.51.100.7', timeout: 1500 } },
      { fn: 'compareUnknown', data: 'guess', hash: undefined, options: { rounds: 11, priority: 'normal', key: '198.51.100.7', timeout: 1500 } },
    ],
  )
  assert.deepEqual([trusted.trusted, untrusted.trusted, unknown.trusted], [true, false, false])
  assert.deepEqual([trusted.status, untrusted.status, unknown.status], [200, 401, 401])
})

test('defaults: timeouts 1000 and 2000 ms, compareUnknown at cost 10, fairness by address', async () => {
  const { guard, bcrypt } = makeGuard()
  const cookie = await trustedCookie(guard)
  await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: '203.0.113.9', deviceCookie: cookie })
  await guard.login({ account: 'x', password: 'y', hash: undefined, address: '203.0.113.9' })
  assert.deepEqual(bcrypt.calls.map((c) => c.options), [
    { priority: 'normal', key: '192.0.2.1', timeout: 2000 },
    { priority: 'high', key: 'ann', timeout: 1000 },
    { rounds: 10, priority: 'normal', key: '203.0.113.9', timeout: 2000 },
  ])
})

test('fairness: by address (an IPv6 client by its /64), by account, or both', async () => {
  const keys = {}
  for (const fairness of ['address', 'account', 'both']) {
    const { guard, bcrypt } = makeGuard({ fairness })
    for (const address of ['192.0.2.1', '2001:db8:1:2:aaaa::1', '2001:db8:1:2:bbbb::2', '::ffff:192.0.2.1']) {
      await guard.login({ account: 'ann', password: 'guess', hash: STORED, address })
    }
    keys[fairness] = bcrypt.calls.map((c) => c.options.key)
  }
  assert.deepEqual(keys, {
    address: ['192.0.2.1', '2001:db8:1:2::/64', '2001:db8:1:2::/64', '192.0.2.1'],
    account: ['ann', 'ann', 'ann', 'ann'],
    both: ['ann|192.0.2.1', 'ann|2001:db8:1:2::/64', 'ann|2001:db8:1:2::/64', 'ann|192.0.2.1'],
  })
})

test('an unknown account costs exactly one compareUnknown, and gets the same 401 as a wrong password', async () => {
  const { guard, bcrypt } = makeGuard()
  const unknown = await guard.login({ account: 'nobody', password: PASSWORD, hash: undefined, address: 'a' })
  const wrong = await guard.login({ account: 'ann', password: 'guess', hash: STORED, address: 'a' })
  assert.deepEqual(unknown, wrong)
  assert.deepEqual(unknown, { ok: false, trusted: false, status: 401, reason: 'wrong' })
  assert.deepEqual(bcrypt.calls.map((c) => c.fn), ['compareUnknown', 'compare'])
  // null is "no such account" too.
  await guard.login({ account: 'nobody', password: PASSWORD, hash: null, address: 'a' })
  assert.equal(bcrypt.calls[2].fn, 'compareUnknown')
  // A compareUnknown that (wrongly) answered true would still not log anyone in.
  const liar = { ...fakeBcrypt(), compareUnknown: async () => true }
  const r = await makeGuard({ bcrypt: liar }).guard.login({ account: 'nobody', password: 'x', hash: undefined, address: 'a' })
  assert.equal(r.ok, false)
})

test('success sets a fresh cookie each time; failure sets none', async () => {
  const { guard } = makeGuard()
  const first = await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: 'a' })
  assert.deepEqual(Object.keys(first).sort(), ['ok', 'reason', 'setCookie', 'status', 'trusted'])
  const second = await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: 'a', deviceCookie: cookieValue(first.setCookie) })
  assert.notEqual(cookieValue(second.setCookie), cookieValue(first.setCookie))
  const failed = await guard.login({ account: 'ann', password: 'x', hash: STORED, address: 'a', deviceCookie: cookieValue(second.setCookie) })
  assert.equal(failed.setCookie, undefined)
  assert.equal(failed.trusted, true)
})

test('lockout: untrusted clients are refused with 429 without computing; trusted devices go on', async () => {
  const { guard, bcrypt } = makeGuard({ lockout: { failures: 3, windowMs: 60_000 } })
  const cookie = await trustedCookie(guard)
  bcrypt.calls.length = 0
  for (let i = 0; i < 3; i++) {
    const r = await guard.login({ account: 'ann', password: `guess ${i}`, hash: STORED, address: `10.0.0.${i}` })
    assert.equal(r.status, 401)
  }
  assert.equal(bcrypt.calls.length, 3)
  // Now even the right password from an unknown client is refused, uncomputed.
  for (const password of ['guess 4', PASSWORD]) {
    const r = await guard.login({ account: 'ann', password, hash: STORED, address: '10.0.0.99' })
    assert.deepEqual({ ...r, retryAfter: undefined }, { ok: false, trusted: false, status: 429, reason: 'locked', retryAfter: undefined })
    assert.ok(r.retryAfter > 55 && r.retryAfter <= 60, String(r.retryAfter))
  }
  assert.equal(bcrypt.calls.length, 3)
  // The account's trusted device is not locked out.
  const trusted = await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: '10.0.0.99', deviceCookie: cookie })
  assert.deepEqual([trusted.ok, trusted.trusted, trusted.status], [true, true, 200])
  // Other accounts are not either.
  assert.equal((await guard.login({ account: 'bob', password: PASSWORD, hash: STORED, address: '10.0.0.99' })).status, 200)
})

test('lockout: a trusted device\'s failures lock that cookie alone, which then counts as untrusted', async () => {
  const { guard, bcrypt } = makeGuard({ lockout: { failures: 2, windowMs: 60_000 } })
  const stolen = await trustedCookie(guard)
  const other = await trustedCookie(guard)
  bcrypt.calls.length = 0
  const withStolen = (password) => guard.login({ account: 'ann', password, hash: STORED, address: 'x', deviceCookie: stolen })
  assert.equal((await withStolen('guess 1')).trusted, true)
  assert.equal((await withStolen('guess 2')).trusted, true)
  // Locked out as a device: its next attempts are untrusted ones, in the normal class, counted against the account.
  const third = await withStolen('guess 3')
  assert.deepEqual([third.trusted, third.status], [false, 401])
  assert.equal(bcrypt.calls.at(-1).options.priority, 'normal')
  const fourth = await withStolen('guess 4')
  assert.deepEqual([fourth.trusted, fourth.status], [false, 401])
  // The account is now locked out for untrusted clients (2 failures from them), the stolen cookie included...
  assert.equal((await withStolen(PASSWORD)).status, 429)
  assert.equal((await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: 'y' })).status, 429)
  // ...but the user's other device is still trusted.
  const r = await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: 'z', deviceCookie: other })
  assert.deepEqual([r.ok, r.trusted], [true, true])
})

test('lockout: unknown accounts lock out the same way, so a 429 tells nothing of whether one exists', async () => {
  const { guard, bcrypt } = makeGuard({ lockout: { failures: 2, windowMs: 60_000 } })
  const answers = {}
  for (const [account, hash] of [['ann', STORED], ['nobody', undefined]]) {
    answers[account] = []
    for (let i = 0; i < 4; i++) answers[account].push((await guard.login({ account, password: 'guess', hash, address: 'a' })).status)
  }
  assert.deepEqual(answers, { ann: [401, 401, 429, 429], nobody: [401, 401, 429, 429] })
  assert.deepEqual(bcrypt.calls.map((c) => c.fn), ['compare', 'compare', 'compareUnknown', 'compareUnknown'])
})

test('lockout: guesses sent at once count while in flight, so no more than `failures` are computed', async () => {
  const { guard, bcrypt } = makeGuard({ lockout: { failures: 5, windowMs: 60_000 } })
  bcrypt.hold()
  const attempts = Array.from({ length: 50 }, (_, i) => guard.login({ account: 'ann', password: `guess ${i}`, hash: STORED, address: `10.0.${i}.1` }))
  await new Promise((resolve) => setImmediate(resolve))
  bcrypt.release()
  const statuses = (await Promise.all(attempts)).map((r) => r.status)
  assert.equal(bcrypt.calls.length, 5)
  assert.equal(statuses.filter((s) => s === 401).length, 5)
  assert.equal(statuses.filter((s) => s === 429).length, 45)
  // The same for one stolen device cookie: at most `failures` at once in the high class.
  const { guard: g2, bcrypt: b2 } = makeGuard({ lockout: { failures: 5, windowMs: 60_000 } })
  const cookie = await trustedCookie(g2)
  b2.calls.length = 0
  b2.hold()
  const stolen = Array.from({ length: 50 }, (_, i) => g2.login({ account: 'ann', password: `guess ${i}`, hash: STORED, address: 'x', deviceCookie: cookie }))
  await new Promise((resolve) => setImmediate(resolve))
  b2.release()
  await Promise.all(stolen)
  assert.equal(b2.calls.filter((c) => c.options.priority === 'high').length, 5)
  assert.ok(b2.calls.length <= 10, `${b2.calls.length} computed`)
})

test('lockout: the window ends and the account is open again', async () => {
  const store = memoryStore()
  let clock = 1_000_000
  // The store is told the time: drive it directly, as the guard does.
  const timed = { get: (key) => store.get(key, clock), hit: (key, windowMs) => store.hit(key, windowMs, clock) }
  const { guard } = makeGuard({ lockout: { failures: 1, windowMs: 1000, store: timed } })
  assert.equal((await guard.login({ account: 'ann', password: 'x', hash: STORED, address: 'a' })).status, 401)
  assert.equal((await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: 'a' })).status, 429)
  clock += 1000
  assert.equal((await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: 'a' })).status, 200)
})

test('the memory store: fixed windows, and past maxEntries the oldest key goes first', () => {
  const store = memoryStore({ maxEntries: 3 })
  assert.deepEqual(store.hit('a', 1000, 0), { count: 1, resetAt: 1000 })
  assert.deepEqual(store.hit('a', 1000, 500), { count: 2, resetAt: 1000 })
  assert.deepEqual(store.get('a', 999), { count: 2, resetAt: 1000 })
  assert.equal(store.get('a', 1000), undefined)
  assert.deepEqual(store.hit('a', 1000, 1000), { count: 1, resetAt: 2000 })
  store.hit('b', 1000, 1001)
  store.hit('c', 1000, 1002)
  store.hit('d', 1000, 1003)
  assert.equal(store.size, 3)
  assert.equal(store.get('a', 1003), undefined, 'the oldest was dropped')
  assert.equal(store.get('d', 1003).count, 1)
  // Ended windows are pruned as new failures come, so the map does not hold the dead.
  store.hit('e', 1000, 5000)
  assert.equal(store.size, 1)
  // A flood of new names never grows it past the cap.
  const big = memoryStore({ maxEntries: 100 })
  for (let i = 0; i < 10_000; i++) big.hit(`name ${i}`, 60_000, i)
  assert.equal(big.size, 100)
})

test('a shared store: the guard keys it by account and by device nonce, and may await it', async () => {
  const keys = []
  const inner = memoryStore()
  const store = {
    get: async (key, now) => (keys.push(['get', key]), inner.get(key, now)),
    hit: async (key, windowMs, now) => (keys.push(['hit', key, windowMs]), inner.hit(key, windowMs, now)),
  }
  const { guard } = makeGuard({ lockout: { store, windowMs: 5000 } })
  const cookie = await trustedCookie(guard)
  keys.length = 0
  await guard.login({ account: 'ann', password: 'x', hash: STORED, address: 'a', deviceCookie: cookie })
  await guard.login({ account: 'ann', password: 'x', hash: STORED, address: 'a' })
  const nonce = cookie.split('.')[2]
  assert.deepEqual(keys, [
    ['get', `device:${nonce}`],
    ['hit', `device:${nonce}`, 5000],
    ['get', 'account:ann'],
    ['hit', 'account:ann', 5000],
  ])
  // A store that fails fails the login closed, and leaves nothing counted in flight.
  const broken = makeGuard({ lockout: { store: { get: async () => Promise.reject(new Error('redis down')), hit: () => ({}) } } })
  await assert.rejects(broken.guard.login({ account: 'ann', password: 'x', hash: STORED, address: 'a' }), /redis down/)
  assert.equal(broken.bcrypt.calls.length, 0)
})

test('503 when the pool refuses (deadline, full class): not computed, not counted, Retry-After given', async () => {
  const { guard, bcrypt } = makeGuard({ lockout: { failures: 1 }, timeout: { trusted: 1000, untrusted: 2500 } })
  const cookie = await trustedCookie(guard)
  for (const [err, retryAfter] of [
    [poolError('ERR_BCRYPT_DEADLINE', { waitMs: 4200 }), 5],
    [poolError('ERR_BCRYPT_DEADLINE', { waitMs: null }), 3], // expired in the queue: the untrusted timeout
    [poolError('ERR_BCRYPT_QUEUE_FULL'), 3],
    [poolError('ERR_BCRYPT_DEADLINE', { waitMs: 3_600_000 }), 60],
  ]) {
    bcrypt.refuse(err)
    const r = await guard.login({ account: 'ann', password: 'guess', hash: STORED, address: 'a' })
    assert.deepEqual(r, { ok: false, trusted: false, status: 503, reason: 'busy', retryAfter }, err.code)
  }
  bcrypt.refuse(poolError('ERR_BCRYPT_QUEUE_FULL'))
  const trusted = await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: 'a', deviceCookie: cookie })
  assert.deepEqual(trusted, { ok: false, trusted: true, status: 503, reason: 'busy', retryAfter: 1 })
  const unknown = await guard.login({ account: 'nobody', password: 'x', hash: undefined, address: 'a' })
  assert.equal(unknown.status, 503)
  // None of those counted as a failure: with failures: 1 the account would be locked otherwise.
  bcrypt.refuse(null)
  assert.equal((await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: 'a' })).status, 200)
})

test('other errors of the pool, and aborts, reject login() and are not counted', async () => {
  const { guard, bcrypt } = makeGuard({ lockout: { failures: 1 } })
  bcrypt.refuse(Object.assign(new Error('internal'), { code: 'ERR_BCRYPT_INTERNAL' }))
  await assert.rejects(guard.login({ account: 'ann', password: 'x', hash: STORED, address: 'a' }), { code: 'ERR_BCRYPT_INTERNAL' })
  const abort = Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' })
  bcrypt.refuse(abort)
  const controller = new AbortController()
  await assert.rejects(guard.login({ account: 'ann', password: 'x', hash: STORED, address: 'a', signal: controller.signal }), { name: 'AbortError' })
  assert.equal(bcrypt.calls.at(-1).signal, controller.signal, 'the signal reaches the pool')
  bcrypt.refuse(null)
  assert.equal((await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: 'a' })).status, 200)
})

test('createGuard refuses bad options with Node-style codes, and never shows a key', () => {
  const bcrypt = fakeBcrypt()
  const secret = 'super-secret-key-material-0123456789'
  const cases = [
    [undefined, 'ERR_INVALID_ARG_TYPE', TypeError],
    [{ keys: [KEY] }, 'ERR_INVALID_ARG_TYPE', TypeError],
    [{ bcrypt: require('bcryptjs'), keys: [KEY] }, 'ERR_INVALID_ARG_TYPE', TypeError],
    [{ bcrypt, keys: KEY }, 'ERR_INVALID_ARG_TYPE', TypeError],
    [{ bcrypt, keys: [] }, 'ERR_INVALID_ARG_VALUE', TypeError],
    [{ bcrypt, keys: [secret.slice(0, 31)] }, 'ERR_OUT_OF_RANGE', RangeError],
    [{ bcrypt, keys: [KEY, Buffer.from(secret.slice(0, 20))] }, 'ERR_OUT_OF_RANGE', RangeError],
    [{ bcrypt, keys: [KEY, 42] }, 'ERR_INVALID_ARG_TYPE', TypeError],
    [{ bcrypt, keys: [KEY], rounds: 3 }, 'ERR_OUT_OF_RANGE', RangeError],
    [{ bcrypt, keys: [KEY], rounds: 10.5 }, 'ERR_OUT_OF_RANGE', RangeError],
    [{ bcrypt, keys: [KEY], rounds: '10' }, 'ERR_INVALID_ARG_TYPE', TypeError],
    [{ bcrypt, keys: [KEY], fairness: 'ip' }, 'ERR_INVALID_ARG_VALUE', TypeError],
    [{ bcrypt, keys: [KEY], lockout: { failures: 0 } }, 'ERR_OUT_OF_RANGE', RangeError],
    [{ bcrypt, keys: [KEY], lockout: { windowMs: -1 } }, 'ERR_OUT_OF_RANGE', RangeError],
    [{ bcrypt, keys: [KEY], lockout: { store: {} } }, 'ERR_INVALID_ARG_TYPE', TypeError],
    [{ bcrypt, keys: [KEY], lockout: { store: memoryStore(), maxEntries: 5 } }, 'ERR_INVALID_ARG_VALUE', TypeError],
    [{ bcrypt, keys: [KEY], lockout: 10 }, 'ERR_INVALID_ARG_TYPE', TypeError],
    [{ bcrypt, keys: [KEY], timeout: { trusted: 0 } }, 'ERR_OUT_OF_RANGE', RangeError],
    [{ bcrypt, keys: [KEY], timeout: { untrusted: Infinity } }, 'ERR_OUT_OF_RANGE', RangeError],
    [{ bcrypt, keys: [KEY], timeout: { untrusted: NaN } }, 'ERR_OUT_OF_RANGE', RangeError],
    [{ bcrypt, keys: [KEY], cookie: { name: 'a b' } }, 'ERR_INVALID_ARG_VALUE', TypeError],
    [{ bcrypt, keys: [KEY], cookie: { secure: 'no' } }, 'ERR_INVALID_ARG_TYPE', TypeError],
    [{ bcrypt, keys: [KEY], cookie: { sameSite: 'sometimes' } }, 'ERR_INVALID_ARG_VALUE', TypeError],
    [{ bcrypt, keys: [KEY], cookie: { sameSite: 'None', secure: false } }, 'ERR_INVALID_ARG_VALUE', TypeError],
    [{ bcrypt, keys: [KEY], cookie: { name: '__Host-device', path: '/app' } }, 'ERR_INVALID_ARG_VALUE', TypeError],
    [{ bcrypt, keys: [KEY], cookie: { path: '/; Domain=evil.example' } }, 'ERR_INVALID_ARG_VALUE', TypeError],
    [{ bcrypt, keys: [KEY], cookie: { maxAgeMs: 999 } }, 'ERR_OUT_OF_RANGE', RangeError],
    [{ bcrypt, keys: [KEY], cookie: { maxAgeMs: 401 * 86_400_000 } }, 'ERR_OUT_OF_RANGE', RangeError],
  ]
  for (const [options, code, Class] of cases) {
    assert.throws(
      () => createGuard(options),
      (err) => {
        assert.ok(err instanceof Class, `${err.name} for ${code}`)
        assert.equal(err.code, code, err.message)
        assert.ok(!err.message.includes(secret.slice(0, 20)), err.message)
        assert.ok(!err.message.includes('\u0001'), err.message)
        return true
      },
    )
  }
  // Accepted: keys of strings, Uint8Arrays and Buffers; sameSite in any case; undefined means the default.
  const guard = createGuard({ bcrypt, keys: ['k'.repeat(32), new Uint8Array(40), KEY], cookie: { sameSite: 'lax', name: undefined } })
  assert.equal(guard.cookieName, 'device')
  assert.match(guard.issueCookie('ann'), /; SameSite=Lax; Secure$/)
})

test('login() refuses bad input with a TypeError or RangeError that never shows the password', async () => {
  const { guard, bcrypt } = makeGuard()
  const password = 'hunter2-secret'
  const good = { account: 'ann', password, hash: hashOf(password), address: 'a' }
  const cases = [
    [null, 'ERR_INVALID_ARG_TYPE'],
    [{ ...good, account: undefined }, 'ERR_INVALID_ARG_TYPE'],
    [{ ...good, account: '' }, 'ERR_INVALID_ARG_TYPE'],
    [{ ...good, account: 'x'.repeat(257) }, 'ERR_OUT_OF_RANGE'],
    [{ ...good, password: 42 }, 'ERR_INVALID_ARG_TYPE'],
    [{ ...good, hash: 42 }, 'ERR_INVALID_ARG_TYPE'],
    [{ ...good, address: 1 }, 'ERR_INVALID_ARG_TYPE'],
    [{ ...good, address: 'x'.repeat(257) }, 'ERR_OUT_OF_RANGE'],
    [{ ...good, deviceCookie: { value: password } }, 'ERR_INVALID_ARG_TYPE'],
  ]
  for (const [input, code] of cases) {
    await assert.rejects(guard.login(input), (err) => err.code === code && !err.message.includes(password))
  }
  assert.equal(bcrypt.calls.length, 0)
  // The longest account is 256 bytes; bytes are Buffers too; an address may be left out.
  assert.equal((await guard.login({ ...good, account: 'x'.repeat(256) })).status, 200)
  assert.equal((await guard.login({ account: 'ann', password: Buffer.from(password), hash: hashOf(Buffer.from(password)) })).status, 200)
})

test('issueCookie: a cookie for a login proved another way makes the browser trusted', async () => {
  const { guard, bcrypt } = makeGuard()
  const header = guard.issueCookie('ann')
  await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: 'a', deviceCookie: cookieValue(header) })
  assert.equal(bcrypt.calls[0].options.priority, 'high')
  assert.throws(() => guard.issueCookie(''), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('the guard checks the keys it is given once: the caller\'s later changes do nothing', async () => {
  const key = Buffer.alloc(32, 5)
  const guard = createGuard({ bcrypt: fakeBcrypt(), keys: [key] })
  const cookie = await trustedCookie(guard)
  key.fill(0)
  const r = await guard.login({ account: 'ann', password: PASSWORD, hash: STORED, address: 'a', deviceCookie: cookie })
  assert.equal(r.trusted, true)
})
