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
  compareUnknown,
  compareUnknownSync,
  getRounds,
  getSalt,
  truncates,
  needsRehash,
  calibrate,
  calibrateSync,
  configure,
  stats,
  AbortError,
} = bcrypt
