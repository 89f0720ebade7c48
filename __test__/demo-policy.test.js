'use strict'

// The demo's password policy (demo/policy.js, demo/app.js, demo/guard.js), through supertest:
// accounts registered under bcrypt, the policy switched to argon2id, and each login through the
// guard upgrading that account's stored hash (and only after a right password); imported Django
// and Better Auth hashes upgraded the same way; GET /policy's counts by format along the way.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const request = require('supertest')

const { createApp } = require('../demo/app')
const { openUsers } = require('../demo/users')
const backends = require('../demo/backends')
const { createPolicySwitch } = require('../demo/policy')

const post = (app, route, body) => request(app).post(route).set('content-type', 'application/json').send(body)
const formats = async (app) => (await request(app).get('/policy').expect(200)).body.accounts.formats

function start(initial) {
  const users = openUsers()
  const policy = createPolicySwitch({ initial, cost: 4, users })
  const app = createApp({ users, backend: backends.load('offload'), cost: 4, policy })
  return { app, users }
}

test('switching bcrypt → argon2id: each right login upgrades its account, the page counts them', async () => {
  const { app, users } = start('bcrypt')
  for (const name of ['ann', 'bob']) await post(app, '/register', { username: name, password: `${name} pw` }).expect(201)
  assert.match(users.hashOf('ann'), /^\$2b\$04\$/)
  assert.deepEqual(await formats(app), { bcrypt: { accounts: 2, current: 2 } })

  const switched = await post(app, '/policy', { name: 'argon2id' }).expect(200)
  assert.equal(switched.body.name, 'argon2id')
  assert.deepEqual(switched.body.policy, { algorithm: 'argon2id', memoryCost: 19456, timeCost: 2, parallelism: 1 })
  assert.deepEqual(switched.body.accounts, { total: 2, current: 0, formats: { bcrypt: { accounts: 2, current: 0 } } })

  // A wrong password changes nothing.
  const before = users.hashOf('ann')
  await post(app, '/login', { username: 'ann', password: 'wrong' }).expect(401)
  assert.equal(users.hashOf('ann'), before)

  await post(app, '/login', { username: 'ann', password: 'ann pw' }).expect(200)
  const upgraded = users.hashOf('ann')
  assert.match(upgraded, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  assert.deepEqual(await formats(app), { bcrypt: { accounts: 1, current: 0 }, argon2id: { accounts: 1, current: 1 } })

  // The new hash verifies, and is not replaced again.
  await post(app, '/login', { username: 'ann', password: 'ann pw' }).expect(200)
  assert.equal(users.hashOf('ann'), upgraded)
  await post(app, '/login', { username: 'ann', password: 'bob pw' }).expect(401)

  // New accounts are argon2id at once; an unknown name is still a 401.
  await post(app, '/register', { username: 'cy', password: 'cy pw' }).expect(201)
  assert.match(users.hashOf('cy'), /^\$argon2id\$/)
  await post(app, '/login', { username: 'nobody', password: 'cy pw' }).expect(401)

  // And back: bcrypt at the demo's cost again, on the next login.
  await post(app, '/policy', { name: 'bcrypt' }).expect(200)
  await post(app, '/login', { username: 'ann', password: 'ann pw' }).expect(200)
  assert.match(users.hashOf('ann'), /^\$2b\$04\$/)
  users.close()
})

test('imported Django and Better Auth hashes log in and move to the policy', async () => {
  const { app, users } = start('argon2id')
  const django = `pbkdf2_sha256$1000$salt$${crypto.pbkdf2Sync('dj pw', 'salt', 1000, 32, 'sha256').toString('base64')}`
  const saltHex = crypto.randomBytes(16).toString('hex')
  const key = crypto.scryptSync('ba pw', saltHex, 64, { N: 16384, r: 16, p: 1, maxmem: 2 ** 26 })
  users.add('dj', django)
  users.add('ba', `${saltHex}:${key.toString('hex')}`)
  users.add('junk', 'not a hash')
  assert.deepEqual(await formats(app), {
    'django-pbkdf2-sha256': { accounts: 1, current: 0 },
    'better-auth-scrypt': { accounts: 1, current: 0 },
    unreadable: { accounts: 1, current: 0 },
  })
  await post(app, '/login', { username: 'dj', password: 'dj pw' }).expect(200)
  await post(app, '/login', { username: 'ba', password: 'ba pw' }).expect(200)
  // An unreadable stored value is a 401 like a wrong password, and stays as it is.
  await post(app, '/login', { username: 'junk', password: 'not a hash' }).expect(401)
  assert.deepEqual(await formats(app), { argon2id: { accounts: 2, current: 2 }, unreadable: { accounts: 1, current: 0 } })
  users.close()
})

test('POST /policy takes only the policies on offer', async () => {
  const { app, users } = start('bcrypt')
  for (const body of [{ name: 'argon2i' }, { name: 'toString' }, {}, { name: ['bcrypt'] }]) {
    const res = await post(app, '/policy', body).expect(400)
    assert.match(res.body.error, /bcrypt, argon2id/)
  }
  assert.equal((await request(app).get('/policy').expect(200)).body.name, 'bcrypt')
  assert.throws(() => createPolicySwitch({ initial: 'md5', cost: 4, users }), /bcrypt, argon2id/)
  users.close()
})
