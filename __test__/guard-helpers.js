'use strict'

// What the guard's unit tests share: a fake bcrypt that records every call (as facade.test.js
// drives the facade with a fake binding), keys, and a guard over the fake.

const { createGuard } = require('../guard.js')

const KEY = Buffer.alloc(32, 1)
const OLD_KEY = Buffer.alloc(32, 2)
const OTHER_KEY = Buffer.alloc(32, 3)

// The fake's stored hash for a password: compare() is true when hash === hashOf(password).
const hashOf = (password) => `fake-hash:${password}`

/**
 * A bcrypt with compare() and compareUnknown() that records its calls ({ fn, data, hash, options },
 * the signal left out of options so that tests can compare them whole). `refuse(err)` makes every
 * call reject with err until `refuse(null)`; `hold()` keeps calls pending until `release()`.
 */
function fakeBcrypt() {
  const calls = []
  let refusal = null
  let held = null
  const record = (call) => {
    const { signal, ...options } = call.options
    calls.push({ ...call, options, signal })
  }
  const settle = async (value) => {
    if (held) await held.promise
    if (refusal) throw refusal
    return value
  }
  return {
    calls,
    refuse(err) {
      refusal = err
    },
    hold() {
      let release
      held = { promise: new Promise((resolve) => (release = resolve)) }
      held.release = release
    },
    release() {
      const h = held
      held = null
      h?.release()
    },
    compare(data, hash, options) {
      record({ fn: 'compare', data, hash, options })
      return settle(hash === hashOf(data))
    },
    compareUnknown(data, options) {
      record({ fn: 'compareUnknown', data, options })
      return settle(false)
    },
  }
}

function makeGuard(options = {}) {
  const bcrypt = options.bcrypt ?? fakeBcrypt()
  const guard = createGuard({ keys: [KEY], ...options, bcrypt })
  return { guard, bcrypt }
}

/** The cookie's value in a Set-Cookie header. */
const cookieValue = (setCookie) => /^[^=]+=([^;]*)/.exec(setCookie)[1]

const poolError = (code, facts = {}) => Object.assign(new Error(code), { code, ...facts })

module.exports = { KEY, OLD_KEY, OTHER_KEY, hashOf, fakeBcrypt, makeGuard, cookieValue, poolError }
