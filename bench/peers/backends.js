'use strict'

// The architectures this package grew from, as backends of the demo app for
// `npm run bench:architectures` (bench/http/architectures.js starts demo/server.js with
// BCRYPT_BACKEND=piscina or microservice; demo/backends.js hands names it does not know here):
// bcryptjs on a piscina worker pool, and a Rust HTTP microservice (axum, rayon, the bcrypt crate;
// bench/peers/microservice/) at BCRYPT_MICROSERVICE_URL, called over local HTTP.

const path = require('node:path')

function load(name) {
  switch (name) {
    case 'piscina': {
      const { Piscina } = require('piscina')
      const pool = new Piscina({ filename: path.join(__dirname, 'piscina-worker.js') })
      return {
        hash: (password, cost) => pool.run({ password, cost }, { name: 'hash' }),
        compare: (password, hash) => pool.run({ password, hash }, { name: 'compare' }),
        close: () => pool.destroy(),
      }
    }
    case 'microservice': {
      const base = process.env.BCRYPT_MICROSERVICE_URL
      if (!base) throw new RangeError('BCRYPT_BACKEND=microservice needs BCRYPT_MICROSERVICE_URL')
      const post = async (route, body) => {
        const res = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
        if (!res.ok) throw new Error(`microservice ${route}: ${res.status} ${await res.text()}`)
        return res.json()
      }
      return {
        hash: async (password, cost) => (await post('/hash', { password, cost })).hash,
        compare: async (password, hash) => (await post('/compare', { password, hash })).ok,
      }
    }
    default:
      throw new RangeError(
        `BCRYPT_BACKEND must be offload, queue, bcrypt, bcryptjs, bcryptjs-sync, node-rs, or a benchmark's piscina or microservice; got ${name}`,
      )
  }
}

module.exports = { load }
