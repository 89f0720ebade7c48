'use strict'

// Published test vectors from implementations we did not write; fixtures/vectors.json names the
// project, repository and file each one comes from. Passwords are hex, so NULs and non-UTF-8 bytes
// survive.

const test = require('node:test')
const assert = require('node:assert/strict')

const bcrypt = require('..')
const cBcrypt = require('bcrypt')
const { sources, vectors } = require('./fixtures/vectors.json')

test('the fixture covers what it must: three projects, $2y$, long, non-ASCII, empty', () => {
  assert.ok(Object.keys(sources).length >= 3)
  const passwords = vectors.map((v) => Buffer.from(v.password_hex, 'hex'))
  assert.ok(vectors.some((v) => v.hash.startsWith('$2y$')), 'no $2y$ vector')
  assert.ok(passwords.some((p) => p.length > 72), 'no vector over 72 bytes')
  assert.ok(passwords.some((p) => p.some((b) => b > 0x7f)), 'no non-ASCII vector')
  assert.ok(passwords.some((p) => p.length === 0), 'no empty password')
})

for (const [id, source] of Object.entries(sources)) {
  const mine = vectors.filter((v) => v.source === id)
  test(`${source.project}: ${source.repo}/${source.path} (${mine.length} vectors)`, async () => {
    assert.ok(mine.length > 0)
    for (const { password_hex: hex, hash, note, openbsd_differs: differs } of mine) {
      const password = Buffer.from(hex, 'hex')
      const label = `${hash} ${note ?? ''}`
      if (differs) {
        // crypt_blowfish's own $2a$ countermeasure for bytes >= 0x80, which OpenBSD's $2a$ (and so
        // bcrypt, and we) never had: we agree with bcrypt, and not with this hash.
        assert.equal(bcrypt.hashSync(password, hash), cBcrypt.hashSync(password, hash), label)
        assert.equal(bcrypt.compareSync(password, hash), false, label)
        continue
      }
      assert.equal(bcrypt.hashSync(password, hash), hash, label)
      assert.equal(bcrypt.compareSync(password, hash), true, label)
      assert.equal(await bcrypt.compare(password, hash), true, label)
      const wrong = password.length ? Buffer.from(password.map((b, i) => (i === 0 ? b ^ 1 : b))) : Buffer.from('x')
      assert.equal(await bcrypt.compare(wrong, hash), false, label)
    }
  })
}
