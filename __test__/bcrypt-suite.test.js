'use strict'

// bcrypt's own jest suite, as shipped in its npm package, run against this package: the working
// definition of "drop-in".

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

test("bcrypt's own test suite passes against this package", () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bcrypt-suite-')), 'result.json')
  const jest = require.resolve('jest/bin/jest')
  const config = path.join(__dirname, 'bcrypt-suite', 'jest.config.js')
  try {
    execFileSync(process.execPath, [jest, '--config', config, '--json', '--outputFile', out], { stdio: 'pipe' })
  } catch (err) {
    if (!fs.existsSync(out)) throw err
  }
  const result = JSON.parse(fs.readFileSync(out, 'utf8'))
  const failed = result.testResults.flatMap((file) =>
    file.assertionResults.filter((t) => t.status !== 'passed').map((t) => `${path.basename(file.name)}: ${t.title}: ${t.failureMessages.join('\n')}`),
  )
  assert.deepEqual(failed, [])
  assert.ok(result.numTotalTests >= 73, `only ${result.numTotalTests} tests found`)
  assert.equal(result.numPassedTests, result.numTotalTests)
})
