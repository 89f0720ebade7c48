'use strict'

// The tier's operations as the local pool computes them from what a request carries (`data`, the
// setting string, `{ cancellation, schedule }`): bcrypt's Backend (lib/api.js) and argon2's
// (lib/argon2/api.js), whose settings travel as strings (envelope.js). The worker runs a request's
// operation here; so does a client's local fallback, from the same setting it would have sealed.

const binding = require('../../binding.js')
const { localBackend } = require('../api.js')
const { localArgon2Backend } = require('../argon2/api.js')
const { argon2Job } = require('./envelope.js')

const bcrypt = localBackend(binding)
const argon2 = localArgon2Backend(binding)

const OPERATIONS = {
  hash: (data, setting, call) => bcrypt.hash(data, setting, call),
  compare: (data, setting, call) => bcrypt.compare(data, setting, call),
  compareUnknown: (data, setting, call) => bcrypt.compareUnknown(data, Number(setting), call),
  argon2Hash: (data, setting, call) => argon2.hash(data, argon2Job(setting), call),
  argon2HashRaw: (data, setting, call) => argon2.hashRaw(data, argon2Job(setting), call),
  argon2Verify: (data, setting, call) => {
    const { digest, secret } = argon2Job(setting)
    return argon2.verify(digest, data, secret, call)
  },
}

/** `op` (a name envelope.js opened) computed on this process's pool. */
const run = (op, data, setting, call) => OPERATIONS[op](data, setting, call)

module.exports = { run }
