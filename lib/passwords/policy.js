'use strict'

// The policy: which hash `hash()` makes today, checked once when the module is created. Its
// defaults are OWASP's Password Storage Cheat Sheet's: argon2id with 19 MiB, 2 passes, 1 lane;
// bcrypt at cost 10, the package's own default.

const { error } = require('./errors.js')
const { MAX_U32, MAX_PARALLELISM, MAX_STORED_WORK } = require('./argon2.js')
const { MAX_STORED_COST } = require('./bcrypt.js')

const DEFAULTS = {
  argon2id: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
  bcrypt: { cost: 10 },
}

const isPlainObject = (value) => value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))

function integer(name, value, min, max) {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw error('OutOfRange', `policy.${name}`, `a whole number from ${min} to ${max}`, typeof value === 'number' ? value : typeof value)
  }
  return value
}

/** The policy, complete and frozen; a TypeError or RangeError with a code for anything else. */
function checkPolicy(policy) {
  if (!isPlainObject(policy)) throw error('NotPlainObject', 'policy')
  const { algorithm } = policy
  if (!Object.hasOwn(DEFAULTS, algorithm)) throw error('BadAlgorithm', typeof algorithm === 'string' ? JSON.stringify(algorithm) : typeof algorithm)
  // A name of the other algorithm (or a misspelt one) is a mistake worth hearing about now.
  for (const name of Object.keys(policy)) {
    if (name !== 'algorithm' && !Object.hasOwn(DEFAULTS[algorithm], name)) throw error('NotApplicable', name, algorithm)
  }
  const given = { ...DEFAULTS[algorithm], ...Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined)) }
  // The upper bounds are those verify() accepts in a stored hash: the policy's own hashes must
  // verify.
  if (algorithm === 'bcrypt') return Object.freeze({ algorithm, cost: integer('cost', given.cost, 4, MAX_STORED_COST) })
  // RFC 9106's lower bounds: one pass, at least 8 KiB per lane.
  const parallelism = integer('parallelism', given.parallelism, 1, MAX_PARALLELISM)
  const timeCost = integer('timeCost', given.timeCost, 1, Math.floor(MAX_STORED_WORK / (8 * parallelism)))
  const memoryCost = integer('memoryCost', given.memoryCost, 8 * parallelism, Math.min(MAX_U32, Math.floor(MAX_STORED_WORK / timeCost)))
  return Object.freeze({ algorithm, memoryCost, timeCost, parallelism })
}

module.exports = { checkPolicy, DEFAULTS }
