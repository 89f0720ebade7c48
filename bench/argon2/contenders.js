'use strict'

// The argon2id implementations bench/argon2.js compares, behind one shape: `hash(password)` makes
// a new hash at the benchmark's parameters (a fresh random salt, as an app's registration does),
// `raw(password, salt)` the 32-byte tag for a given salt, which the driver checks equal across
// all of them before anything is timed. Loaded in the child (bench/argon2/child.js) that measures
// it, so that each has a process, an RSS and a libuv pool of its own.

const crypto = require('node:crypto')

/** OWASP's Password Storage Cheat Sheet: argon2id, 19 MiB, 2 passes, 1 lane. */
const PARAMS = Object.freeze({ memoryCost: 19456, timeCost: 2, parallelism: 1, hashLength: 32 })

const phcTag = (phc) => Buffer.from(phc.slice(phc.lastIndexOf('$') + 1), 'base64')

const CONTENDERS = {
  'bcrypt-offload/argon2': () => {
    const ours = require('../../argon2.js')
    const options = { type: ours.argon2id, memoryCost: PARAMS.memoryCost, timeCost: PARAMS.timeCost, parallelism: PARAMS.parallelism, hashLength: PARAMS.hashLength }
    return {
      hash: (password) => ours.hash(password, options),
      raw: async (password, salt) => phcTag(await ours.hash(password, { ...options, salt })),
    }
  },
  argon2: () => {
    const argon2 = require('argon2')
    const options = { type: argon2.argon2id, memoryCost: PARAMS.memoryCost, timeCost: PARAMS.timeCost, parallelism: PARAMS.parallelism, hashLength: PARAMS.hashLength }
    return {
      hash: (password) => argon2.hash(password, options),
      raw: (password, salt) => argon2.hash(password, { ...options, salt, raw: true }),
    }
  },
  '@node-rs/argon2': () => {
    const nodeRs = require('@node-rs/argon2')
    // Algorithm.Argon2id is a const enum (2): not there at run time.
    const options = { algorithm: 2, memoryCost: PARAMS.memoryCost, timeCost: PARAMS.timeCost, parallelism: PARAMS.parallelism, outputLen: PARAMS.hashLength }
    return {
      hash: (password) => nodeRs.hash(password, options),
      raw: (password, salt) => nodeRs.hashRaw(password, { ...options, salt }),
    }
  },
  // Node 24.7+: raw bytes only (no PHC string), on libuv's threadpool.
  'crypto.argon2': () => {
    const run = (message, nonce) =>
      new Promise((resolve, reject) =>
        crypto.argon2(
          'argon2id',
          { message, nonce, parallelism: PARAMS.parallelism, tagLength: PARAMS.hashLength, memory: PARAMS.memoryCost, passes: PARAMS.timeCost },
          (err, tag) => (err ? reject(err) : resolve(tag)),
        ),
      )
    return { hash: (password) => run(password, crypto.randomBytes(16)), raw: run }
  },
}

module.exports = { CONTENDERS, PARAMS }
