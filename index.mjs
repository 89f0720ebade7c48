// ES module entry: the same instance as `require('bcrypt-offload')`, with named exports.
import bcrypt from './index.js'

export default bcrypt
export const {
  genSaltSync,
  genSalt,
  hashSync,
  hash,
  compareSync,
  compare,
  getRounds,
  getSalt,
  truncates,
  configure,
  stats,
} = bcrypt
