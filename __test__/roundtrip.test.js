'use strict'

// Round trips with implementations we did not write, both ways: `bcrypt` (OpenBSD's C, via its
// npm addon) and `bcryptjs` (pure JavaScript). Random inputs come from a seeded generator so a
// failure names the seed that reproduces it.

const test = require('node:test')
const assert = require('node:assert/strict')

const ours = require('..')
const cBcrypt = require('bcrypt')
const jsBcrypt = require('bcryptjs')

const SEED = Number(process.env.ROUNDTRIP_SEED ?? Date.now() % 2 ** 31)

// xorshift32: small, deterministic, good enough to pick test inputs.
function rng(seed) {
  let x = seed || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
}

const random = rng(SEED)
const int = (n) => Math.floor(random() * n)
const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)))
const salt = (minor) => `$2${minor}$04$${jsBcrypt.genSaltSync(4).slice(7)}`

// Text with ASCII, accented, CJK and astral characters; with `lone`, unpaired surrogates too.
function text(n, lone = false) {
  const pools = [[0x20, 0x7f], [0xa0, 0x24f], [0x4e00, 0x4fff], [0x1f300, 0x1f5ff], ...(lone ? [[0xd800, 0xdbff]] : [])]
  let s = ''
  for (let i = 0; i < n; i++) {
    const [lo, hi] = pools[int(pools.length)]
    s += String.fromCodePoint(lo + int(hi - lo))
  }
  return s
}

// The asynchronous calls all go at once, so that the pool runs them side by side in its lanes (a
// lane count, a mid-batch join) as a server's would be.

test(`ours ⇄ bcryptjs over random text, 40 calls at once (seed ${SEED})`, async () => {
  const passwords = Array.from({ length: 40 }, () => text(int(40)))
  const theirs = passwords.map((password) => jsBcrypt.hashSync(password, 4))
  const [mine, verdicts] = await Promise.all([
    Promise.all(passwords.map((password) => ours.hash(password, 4))),
    Promise.all(passwords.map((password, i) => ours.compare(password, theirs[i]))),
  ])
  passwords.forEach((password, i) => {
    assert.equal(jsBcrypt.compareSync(password, mine[i]), true, `bcryptjs rejects our hash of ${JSON.stringify(password)}`)
    assert.equal(verdicts[i], true, `we reject bcryptjs's hash of ${JSON.stringify(password)}`)
    assert.equal(ours.hashSync(password, theirs[i]), theirs[i])
  })
})

// An unpaired surrogate has no UTF-8 form. Node (and so bcrypt) encodes it as U+FFFD; bcryptjs
// encodes it its own way, so its hashes of such strings match neither bcrypt nor us.
test(`strings with unpaired surrogates hash as in bcrypt (seed ${SEED})`, () => {
  for (let i = 0; i < 20; i++) {
    const password = text(1 + int(30), true)
    const s = salt('b')
    assert.equal(ours.hashSync(password, s), cBcrypt.hashSync(password, s), JSON.stringify(password))
  }
})

test(`ours ⇄ bcrypt over random bytes, NULs included, 40 calls at once (seed ${SEED})`, async () => {
  const passwords = Array.from({ length: 40 }, () => bytes(int(101)))
  const theirs = passwords.map((password) => cBcrypt.hashSync(password, 4))
  const [mine, verdicts] = await Promise.all([
    Promise.all(passwords.map((password) => ours.hash(password, 4))),
    Promise.all(passwords.map((password, i) => ours.compare(password, theirs[i]))),
  ])
  passwords.forEach((password, i) => {
    assert.equal(cBcrypt.compareSync(password, mine[i]), true, `bcrypt rejects our hash of ${password.toString('hex')}`)
    assert.equal(verdicts[i], true, `we reject bcrypt's hash of ${password.toString('hex')}`)
  })
})

test(`identical hashes to bcrypt for $2$, $2a$ and $2b$ at every length to 600 bytes, wraparound included (seed ${SEED})`, () => {
  for (const minor of ['', 'a', 'b']) {
    for (let i = 0; i < 30; i++) {
      // Lengths cluster around the edges where bcrypt.c's key length wraps or caps.
      const edges = [0, 1, 71, 72, 73, 254, 255, 256, 257, 511, 512]
      const len = i < edges.length ? edges[i] : int(601)
      const password = bytes(len)
      const s = salt(minor)
      assert.equal(ours.hashSync(password, s), cBcrypt.hashSync(password, s), `${s} length ${len}: ${password.toString('hex')}`)
    }
  }
})
