'use strict'

// The package's entry point: the API (lib/api.js) over the native binding that `napi build`
// generates (binding.js loads the addon built for this platform).

const { createBcrypt } = require('./lib/api.js')

module.exports = createBcrypt(require('./binding.js'))
