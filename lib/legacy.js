'use strict'

// Legacy password digests: unsalted MD5 or SHA-1 hex, as older systems stored them, and the form
// `rehash-db` (lib/cli/rehash-db.js) wraps them in. The passwords are not known when a table is
// moved onto bcrypt, so the digest itself is hashed: the row then holds `md5:` or `sha1:` followed by
// bcrypt(digest hex), and a login checks bcrypt.compare(md5hex(password), …) (`compareLegacy`), after
// which the app should store a plain bcrypt(password): the one moment it has the password.

const crypto = require('node:crypto')

const MARKERS = { 32: 'md5', 40: 'sha1' }
const HEX = /^[0-9a-f]+$/i

/** `'md5'` or `'sha1'` for an unsalted hex digest of that length; `undefined` otherwise. */
const legacyKind = (value) => (typeof value === 'string' && HEX.test(value) ? MARKERS[value.length] : undefined)

/** The stored form of a legacy digest once wrapped: `md5:` or `sha1:` and bcrypt(hex). */
const wrap = (kind, bcryptHash) => `${kind}:${bcryptHash}`

/**
 * Checks `password` against a stored value of any kind `rehash-db` leaves: a plain bcrypt hash, a
 * wrapped digest (`md5:$2b$…`), or a digest not yet wrapped (compared in constant time).
 * `bcrypt` is the package, or a queue client. Resolves `{ ok, upgrade }`: `upgrade` is true when
 * the row should now get a plain bcrypt(password).
 */
async function compareLegacy(bcrypt, password, stored) {
  const wrapped = /^(md5|sha1):(\$2.*)$/.exec(stored)
  if (wrapped) {
    const digest = crypto.createHash(wrapped[1]).update(password).digest('hex')
    return { ok: await bcrypt.compare(digest, wrapped[2]), upgrade: true }
  }
  const kind = legacyKind(stored)
  if (kind) {
    const digest = crypto.createHash(kind).update(password).digest()
    const ok = crypto.timingSafeEqual(digest, Buffer.from(stored, 'hex'))
    return { ok, upgrade: true }
  }
  return { ok: await bcrypt.compare(password, stored), upgrade: false }
}

module.exports = { legacyKind, wrap, compareLegacy }
