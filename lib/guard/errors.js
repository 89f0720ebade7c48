'use strict'

// The errors of bcrypt-offload/guard, in one table as lib/errors.js keeps the package's: class,
// Node-style `code`, message. A message names the option or field and what it must be, and at most
// the type or the byte length it got: never a value, since the values here are passwords, keys and
// cookies.

const ERRORS = {
  Type: [TypeError, 'ERR_INVALID_ARG_TYPE', (what, expected, got) => `${what} must be ${expected}; got ${got}`],
  Value: [TypeError, 'ERR_INVALID_ARG_VALUE', (what, expected) => `${what} must be ${expected}`],
  Range: [RangeError, 'ERR_OUT_OF_RANGE', (what, expected, got) => `${what} must be ${expected}${got === undefined ? '' : `; got ${got}`}`],
}

/** What a value is, in words that never include the value itself. */
function kind(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (ArrayBuffer.isView(value)) return `a ${value.constructor?.name ?? 'typed array'}`
  const type = typeof value
  return type === 'undefined' ? 'undefined' : `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`
}

function error(name, ...facts) {
  const [Class, code, message] = ERRORS[name]
  const err = new Class(message(...facts))
  err.code = code
  return err
}

/** `what` must be `expected` but is of another type. */
const typeError = (what, expected, value) => error('Type', what, expected, kind(value))
/** `what` has the right type but a value outside the ones allowed (an unknown name, a bad format). */
const valueError = (what, expected) => error('Value', what, expected)
/** `what` is a number or a size outside its range; `got` is a number or a length, never a secret. */
const rangeError = (what, expected, got) => error('Range', what, expected, got)

module.exports = { typeError, valueError, rangeError, kind }
