'use strict'

// The queue tier's settings, checked before anything connects: no Redis is needed.

const test = require('node:test')
const assert = require('node:assert/strict')
const { randomBytes } = require('node:crypto')

const { connect, startWorker } = require('../queue.js')

test('settings: the key, the URL and the limits are checked before anything connects', () => {
  const redis = 'redis://127.0.0.1:1'
  const saved = process.env.BCRYPT_OFFLOAD_QUEUE_KEY
  delete process.env.BCRYPT_OFFLOAD_QUEUE_KEY
  try {
    const key = randomBytes(32)
    for (const [options, code, message] of [
      [{ redis }, 'ERR_BCRYPT_QUEUE_KEY', /got none/],
      [{ redis, key: randomBytes(16) }, 'ERR_BCRYPT_QUEUE_KEY', /got 16 bytes/],
      [{ redis, key: 'not base64!' }, 'ERR_BCRYPT_QUEUE_KEY', /not base64/],
      [{ redis: 'http://127.0.0.1', key }, 'ERR_INVALID_ARG_VALUE', /redis:\/\/ or rediss:\/\//],
      [{ redis: 'not a url', key }, 'ERR_INVALID_ARG_VALUE', /not a URL/],
      [{ redis, key, timeout: 0 }, 'ERR_OUT_OF_RANGE', /timeout/],
      [{ redis, key, maxWaiting: -1 }, 'ERR_OUT_OF_RANGE', /maxWaiting/],
      [{ redis, key, fallback: 'yes' }, 'ERR_OUT_OF_RANGE', /fallback/],
      [{ redis, key, compareFirst: 'yes' }, 'ERR_INVALID_ARG_TYPE', /compareFirst must be a boolean/],
      [{ redis, key, name: 'a:b' }, 'ERR_OUT_OF_RANGE', /name/],
    ]) {
      assert.throws(() => connect(options), (err) => err.code === code && message.test(err.message) && !err.message.includes(key.toString('base64')))
    }
    assert.throws(() => startWorker({ redis }), { code: 'ERR_BCRYPT_QUEUE_KEY' })
    process.env.BCRYPT_OFFLOAD_QUEUE_KEY = key.toString('base64')
    assert.throws(() => connect({ redis: 'http://x' }), { code: 'ERR_INVALID_ARG_VALUE' })
  } finally {
    if (saved === undefined) delete process.env.BCRYPT_OFFLOAD_QUEUE_KEY
    else process.env.BCRYPT_OFFLOAD_QUEUE_KEY = saved
  }
  const { optionsFromUrl } = require('../lib/queue/redis.js')
  const o = optionsFromUrl('rediss://user:p%40ss@cache.internal:6380/2', { tls: { ca: 'CA' } }, () => new Error())
  assert.deepEqual(
    { host: o.host, port: o.port, db: o.db, username: o.username, password: o.password, tls: o.tls },
    { host: 'cache.internal', port: 6380, db: 2, username: 'user', password: 'p@ss', tls: { servername: 'cache.internal', ca: 'CA' } },
  )
  assert.equal(optionsFromUrl('redis://[::1]:7000', {}, () => new Error()).host, '::1')
})

test('a worker whose pool cannot start says so through onError, not as an unhandled rejection', { timeout: 30_000 }, async (t) => {
  const bcrypt = require('..')
  if (bcrypt.stats().lanesSource !== 'provisional') return t.skip('the pool has started: the worker would not warm it up')
  const hash = bcrypt.hash
  bcrypt.hash = () => Promise.reject(new Error('no pool thread'))
  const reported = []
  const unhandled = []
  const onUnhandled = (reason) => unhandled.push(reason?.message)
  process.on('unhandledRejection', onUnhandled)
  const worker = startWorker({ redis: 'redis://127.0.0.1:1', key: randomBytes(32), onError: (err) => reported.push(err.message) })
  try {
    while (!reported.includes('no pool thread') && unhandled.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.deepEqual(unhandled, [])
  } finally {
    process.off('unhandledRejection', onUnhandled)
    bcrypt.hash = hash
    await worker.close({ graceMs: 100 })
  }
})
