'use strict'

// The addon in worker threads and at exit: one process-wide pool serves every JS environment,
// and an environment that goes away with jobs in flight takes nothing down with it.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Worker } = require('node:worker_threads')
const { spawnSync } = require('node:child_process')
const { until } = require('./pool-helpers.js')

const entry = JSON.stringify(require.resolve('..'))

test('several worker threads hash at once, each getting its own answers', async () => {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const b = require(${entry})
    const salt = '$2b$04$CCCCCCCCCCCCCCCCCCCCC.'
    Promise.all(Array.from({ length: 20 }, (_, i) => b.hash(workerData + ':' + i, salt)))
      .then((hashes) => parentPort.postMessage(hashes.every((h, i) => h === b.hashSync(workerData + ':' + i, salt))))
  `
  const results = await Promise.all(
    [0, 1, 2, 3].map((id) => new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: `worker ${id}` })
      w.once('message', resolve)
      w.once('error', reject)
    })),
  )
  assert.deepEqual(results, [true, true, true, true])
})

test('terminating a worker drops its jobs, crashes nothing, and the pool keeps serving', async () => {
  const bcrypt = require('..')
  // Cost 16 takes seconds a hash: none of these can finish before the worker is gone, and without
  // the teardown hook the pool would spend minutes on them.
  const code = `
    const { parentPort } = require('node:worker_threads')
    const b = require(${entry})
    for (let i = 0; i < 30; i++) b.hash('doomed ' + i, 16).catch(() => {})
    parentPort.postMessage('queued')
  `
  const before = bcrypt.stats()
  for (let round = 0; round < 3; round++) {
    const w = new Worker(code, { eval: true })
    await new Promise((resolve) => w.once('message', resolve))
    await w.terminate()
  }
  // Wait for all 90 to be settled one way or the other, then see which way.
  const settled = (s) => s.cancelled - before.cancelled + (s.completed - before.completed)
  await until(() => settled(bcrypt.stats()) >= 90)
  const now = bcrypt.stats()
  assert.equal(now.cancelled - before.cancelled, 90)
  assert.equal(now.completed - before.completed, 0)
  const h = await bcrypt.hash('still here', 4)
  assert.equal(await bcrypt.compare('still here', h), true)
})

test('process.exit() with jobs queued exits at once and cleanly', () => {
  const r = spawnSync(process.execPath, ['-e', `
    const b = require(${entry})
    for (let i = 0; i < 50; i++) b.hash('x' + i, 14)
    // Exits once jobs are both in lanes and waiting for one (a pool that never took any would keep
    // this polling until spawnSync's timeout).
    const exitWhenBusy = () => {
      const s = b.stats()
      if (s.running > 0 && s.queued > 0) process.exit(7)
      setImmediate(exitWhenBusy)
    }
    exitWhenBusy()
  `], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(r.status, 7, r.stderr)
  assert.equal(r.signal, null)
})

test('a natural exit waits for pending promises, then ends', () => {
  const r = spawnSync(process.execPath, ['-e', `
    const b = require(${entry})
    b.hash('last words', 6).then((h) => console.log(h.length))
  `], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(r.status, 0, r.stderr)
  assert.equal(r.stdout.trim(), '60')
})
