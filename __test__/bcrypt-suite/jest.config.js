// Runs the `bcrypt` package's own jest suite, as shipped in its npm tarball, with its
// `require('../bcrypt')` and `require('../promises')` pointed at this package.
const path = require('node:path')

const root = path.resolve(__dirname, '..', '..')
const bcryptDir = path.dirname(require.resolve('bcrypt/package.json', { paths: [root] }))

module.exports = {
  rootDir: bcryptDir,
  roots: ['<rootDir>/test'],
  // The suite lives under node_modules, which jest skips by default.
  testPathIgnorePatterns: [],
  haste: { retainAllFiles: true },
  moduleNameMapper: {
    '^\\.\\./bcrypt$': path.join(root, 'index.js'),
    '^\\.\\./promises$': path.join(root, 'promises.js'),
  },
}
