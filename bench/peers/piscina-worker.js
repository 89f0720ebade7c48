'use strict'

// A peer for the k6 comparison (demo backend `piscina`): bcryptjs, run the way a team would take it
// off the event loop with a worker pool. Each task runs bcryptjs's sync calls on a piscina worker
// thread; piscina (defaults: up to 1.5 threads per core) queues the rest.

const bcrypt = require('bcryptjs')

module.exports = {
  hash: ({ password, cost }) => bcrypt.hashSync(password, cost),
  compare: ({ password, hash }) => bcrypt.compareSync(password, hash),
}
