'use strict'

// bcrypt hashes as bcrypt and bcryptjs store them: `$2a$`, `$2b$` or `$2y$`, a two-digit cost,
// then 53 characters of bcrypt's base64 (22 of salt, 31 of hash). Checked by the package's own
// compare, on its pool.

const { REASONS } = require('./errors.js')

const SHAPE = /^\$2([aby])\$(\d\d)\$([./A-Za-z0-9]{53})$/

// A stored cost above this is refused (TOO_COSTLY) rather than computed: 2^20 rounds is a minute
// of one core at today's speeds, more than any login can wait, and a cost-31 value (a month of
// work) would hold a pool thread hostage. bcrypt's own minimum is 4.
const MAX_STORED_COST = 20

/** Undefined when `stored` is not a bcrypt hash; `{ reason }` when it is one that cannot be checked. */
function parse(stored) {
  if (!stored.startsWith('$2')) return undefined
  const match = SHAPE.exec(stored)
  if (!match) return { reason: REASONS.MALFORMED }
  const cost = Number(match[2])
  if (cost < 4) return { reason: REASONS.MALFORMED }
  if (cost > MAX_STORED_COST) return { reason: REASONS.TOO_COSTLY }
  return { format: 'bcrypt', minor: match[1], cost, hash: stored }
}

/** Whether `password` matches: bcrypt-offload's compare, scheduled as a login. */
const verify = ({ bcrypt }, password, parsed, schedule) => bcrypt.compare(password, parsed.hash, schedule)

/** Whether the policy makes this very kind of hash today: bcrypt, `$2b$`, its cost. */
const current = (parsed, policy) => policy.algorithm === 'bcrypt' && parsed.minor === 'b' && parsed.cost === policy.cost

module.exports = { parse, verify, current, MAX_STORED_COST }
