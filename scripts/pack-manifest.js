'use strict'

// `npm pack` around the manifest: the tarball carries the prebuilt addon, so its package.json must
// not carry `prepare` (which builds from a clone with cargo). npm 11 lists any `prepare` among a
// dependency's install scripts, warning every user that installs us, and the script could not run
// there anyway. `strip` (prepack) keeps the original beside it; `restore` (postpack) puts it back
// byte for byte.

const fs = require('node:fs')
const path = require('node:path')

const manifest = path.join(__dirname, '..', 'package.json')
const saved = `${manifest}.orig`

switch (process.argv[2]) {
  case 'strip': {
    // A pack that failed after stripping left the real manifest in `saved`: put it back first, so
    // that a second pack cannot save the stripped one over it.
    if (fs.existsSync(saved)) fs.renameSync(saved, manifest)
    fs.copyFileSync(manifest, saved)
    const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8'))
    delete pkg.scripts.prepare
    fs.writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`)
    break
  }
  case 'restore':
    if (fs.existsSync(saved)) fs.renameSync(saved, manifest)
    break
  default:
    console.error('usage: node scripts/pack-manifest.js strip|restore')
    process.exit(2)
}
