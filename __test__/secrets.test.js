'use strict'

// No error the package makes, thrown or rejected, sync or async, carries the password or the
// salt/hash it was given: not in its message, its stack, its own properties or its cause. Each
// input below holds a marker that must not come back out.

const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { until, occupyAllLanes } = require('./pool-helpers.js')

const bcrypt = require('..')

const PW = 'pw-MARKER-Tr0ub4dor&3'
const LONG_PW = PW.repeat(5) // 105 bytes: over bcrypt's 72
const BAD_SALT = '$2b$10$MARKERsalt-not-base64!!'
const BAD_HASH = '$2b$10$MARKERhash'.padEnd(59, 'x')
const FAST = '$2b$04$CCCCCCCCCCCCCCCCCCCCC.'
const markers = [PW, 'MARKER', 'Tr0ub4dor', BAD_SALT, BAD_HASH]

function assertClean(err, what) {
  assert.ok(err instanceof Error, `${what}: expected an error, got ${err}`)
  assert.equal(typeof err.code, 'string', `${what}: no code`)
  const seen = [
    err.message,
    err.stack,
    String(err),
    util.inspect(err, { showHidden: true, depth: 10 }),
    JSON.stringify(err),
  ].join('\n')
  for (const marker of markers) assert.ok(!seen.includes(marker), `${what} shows ${JSON.stringify(marker)}:\n${seen}`)
}

function syncError(fn, what) {
  try {
    fn()
  } catch (err) {
    return err
  }
  assert.fail(`${what}: did not throw`)
}

const asyncError = (promise) => promise.then(() => assert.fail('did not reject'), (err) => err)
const callbackError = (call) => new Promise((resolve) => call((err) => resolve(err)))

test('errors thrown by the sync API', () => {
  const cases = {
    'hashSync, bad salt': () => bcrypt.hashSync(PW, BAD_SALT),
    'hashSync, salt of the wrong type': () => bcrypt.hashSync(PW, { salt: BAD_SALT }),
    'hashSync, password of the wrong type': () => bcrypt.hashSync({ PW }, FAST),
    'hashSync, too long': () => bcrypt.hashSync(LONG_PW, FAST, { rejectLongPasswords: true }),
    'compareSync, hash of the wrong type': () => bcrypt.compareSync(PW, [BAD_HASH]),
    'compareSync, missing hash': () => bcrypt.compareSync(PW),
    'getRounds, bad hash': () => bcrypt.getRounds(`x${BAD_HASH}`),
    'getSalt, bad length': () => bcrypt.getSalt(BAD_HASH),
    'genSaltSync, rounds not a number': () => bcrypt.genSaltSync(BAD_SALT),
    'genSaltSync, bad minor': () => bcrypt.genSaltSync(10, BAD_SALT),
    'truncates, wrong type': () => bcrypt.truncates({ PW }),
    'needsRehash, bad options': () => bcrypt.needsRehash(BAD_HASH, PW),
  }
  for (const [what, fn] of Object.entries(cases)) assertClean(syncError(fn, what), what)
})

test('errors rejected or called back by the async API', async () => {
  const cases = {
    'hash, bad salt': () => asyncError(bcrypt.hash(PW, BAD_SALT)),
    'hash, bad salt, callback': () => callbackError((cb) => bcrypt.hash(PW, BAD_SALT, cb)),
    'hash, too long': () => asyncError(bcrypt.hash(LONG_PW, 4, { rejectLongPasswords: true })),
    'hash, wrong types': () => asyncError(bcrypt.hash(PW, [BAD_SALT])),
    'hash, aborted': () => asyncError(bcrypt.hash(PW, FAST, { signal: AbortSignal.abort() })),
    'hash, aborted with a reason': () => asyncError(bcrypt.hash(PW, FAST, { signal: AbortSignal.abort(new Error('gone')) })),
    'compare, wrong types': () => asyncError(bcrypt.compare(PW, { BAD_HASH })),
    'compare, wrong types, callback': () => callbackError((cb) => bcrypt.compare(PW, 42, cb)),
    'compare, aborted': () => asyncError(bcrypt.compare(PW, BAD_HASH, { signal: AbortSignal.abort() })),
    'genSalt, rounds not a number': () => callbackError((cb) => bcrypt.genSalt(BAD_SALT, cb)),
  }
  for (const [what, run] of Object.entries(cases)) assertClean(await run(), what)
})

test('an abort while the job runs, and a full queue', async () => {
  const controller = new AbortController()
  const running = bcrypt.hash(PW, '$2b$20$CCCCCCCCCCCCCCCCCCCCC.', { signal: controller.signal })
  controller.abort()
  assertClean(await asyncError(running), 'hash, aborted while queued or running')
  // The pool drops that job at its next step; until then it holds a lane.
  await until(() => bcrypt.stats().running + bcrypt.stats().queued === 0)

  bcrypt.configure({ maxQueue: 0 })
  try {
    const release = await occupyAllLanes(bcrypt)
    assertClean(await asyncError(bcrypt.hash(PW, FAST)), 'hash, queue full')
    assertClean(await asyncError(bcrypt.compare(PW, `${FAST}${'x'.repeat(31)}`)), 'compare, queue full')
    await release()
  } finally {
    bcrypt.configure({ maxQueue: Infinity })
  }
})
