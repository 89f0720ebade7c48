'use strict'

// What crosses Redis, without Redis: native failures on the wire (lib/errors.js: toWire, fromWire,
// one recognition for the facade, the worker and the client), the refusal codes a worker leaves on a
// job, and the sealed envelope (lib/queue/envelope.js).

const { createHash } = require('node:crypto')
const test = require('node:test')
const assert = require('node:assert/strict')

const binding = require('../binding.js')
const { createErrors, nativeKind, toWire, fromWire } = require('../lib/errors.js')
const envelope = require('../lib/queue/envelope.js')

const { fromNative } = createErrors(binding)
const worded = (err) => {
  const e = fromNative(err)
  return [e.constructor, e.code, e.message]
}
// What a binding call throws or rejects with.
async function failure(call) {
  try {
    await call()
  } catch (err) {
    return err
  }
  assert.fail('it did not fail')
}

test('a native failure crosses the wire and is worded as the binding\'s own', async () => {
  const natives = [
    // The real binding's.
    await failure(() => binding.hash('pw', 'not a salt')),
    await failure(() => binding.getRounds('not a hash')),
    await failure(() => binding.hash('pw', '$2b$04$CCCCCCCCCCCCCCCCCCCCC.', null, { class: 1, timeoutMs: 0 })),
    // As the binding makes the others (src/bindings/error.rs): the kind, the facts as properties.
    Object.assign(new Error('Deadline'), { code: 'Deadline', waitMs: null }),
    Object.assign(new Error('Deadline'), { code: 'Deadline', waitMs: 1234.5 }),
    Object.assign(new Error('QueueFull'), { code: 'QueueFull', maxQueue: 3, priority: 'low' }),
    Object.assign(new Error('PoolStarted'), { code: 'PoolStarted', running: 2 }),
    Object.assign(new Error('PoolSpawn'), { code: 'PoolSpawn', reason: 'no threads' }),
    Object.assign(new Error('BadEnv'), { code: 'BadEnv', variable: 'BCRYPT_OFFLOAD_LANES', value: 'many' }),
    Object.assign(new Error('Internal'), { code: 'Internal' }),
  ]
  assert.deepEqual(natives.slice(0, 3).map(nativeKind), ['InvalidSalt', 'InvalidHash', 'Deadline'])
  for (const err of natives) {
    const wire = JSON.parse(JSON.stringify(toWire(err))) // as it travels, sealed
    assert.equal(wire.kind, err.code)
    assert.deepEqual(worded(fromWire(wire)), worded(err))
    assert.notEqual(fromNative(fromWire(wire)), fromWire(wire), `${err.code} is worded from the table`)
  }
})

test('anything else is not a native failure, and a wire value that is not one is refused', () => {
  const lookalikes = [
    Object.assign(new Error('NoSuchKind'), { code: 'NoSuchKind' }),
    Object.assign(new Error('a message'), { code: 'InvalidSalt' }),
    { code: 'InvalidSalt' },
    'InvalidSalt',
    null,
    undefined,
  ]
  for (const value of lookalikes) {
    assert.equal(nativeKind(value), undefined)
    assert.equal(toWire(value), undefined)
  }
  for (const wire of [
    undefined,
    null,
    'InvalidSalt',
    { kind: 'NoSuchKind', facts: {} },
    { kind: 'toString', facts: {} },
    { kind: 'InvalidSalt' },
    { kind: 'QueueFull', facts: { maxQueue: { toString: () => 'x' } } },
  ]) {
    assert.equal(fromWire(wire), undefined, JSON.stringify(wire))
  }
})

test("a worker's refusal is a fixed code, read by exact match only", () => {
  assert.deepEqual(Object.keys(envelope.REFUSALS).map((name) => envelope.refusalOf(envelope.REFUSALS[name])), Object.keys(envelope.REFUSALS))
  for (const reason of [undefined, '', 'otherKey', `${envelope.REFUSALS.otherKey}: more`, ` ${envelope.REFUSALS.unauthenticated}`, 'ERR_BCRYPT_QUEUE_TAMPERED']) {
    assert.equal(envelope.refusalOf(reason), undefined, reason)
  }
})

test('a sealed message opens to what was sealed, only for its job and direction', () => {
  const key = Buffer.from(envelope.newKey(), 'base64')
  const hash = '$2b$10$' + 'C'.repeat(53)
  for (const request of [
    { op: 'hash', setting: '$2b$10$CCCCCCCCCCCCCCCCCCCCC.', data: 'pässword', deadline: 1e12, startBy: Infinity, schedule: { class: 1, key: undefined } },
    { op: 'compare', setting: hash, data: Buffer.from([0, 1, 255]), deadline: 1e12, startBy: 1e12 - 5, schedule: { class: 0, key: '' } },
    { op: 'compareUnknown', setting: '12', data: '', deadline: 1e12, startBy: 1e12 - 5, schedule: { class: 2, key: 'ada|203.0.113.7' } },
  ]) {
    const sealed = envelope.sealRequest(key, 'q', 'job-1', request)
    const opened = envelope.openRequest(key, 'q', 'job-1', sealed)
    // The password opens as the 72 bytes bcrypt reads of it, the fair-share key as its digest
    // (what they decide is __test__/queue-sizes.test.js's).
    const digest = (k) => k === undefined ? undefined : createHash('sha256').update(k).digest('base64')
    assert.equal(opened.data.length, binding.MAX_PASSWORD_BYTES)
    assert.deepEqual({ ...opened, data: undefined }, { ...request, data: undefined, schedule: { ...request.schedule, key: digest(request.schedule.key) } })
    assert.equal(envelope.openRequest(key, 'q', 'job-2', sealed), undefined)
    assert.equal(envelope.openRequest(key, 'other', 'job-1', sealed), undefined)
    assert.equal(envelope.openResult(key, 'q', 'job-1', sealed), undefined)
  }
  const result = envelope.sealResult(key, 'q', 'job-1', { value: hash })
  assert.deepEqual(envelope.openResult(key, 'q', 'job-1', result), { value: hash })
  assert.equal(envelope.openRequest(key, 'q', 'job-1', result), undefined)
  // A message of another format version is not opened.
  const other = Buffer.from(result, 'base64')
  other[0] = 1
  assert.equal(envelope.openResult(key, 'q', 'job-1', other.toString('base64')), undefined)
})

test("a sealed message's length says nothing of the password, the key, the operation or the answer", () => {
  const key = Buffer.from(envelope.newKey(), 'base64')
  const hash = '$2b$10$' + 'C'.repeat(53)
  const lengths = (messages) => new Set(messages.map((m) => Buffer.from(m, 'base64').length))
  const requests = []
  const salts = [hash.slice(0, 29), hash, `${hash}${'x'.repeat(1000)}`, 'not a salt']
  for (const [op, setting] of [...salts.map((salt) => ['hash', salt]), ['compare', hash], ['compare', `$2$10$${'C'.repeat(53)}`], ['compareUnknown', '10']]) {
    for (const data of ['', 'a', 'x'.repeat(72), Buffer.alloc(72, 0xff), 'ü'.repeat(36), 'y'.repeat(73), Buffer.alloc(255), 'z'.repeat(100_000)]) {
      for (const schedule of [{}, { class: 0, key: '203.0.113.7' }, { class: 2, key: `${'a'.repeat(254)}|2001:db8::1` }, { key: '\u{1F600}'.repeat(512) }]) {
        requests.push(envelope.sealRequest(key, 'q', 'job', { op, setting, data, deadline: 1e12, startBy: 1e12, schedule }))
      }
    }
  }
  assert.equal(lengths(requests).size, 1)
  const results = [
    { value: true },
    { value: false },
    { value: hash },
    { expired: true },
    { error: { kind: 'Deadline', facts: { waitMs: null } } },
    { error: { kind: 'Deadline', facts: { waitMs: 1234567.890123456 } } },
    { error: { kind: 'QueueFull', facts: { maxQueue: 4294967295, priority: 'normal' } } },
    { error: { kind: 'InvalidSalt', facts: {} } },
    { error: { kind: 'Internal', facts: {} } },
    { error: { kind: 'PoolStarted', facts: { running: 256 } } },
  ].map((r) => envelope.sealResult(key, 'q', 'job', r))
  assert.equal(lengths(results).size, 1)
})
