'use strict'

// The tier's wrapped legacy digests: `md5:` or `sha1:` and bcrypt(hex digest of the password), the
// form `bcrypt-offload rehash-db` leaves unsalted MD5/SHA-1 rows in (lib/legacy.js says why). The
// check is lib/legacy.js's compareLegacy, with this call's schedule; such a row always wants a
// plain hash of the password once it is known.

const { compareLegacy } = require('../legacy.js')
const bcryptFormat = require('./bcrypt.js')
const { REASONS } = require('./errors.js')

const PREFIX = /^(md5|sha1):/

function parse(stored) {
  const prefix = PREFIX.exec(stored)
  if (!prefix) return undefined
  const inner = bcryptFormat.parse(stored.slice(prefix[0].length))
  if (!inner) return { reason: REASONS.MALFORMED }
  if (inner.reason) return inner
  return { format: `legacy-${prefix[1]}`, stored }
}

async function verify({ bcrypt }, password, parsed, schedule) {
  const scheduled = { compare: (digest, hash) => bcrypt.compare(digest, hash, schedule) }
  return (await compareLegacy(scheduled, password, parsed.stored)).ok
}

const current = () => false

module.exports = { parse, verify, current }
