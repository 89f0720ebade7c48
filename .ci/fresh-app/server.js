'use strict'

// A user's Express app, as a new project would write it against the installed tarball: register and
// login over HTTP, the hash checked against a published vector, and the ESM, promises and type
// entry points present. Exits 0 only if all of it works.

const assert = require('node:assert/strict')
const express = require('express')
const bcrypt = require('bcrypt-offload')

// From OpenBSD's regress suite for bcrypt(3), as also used by node.bcrypt.js's tests.
const VECTOR = ['U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW']

const users = new Map()
const app = express()
app.use(express.json())
app.post('/register', async (req, res) => {
  users.set(req.body.name, await bcrypt.hash(req.body.password, 8))
  res.status(201).end()
})
app.post('/login', async (req, res) => {
  const stored = users.get(req.body.name)
  res.status(stored && (await bcrypt.compare(req.body.password, stored)) ? 200 : 401).end()
})

async function main() {
  assert.equal(bcrypt.hashSync(VECTOR[0], VECTOR[1].slice(0, 29)), VECTOR[1])
  assert.equal(await bcrypt.compare(VECTOR[0], VECTOR[1]), true)
  const esm = await import('bcrypt-offload')
  assert.equal(typeof esm.default.hash, 'function')
  assert.equal(typeof esm.compare, 'function')
  assert.equal(typeof require('bcrypt-offload/promises').use, 'function')
  assert.ok(require('bcrypt-offload/package.json').types)
  // argon2id: the reference implementation's test vector (phc-winner-argon2's test.c: "password",
  // "somesalt", m=2^16, t=2, p=1), and passwords reading it and upgrading a bcrypt hash.
  const argon2 = require('bcrypt-offload/argon2')
  const ARGON2_VECTOR = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc'
  const argon2Options = { type: argon2.argon2id, memoryCost: 65536, timeCost: 2, parallelism: 1, salt: Buffer.from('somesalt') }
  assert.equal(await argon2.hash('password', argon2Options), ARGON2_VECTOR)
  assert.equal(await argon2.verify(ARGON2_VECTOR, 'password'), true)
  const passwords = require('bcrypt-offload/passwords').createPasswords({ algorithm: 'argon2id' })
  assert.deepEqual(await passwords.verify(VECTOR[0], VECTOR[1]), { ok: true, needsRehash: true })
  assert.equal((await passwords.verify('password', ARGON2_VECTOR)).ok, true)
  // The queue tier's peers (bullmq, ioredis) are optional: not installed here, and named when needed.
  const queue = require('bcrypt-offload/queue')
  assert.throws(() => queue.connect({ redis: 'redis://127.0.0.1:6379', key: queue.newKey() }), { code: 'ERR_BCRYPT_QUEUE_DEPENDENCIES' })

  const server = app.listen(0)
  await new Promise((resolve) => server.once('listening', resolve))
  const base = `http://127.0.0.1:${server.address().port}`
  const post = (route, body) =>
    fetch(base + route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  assert.equal((await post('/register', { name: 'ada', password: 'correct horse' })).status, 201)
  assert.equal((await post('/login', { name: 'ada', password: 'correct horse' })).status, 200)
  assert.equal((await post('/login', { name: 'ada', password: 'wrong horse' })).status, 401)
  server.close()
  console.log(`fresh app: OK (bcrypt-offload from ${require.resolve('bcrypt-offload')})`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
