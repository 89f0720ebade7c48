'use strict'

// The demo's password policy (bcrypt-offload/passwords), switchable while it runs: bcrypt at the
// demo's cost, or argon2id at OWASP's parameters. Registrations hash with the policy in force;
// each login verifies whatever the account has stored and, when that is not what the policy makes
// today, stores a new hash (demo/app.js), so that switching moves accounts over one login at a
// time, with no flag day. GET /policy counts the accounts on each format; POST /policy switches.
// With WORKERS above 1 each process has its own switch.

const express = require('express')

const { createPasswords } = require('../passwords.js')

/** The policies the demo offers, by name (PASSWORD_POLICY, the page's control). */
const policies = (cost) => ({
  bcrypt: { algorithm: 'bcrypt', cost },
  // OWASP's Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1 (passwords' defaults).
  argon2id: { algorithm: 'argon2id' },
})

/**
 * @param {object} o
 * @param {string} [o.initial] 'bcrypt' (default) or 'argon2id'
 * @param {number} o.cost the bcrypt policy's cost
 * @param {{ hashes(): Iterable<string> }} o.users the accounts, for the counts
 * @param {ReturnType<import('./ops').opCounter>} [o.ops] counts the hashes and verifies for the page
 */
function createPolicySwitch({ initial = 'bcrypt', cost, users, ops }) {
  const choices = policies(cost)
  const made = new Map()
  const passwordsOf = (name) => {
    if (!made.has(name)) {
      const passwords = createPasswords(choices[name])
      const count = ops ? ops.counting : (fn) => fn
      made.set(name, {
        ...passwords,
        hash: count(passwords.hash, 'hashes'),
        verify: count(passwords.verify, 'compares'),
        verifyUnknown: count(passwords.verifyUnknown, 'compares'),
      })
    }
    return made.get(name)
  }
  const check = (name) => {
    if (typeof name !== 'string' || !Object.hasOwn(choices, name)) {
      const err = new Error(`the policy must be one of ${Object.keys(choices).join(', ')}`)
      err.status = 400
      throw err
    }
    return name
  }
  let name = check(initial)

  /** Accounts by stored format, each with how many of them are what the policy makes today. */
  function counts() {
    const passwords = passwordsOf(name)
    const formats = {}
    let current = 0
    let total = 0
    for (const stored of users.hashes()) {
      const format = (formats[passwords.formatOf(stored) ?? 'unreadable'] ??= { accounts: 0, current: 0 })
      const now = !passwords.needsRehash(stored)
      format.accounts++
      format.current += now
      current += now
      total++
    }
    return { total, current, formats }
  }

  const describe = () => ({ name, policy: passwordsOf(name).policy, choices: Object.keys(choices), accounts: counts() })

  const router = express.Router()
  router.get('/policy', (req, res) => res.json(describe()))
  router.post('/policy', (req, res) => {
    name = check(req.body?.name)
    res.json(describe())
  })

  return {
    /** The passwords module of the policy in force. */
    current: () => passwordsOf(name),
    name: () => name,
    router,
  }
}

module.exports = { createPolicySwitch, policies }
