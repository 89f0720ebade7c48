'use strict'

// bcrypt-offload/argon2: argon2 (a drop-in for the `argon2` package) on the package's own pool.
// The API is lib/argon2/api.js over the native binding that `napi build` generates.

const { createArgon2 } = require('./lib/argon2/api.js')

module.exports = createArgon2(require('./binding.js'))
