'use strict'

// `npm pack` around the manifest. The binaries ship in one package per platform (npm/<platform>/,
// napi-rs style), so the packed package.json
// - must not carry `prepare` (which builds from a clone with cargo): npm 11 lists any `prepare`
//   among a dependency's install scripts, warning every user that installs us, and the script
//   could not run there anyway;
// - lists every platform package as an optional dependency, at exactly this version: npm installs
//   the one whose `os`, `cpu` and `libc` match the machine, and binding.js loads it.
// `strip` (prepack) keeps the original beside it; `restore` (postpack) puts it back byte for byte.
//
// Publish the packed tarball (`npm pack`, then `npm publish bcrypt-offload-<version>.tgz`), never
// the directory: `npm publish` reads package.json again after postpack has restored it, and sends
// that to the registry, whose copy of the manifest is what installs resolve dependencies from. The
// tarball would have the optionalDependencies and the registry not, so no platform package would
// install. `publish-guard` (prepublishOnly, which runs only for a directory) refuses.

const fs = require('node:fs')
const path = require('node:path')

const manifest = path.join(__dirname, '..', 'package.json')
const saved = `${manifest}.orig`

// name → version of each npm/<platform>/ package, one per napi target; each must be at our version.
function platformPackages(pkg) {
  const { parseTriple } = require('@napi-rs/cli')
  const deps = {}
  for (const triple of pkg.napi.targets) {
    const dir = path.join(__dirname, '..', 'npm', parseTriple(triple).platformArchABI)
    const sub = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
    if (sub.version !== pkg.version) {
      throw new Error(`${sub.name} is at ${sub.version}, not ${pkg.version}: run napi version`)
    }
    deps[sub.name] = sub.version
  }
  return deps
}

switch (process.argv[2]) {
  case 'strip': {
    // A pack that failed after stripping left the real manifest in `saved`: put it back first, so
    // that a second pack cannot save the stripped one over it.
    if (fs.existsSync(saved)) fs.renameSync(saved, manifest)
    fs.copyFileSync(manifest, saved)
    const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8'))
    delete pkg.scripts.prepare
    delete pkg.scripts.prepublishOnly
    pkg.optionalDependencies = platformPackages(pkg)
    fs.writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`)
    break
  }
  case 'restore':
    if (fs.existsSync(saved)) fs.renameSync(saved, manifest)
    break
  case 'publish-guard':
    console.error(
      'bcrypt-offload: publish the packed tarball, not this directory:\n' +
        '  npm pack && npm publish bcrypt-offload-<version>.tgz\n' +
        '(see scripts/pack-manifest.js: the registry would get a manifest without optionalDependencies)',
    )
    process.exit(1)
  default:
    console.error('usage: node scripts/pack-manifest.js strip|restore|publish-guard')
    process.exit(2)
}
