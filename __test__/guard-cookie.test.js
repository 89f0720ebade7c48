'use strict'

// The device cookie (lib/guard/cookie.js), alone and through the guard: every way a value can be
// wrong is refused, and a refused cookie makes the login untrusted (never an error, never a 4xx of
// its own). Key rotation: a cookie the old key signed verifies while that key is still listed.

const test = require('node:test')
const assert = require('node:assert/strict')

const { createDeviceCookies, MAX_VALUE_CHARS, MAX_ACCOUNT_BYTES } = require('../lib/guard/cookie.js')
const { KEY, OLD_KEY, OTHER_KEY, hashOf, makeGuard, cookieValue } = require('./guard-helpers.js')

const DAY = 86_400_000
const SETTINGS = { name: 'device', maxAgeMs: 30 * DAY, secure: true, sameSite: 'Strict', path: '/' }
const cookies = (keys = [KEY], settings = {}) => createDeviceCookies({ keys, ...SETTINGS, ...settings })

test('a cookie verifies for its account until it expires, with its own nonce', () => {
  const now = Date.now()
  const c = cookies()
  const issued = c.issue('ann', now)
  assert.match(issued.value, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}\.\d+\.[A-Za-z0-9_-]{43}$/)
  assert.deepEqual(c.verify(issued.value, 'ann', now), { valid: true, nonce: issued.nonce, expiresAt: issued.expiresAt })
  assert.ok(Buffer.from(issued.nonce, 'base64url').length >= 16)
  assert.notEqual(c.issue('ann', now).nonce, issued.nonce)
  assert.deepEqual(c.verify(issued.value, 'ann', issued.expiresAt - 1).valid, true)
  assert.deepEqual(c.verify(issued.value, 'ann', issued.expiresAt), { valid: false, reason: 'expired' })
})

test('refused: forged MAC, another account, truncated, oversized, malformed, wrong key', () => {
  const now = Date.now()
  const c = cookies()
  const { value } = c.issue('ann', now)
  const [version, account, nonce, expires, mac] = value.split('.')
  const otherMac = Buffer.alloc(32, 7).toString('base64url')
  const cases = {
    forged: [
      [version, account, nonce, expires, otherMac].join('.'),
      // A later expiry, a nonce or an account changed without re-signing.
      [version, account, nonce, String(Number(expires) + 3600), mac].join('.'),
      [version, account, Buffer.alloc(16).toString('base64url'), expires, mac].join('.'),
      [version, Buffer.from('bob').toString('base64url'), nonce, expires, mac].join('.'),
      cookies([OTHER_KEY]).issue('ann', now).value,
    ],
    account: [c.issue('bob', now).value],
    malformed: [
      value.slice(0, -1),
      value.slice(0, value.lastIndexOf('.')),
      value.slice(0, 20),
      '',
      'v2' + value.slice(2),
      [version, account, nonce, expires, mac, 'x'].join('.'),
      [version, account, nonce, `0${expires}`, mac].join('.'),
      [version, `${account}=`, nonce, expires, mac].join('.'),
      value + 'A'.repeat(MAX_VALUE_CHARS),
      'A'.repeat(1_000_000),
    ],
  }
  for (const [reason, values] of Object.entries(cases)) {
    for (const v of values) assert.deepEqual(c.verify(v, 'ann', now), { valid: false, reason }, v.slice(0, 120))
  }
  // Not strings at all.
  for (const v of [undefined, null, 42, Buffer.from(value)]) assert.deepEqual(c.verify(v, 'ann', now), { valid: false, reason: 'malformed' })
})

test('every single-bit flip of every character is refused', () => {
  const now = Date.now()
  const c = cookies()
  const { value } = c.issue('ann', now)
  let refused = 0
  for (let i = 0; i < value.length; i++) {
    for (let bit = 0; bit < 7; bit++) {
      const flipped = value.slice(0, i) + String.fromCharCode(value.charCodeAt(i) ^ (1 << bit)) + value.slice(i + 1)
      assert.equal(c.verify(flipped, 'ann', now).valid, false, `char ${i} bit ${bit}`)
      refused++
    }
  }
  assert.equal(refused, value.length * 7)
  // Including those base64 decoding would ignore: the MAC's last character carries two unused bits.
  const last = value.at(-1)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  for (const sibling of alphabet) {
    if (sibling !== last) assert.equal(c.verify(value.slice(0, -1) + sibling, 'ann', now).valid, false)
  }
})

test('an account cannot pass for another through separators or encodings', () => {
  const now = Date.now()
  const c = cookies()
  for (const [issuedFor, claimed] of [
    ['ann', 'ann.'],
    ['ann.x', 'ann'],
    ['a.b', 'a'],
    ['ann', 'Ann'],
    ['ann', 'ann\0'],
    ['ånn', 'a\u030ann'], // the same letter, composed and decomposed: different bytes, different accounts
    ['ann;', 'ann'],
  ]) {
    const { value } = c.issue(issuedFor, now)
    assert.deepEqual(c.verify(value, claimed, now), { valid: false, reason: 'account' }, `${issuedFor} → ${claimed}`)
    assert.equal(c.verify(value, issuedFor, now).valid, true)
  }
  // The longest account fits, and its cookie is within the bound.
  const longest = 'é'.repeat(MAX_ACCOUNT_BYTES / 2)
  const { value } = c.issue(longest, now)
  assert.ok(value.length <= MAX_VALUE_CHARS)
  assert.equal(c.verify(value, longest, now).valid, true)
})

test('key rotation: the old key verifies while it is listed second, not once it is dropped', () => {
  const now = Date.now()
  const old = cookies([OLD_KEY]).issue('ann', now).value
  const rotated = cookies([KEY, OLD_KEY])
  assert.equal(rotated.verify(old, 'ann', now).valid, true)
  // New cookies are signed with the new key: they verify under it alone.
  const fresh = rotated.issue('ann', now).value
  assert.equal(cookies([KEY]).verify(fresh, 'ann', now).valid, true)
  assert.equal(cookies([OLD_KEY]).verify(fresh, 'ann', now).reason, 'forged')
  assert.equal(cookies([KEY]).verify(old, 'ann', now).reason, 'forged')
  // Strings and Uint8Arrays are keys too, by their bytes.
  const text = 'k'.repeat(32)
  const fromText = cookies([text]).issue('ann', now).value
  assert.equal(cookies([new Uint8Array(Buffer.from(text))]).verify(fromText, 'ann', now).valid, true)
})

test('the keys are copied: changing the caller\'s Buffer afterwards changes nothing', () => {
  const key = Buffer.alloc(32, 9)
  const c = cookies([key])
  const { value } = c.issue('ann', Date.now())
  key.fill(0)
  assert.equal(c.verify(value, 'ann', Date.now()).valid, true)
})

test('Set-Cookie: HttpOnly, SameSite, Secure by default, Path and Max-Age; secure: false drops Secure', () => {
  const header = cookies().issue('ann', Date.now()).setCookie
  assert.match(header, /^device=v1\.[^;]+; Max-Age=2592000; Path=\/; HttpOnly; SameSite=Strict; Secure$/)
  const dev = cookies([KEY], { secure: false, sameSite: 'Lax', path: '/app', name: 'known', maxAgeMs: 3_600_500 }).issue('ann', Date.now()).setCookie
  assert.match(dev, /^known=v1\.[^;]+; Max-Age=3600; Path=\/app; HttpOnly; SameSite=Lax$/)
})

// Through the guard: what each refused cookie does to a login.
test('through the guard: a valid cookie is trusted; a refused one is an untrusted login, not an error', async () => {
  const { guard, bcrypt } = makeGuard()
  const login = (deviceCookie, account = 'ann') =>
    guard.login({ account, password: 'pw', hash: hashOf('pw'), address: '192.0.2.1', deviceCookie })
  const first = await login(undefined)
  assert.equal(first.trusted, false)
  const value = cookieValue(first.setCookie)
  const again = await login(value)
  assert.equal(again.trusted, true)
  assert.notEqual(cookieValue(again.setCookie), value, 'a fresh cookie, with a new nonce')

  const now = Date.now()
  const refused = {
    forged: value.slice(0, -3) + (value.slice(-3) === 'AAA' ? 'BBB' : 'AAA'),
    'another account': cookieValue((await login(undefined, 'bob')).setCookie),
    truncated: value.slice(0, -10),
    oversized: value + 'A'.repeat(5000),
    'wrong key': cookies([OTHER_KEY]).issue('ann', now).value,
    expired: cookies([KEY]).issue('ann', now - 31 * DAY).value,
    empty: '',
  }
  for (const [what, cookie] of Object.entries(refused)) {
    const before = bcrypt.calls.length
    const r = await login(cookie)
    assert.deepEqual({ ok: r.ok, trusted: r.trusted, status: r.status }, { ok: true, trusted: false, status: 200 }, what)
    assert.equal(bcrypt.calls[before].options.priority, 'normal', what)
  }
})

test('through the guard: rotation, then the old key dropped', async () => {
  const old = makeGuard({ keys: [OLD_KEY] })
  const value = cookieValue((await old.guard.login({ account: 'ann', password: 'pw', hash: hashOf('pw'), address: 'a' })).setCookie)
  const input = { account: 'ann', password: 'pw', hash: hashOf('pw'), address: 'a', deviceCookie: value }
  assert.equal((await makeGuard({ keys: [KEY, OLD_KEY] }).guard.login(input)).trusted, true)
  assert.equal((await makeGuard({ keys: [KEY] }).guard.login(input)).trusted, false)
})
