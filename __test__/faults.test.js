'use strict'

// A panic in Rust, on the pool and on the calling thread. The addon is rebuilt with the
// `fault-injection` feature, in which a password starting with "!panic!!" makes the kernel panic
// halfway through its key schedule (kernel::FAULT_PASSWORD); the facade is then made over that
// build with createBcrypt, so that what a user would see is what is tested. The pool's own handling
// of a panic is tested in Rust (pool::tests); this is the one test of it end to end.

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')
const util = require('node:util')
const bcryptjs = require('bcryptjs')
const { occupyAllLanes } = require('./pool-helpers.js')
const { createBcrypt } = require('../lib/api.js')

const root = path.join(__dirname, '..')
const FAULT = '!panic!!'

let bcrypt
test.before(() => {
  // The napi CLI names the addon (no platform suffix without --platform) and writes no loader; its
  // type output goes beside the addon, out of the way.
  const out = path.join('target', 'fault-injection')
  const cli = require.resolve('@napi-rs/cli/package.json')
  const napi = path.join(path.dirname(cli), require(cli).bin.napi)
  execFileSync(process.execPath, [napi, 'build', '--profile', 'fault-injection', '--features', 'node,fault-injection', '--output-dir', out, '--dts', 'faults.d.ts'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  bcrypt = createBcrypt(require(path.join(root, out, 'bcrypt-offload.node')))
  // One pool thread: every job then shares its steps with whatever else runs, the faulty ones too.
  bcrypt.configure({ threads: 1 })
})

// The password must not show in the error either.
const isInternal = (err) =>
  err instanceof Error &&
  err.code === 'ERR_BCRYPT_INTERNAL' &&
  /a bug/.test(err.message) &&
  !util.inspect(err, { showHidden: true }).includes(FAULT)

test('a panic in a batch rejects that one promise; its neighbours still get right answers', async () => {
  const salt = '$2b$06$abcdefghijklmnopqrstuu'
  const passwords = Array.from({ length: 24 }, (_, i) => (i % 8 === 3 ? `${FAULT} ${i}` : `neighbour ${i}`))
  const settled = await Promise.allSettled(passwords.map((pw) => bcrypt.hash(pw, salt)))
  settled.forEach((s, i) => {
    if (passwords[i].startsWith(FAULT)) {
      assert.equal(s.status, 'rejected', `job ${i}`)
      assert.ok(isInternal(s.reason), `job ${i}: ${s.reason}`)
    } else {
      assert.equal(s.status, 'fulfilled', `job ${i}: ${s.reason}`)
      assert.equal(s.value, bcryptjs.hashSync(passwords[i], salt), `job ${i}`)
    }
  })
  const stats = bcrypt.stats()
  assert.equal(stats.running + stats.queued, 0)
})

test('compare and the callback form report the panic the same way', async () => {
  const stored = bcryptjs.hashSync('whatever', 5)
  await assert.rejects(bcrypt.compare(FAULT, stored), isInternal)
  const err = await new Promise((resolve) => bcrypt.hash(FAULT, 5, (e) => resolve(e)))
  assert.ok(isInternal(err), String(err))
})

test('a panic on the calling thread throws a clean error', () => {
  assert.throws(() => bcrypt.hashSync(FAULT, 4), isInternal)
  assert.throws(() => bcrypt.compareSync(FAULT, bcryptjs.hashSync('x', 4)), isInternal)
})

test('after the panics the pool keeps serving, every lane of it', async () => {
  const { threads, lanesPerThread } = bcrypt.stats()
  assert.equal(threads, 1)
  // Every lane must take a job: a thread that had died would leave this waiting until the test
  // runner's timeout.
  const release = await occupyAllLanes(bcrypt)
  await release()

  const n = 4 * lanesPerThread
  const hashes = await Promise.all(Array.from({ length: n }, (_, i) => bcrypt.hash(`after ${i}`, 4)))
  const ok = await Promise.all(hashes.map((h, i) => bcrypt.compare(`after ${i}`, h)))
  assert.deepEqual(ok, Array(n).fill(true))
  assert.ok(hashes.every((h, i) => bcryptjs.compareSync(`after ${i}`, h)))
})
