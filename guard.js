'use strict'

// `bcrypt-offload/guard`: password logins by OWASP's device cookies ("Slow Down Online Guessing
// Attacks with Device Cookies"), scheduled on bcrypt-offload's pool so that returning users' logins
// stay fast while guesses flood in. Types and documentation: guard.d.ts. The code: lib/guard/.

const { createGuard } = require('./lib/guard/guard.js')
const { memoryStore } = require('./lib/guard/lockout.js')

module.exports = { createGuard, memoryStore }
