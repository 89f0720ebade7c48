'use strict'

// The public surface, checked where it is spelled out by hand: each entry point's runtime exports
// against what its .d.ts declares, and the ES module entry against the CommonJS one. The runtime
// object (lib/api.js, lib/queue/…, lib/guard/…) is the list; a name added there and not typed, or
// typed and gone, fails here.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const ts = require('typescript')

const root = path.join(__dirname, '..')

// The names a declaration file exports, as the TypeScript checker resolves them (values only:
// interfaces and type aliases have no runtime counterpart).
function declaredValues(file) {
  const program = ts.createProgram([path.join(root, file)], { strict: true, noEmit: true })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(path.join(root, file))
  const symbol = checker.getSymbolAtLocation(source)
  return checker
    .getExportsOfModule(symbol)
    .filter((s) => {
      const resolved = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s
      return resolved.flags & ts.SymbolFlags.Value
    })
    .map((s) => s.name)
    .sort()
}

const runtime = (module) => Object.keys(module).sort()

test('index.d.ts declares every export of the package, and nothing else', () => {
  const bcrypt = require('..')
  assert.deepEqual(declaredValues('index.d.ts'), runtime(bcrypt))
})

test('the ES module entry exports what the CommonJS one does, as the same functions', async () => {
  const bcrypt = require('..')
  const esm = await import(path.join(root, 'index.mjs'))
  assert.deepEqual(runtime(esm), runtime(bcrypt))
  for (const name of Object.keys(bcrypt)) assert.equal(esm[name], bcrypt[name], name)
})

test('queue.d.ts and guard.d.ts declare every export of their entry points', () => {
  for (const [dts, entry] of [
    ['queue.d.ts', '../queue.js'],
    ['guard.d.ts', '../guard.js'],
  ]) {
    assert.deepEqual(declaredValues(dts), runtime(require(entry)), dts)
  }
})
