'use strict'

// The bcrypt implementations the demo can run on (BCRYPT_BACKEND), behind one interface, so that
// the k6 comparison runs the very same app on each.

function load(name) {
  switch (name) {
    case 'offload': {
      const b = require('..')
      return {
        hash: (password, cost, signal) => b.hash(password, cost, { signal }),
        compare: (password, hash, signal) => b.compare(password, hash, { signal }),
        needsRehash: (hash, cost) => b.needsRehash(hash, { rounds: cost }),
        stats: () => b.stats(),
      }
    }
    // The hashing tier (bcrypt-offload/queue): workers elsewhere, reached through Redis
    // (BCRYPT_OFFLOAD_REDIS, BCRYPT_OFFLOAD_QUEUE_KEY). `npm run demo:cluster` sets it all up.
    case 'queue': {
      const b = require('../queue.js').connect({ maxWaiting: Number(process.env.MAX_WAITING ?? 1000) })
      return {
        hash: (password, cost, signal) => b.hash(password, cost, { signal }),
        compare: (password, hash, signal) => b.compare(password, hash, { signal }),
        needsRehash: (hash, cost) => b.needsRehash(hash, { rounds: cost }),
        queueStats: () => b.stats(),
        close: () => b.close(),
      }
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
    default:
      throw new RangeError(`BCRYPT_BACKEND must be offload, queue, bcrypt, bcryptjs, bcryptjs-sync or node-rs; got ${name}`)
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
