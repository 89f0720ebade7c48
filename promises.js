'use strict'

// bcrypt's `bcrypt/promises` module: `use(Impl)` makes the promise forms return promises of another
// implementation (Bluebird, say). Code that called it keeps working after the switch.

const Native = global.Promise
let Impl = Native

/** Calls `fn(...args, callback)` and returns a promise of what the callback receives. */
function promise(fn, context, args) {
  if (!Array.isArray(args)) args = Array.prototype.slice.call(args)
  if (typeof fn !== 'function') return Impl.reject(new Error('fn must be a function'))
  return new Impl((resolve, reject) => {
    args.push((err, data) => (err ? reject(err) : resolve(data)))
    fn.apply(context, args)
  })
}

function reject(err) {
  return Impl.reject(err)
}

/** Sets the Promise implementation the package returns. */
function use(impl) {
  Impl = impl
}

/** A native promise as one of the chosen implementation (the same object when that is native). */
function adopt(p) {
  return Impl === Native ? p : new Impl((resolve, reject) => p.then(resolve, reject))
}

module.exports = { promise, reject, use, adopt }
