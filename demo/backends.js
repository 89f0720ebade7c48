'use strict'

// The bcrypt implementations the demo can run on (BCRYPT_BACKEND), behind one interface, so that
// the k6 comparison runs the very same app on each.

// This package's surface, local or the tier's client (they are the same facade), as the app calls it.
// `schedule` is the scheduler's { priority, key, timeout } (the login guard's, demo/guard.js), which
// the tier carries to its workers' pools; the other packages have no scheduler and ignore it.
const ours = (b) => ({
  hash: (password, cost, signal, schedule) => b.hash(password, cost, { ...schedule, signal }),
  compare: (password, hash, signal, schedule) => b.compare(password, hash, { ...schedule, signal }),
  compareUnknown: (password, rounds, signal, schedule) => b.compareUnknown(password, { ...schedule, rounds, signal }),
  needsRehash: (hash, cost) => b.needsRehash(hash, { rounds: cost }),
})

function load(name) {
  switch (name) {
    case 'offload': {
      const b = require('..')
      return { ...ours(b), stats: () => b.stats() }
    }
    // The hashing tier (bcrypt-offload/queue): workers elsewhere, reached through Redis
    // (BCRYPT_OFFLOAD_REDIS, BCRYPT_OFFLOAD_QUEUE_KEY). `npm run demo:cluster` sets it all up.
    case 'queue': {
      const b = require('../queue.js').connect({ maxWaiting: Number(process.env.MAX_WAITING ?? 1000) })
      return { ...ours(b), queueStats: () => b.stats(), close: () => b.close() }
    }
    case 'bcrypt': {
      const b = require('bcrypt')
      return { hash: (p, cost) => b.hash(p, cost), compare: (p, h) => b.compare(p, h) }
    }
    case 'bcryptjs': {
      const b = require('bcryptjs')
      return { hash: (p, cost) => b.hash(p, cost), compare: (p, h) => b.compare(p, h) }
    }
    // As most tutorials write it: the whole hash on the event loop.
    case 'bcryptjs-sync': {
      const b = require('bcryptjs')
      return { hash: async (p, cost) => b.hashSync(p, cost), compare: async (p, h) => b.compareSync(p, h) }
    }
    case 'node-rs': {
      const b = require('@node-rs/bcrypt')
      return { hash: (p, cost) => b.hash(p, { cost }), compare: (p, h) => b.verify(p, h) }
    }
    // The benchmarks' own peers (bench/peers/backends.js: piscina, the microservice), which the
    // demo serves for `npm run bench:architectures` but does not show.
    default:
      return require('../bench/peers/backends.js').load(name)
  }
}

// What each one is, for the demo page's backend choice.
const titles = {
  offload: 'bcrypt-offload (this package: its own thread pool)',
  bcrypt: 'bcrypt (native, on the libuv threadpool)',
  'bcryptjs-sync': 'bcryptjs, sync calls (on the event loop)',
  bcryptjs: 'bcryptjs, async calls (sliced, on the event loop)',
  'node-rs': '@node-rs/bcrypt (native, on the libuv threadpool)',
}

module.exports = { load, names: Object.keys(titles), titles }
