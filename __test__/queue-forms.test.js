'use strict'

// The tier takes exactly what the local package takes: every form of password, odd ones included
// (a Uint8Array whose own `length`, `buffer` or `byteOffset` lies, a detached one, one over shared
// memory), gives through the tier the hash, the answer or the error it gives locally. The tier
// reads a password as the binding does (lib/api.js's passwordBytes), never through the array's own
// properties.

const test = require('node:test')
const assert = require('node:assert/strict')

const local = require('..')
const { redisForFile, queueTestFile, tier, settle } = require('./redis-helpers.js')

queueTestFile()
const redis = redisForFile()

const SALT = 'CCCCCCCCCCCCCCCCCCCCC.'
const SALTS = [`$2b$04$${SALT}`, `$2a$04$${SALT}`]

const bytes = (...values) => new Uint8Array(values)
const withOwn = (array, name, descriptor) => Object.defineProperty(array, name, descriptor)
function detached() {
  const array = bytes(1, 2, 3, 4)
  structuredClone(array.buffer, { transfer: [array.buffer] })
  return array
}

// Each a factory: some forms (a detached array) cannot be used twice.
const FORMS = {
  'a string': () => 'pässword',
  'an empty string': () => '',
  'a lone surrogate': () => 'a\uD800b',
  'a NUL inside': () => 'a\0b',
  'a 300-byte string (past $2a$\'s wraparound)': () => 'x'.repeat(299) + 'y',
  'a 100 KB string': () => 'p'.repeat(100_000),
  'a Buffer': () => Buffer.from('pässword'),
  'a Buffer slice of the shared pool': () => Buffer.from('--pässword--').subarray(2, 11),
  'a Uint8Array': () => bytes(0, 1, 255),
  'a Uint8Array with its own length getter': () => withOwn(bytes(1, 2, 3, 4), 'length', { get: () => 2 }),
  'a Uint8Array whose own length is 1': () => withOwn(bytes(1, 2, 3, 4), 'length', { value: 1 }),
  'a Uint8Array whose own length is 1000': () => withOwn(bytes(1, 2, 3, 4), 'length', { value: 1000 }),
  'a Uint8Array with its own byteOffset and buffer': () =>
    withOwn(withOwn(Buffer.from('--pw--').subarray(2, 4), 'byteOffset', { value: 0 }), 'buffer', { value: new ArrayBuffer(9) }),
  'a detached Uint8Array': detached,
  'a Uint8Array over shared memory': () => new Uint8Array(new SharedArrayBuffer(5)).fill(7),
  'a Uint8Array with another prototype': () => Object.setPrototypeOf(bytes(1, 2, 3), Array.prototype),
  'a Proxy of a Uint8Array': () => new Proxy(bytes(1, 2, 3), {}),
  'a Uint16Array': () => new Uint16Array([1, 2]),
  'an array of numbers': () => [1, 2, 3],
  'a number': () => 42,
  'null': () => null,
}

// An outcome as the caller sees it: the value, or the error's class, code and message.
const outcome = async (promise) => {
  const { value, error } = await settle(promise)
  return error ? [error.constructor.name, error.code, error.message] : value
}

test('every password form gives through the tier what it gives locally', { timeout: 60_000 }, async () => {
  const t = await tier(redis)
  try {
    for (const [name, form] of Object.entries(FORMS)) {
      for (const salt of SALTS) {
        const hashed = await outcome(local.hash(form(), salt))
        assert.deepEqual(await outcome(t.client.hash(form(), salt)), hashed, `hash: ${name}, ${salt.slice(0, 4)}`)
        if (typeof hashed !== 'string') continue
        assert.deepEqual(await outcome(t.client.compare(form(), hashed)), await outcome(local.compare(form(), hashed)), `compare: ${name}`)
      }
      const unknown = { rounds: 4 }
      assert.deepEqual(await outcome(t.client.compareUnknown(form(), unknown)), await outcome(local.compareUnknown(form(), unknown)), `compareUnknown: ${name}`)
    }
    // The hashes were right, not merely alike: one checked against its password the ordinary way.
    const lying = await t.client.hash(FORMS['a Uint8Array with its own length getter'](), SALTS[0])
    assert.equal(local.compareSync(Buffer.from([1, 2, 3, 4]), lying), true)
  } finally {
    await t.close()
  }
})
