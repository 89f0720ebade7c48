'use strict'

// `bcrypt-offload/queue`: the hashing tier past one machine. Callers `connect()` and get `hash`,
// `compare` and `compareUnknown` as the package has them, computed by workers (`startWorker()`, or
// `npx bcrypt-offload worker`) that share Redis and a key. Needs the optional peers bullmq and
// ioredis. `compareLegacy` checks logins against what `rehash-db` leaves. See docs/queue.md.

const { connect } = require('./lib/queue/client.js')
const { startWorker } = require('./lib/queue/worker.js')
const { newKey } = require('./lib/queue/envelope.js')
const { compareLegacy } = require('./lib/legacy.js')

module.exports = { connect, startWorker, newKey, compareLegacy }
