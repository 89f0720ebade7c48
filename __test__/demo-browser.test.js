'use strict'

// The demo page in a real browser: Debian's Chromium (scripts/system-deps.sh installs it; browsers
// cannot be downloaded here), driven by playwright-core. Starts `node demo/server.js` as a user
// would, on a free port with its own data folder; registers and logs in through the form; runs a
// burst on bcrypt-offload, then on bcrypt and on bcryptjs's sync calls, and checks that the charts
// get points and are drawn, that the page answers the keyboard while a burst runs, and that nothing
// logs an error. Saves the page to target/demo-page.png (out of git: a test run leaves the tree
// clean); the README shows one such screenshot, copied to bench/results/demo.png.
// No timing thresholds: what the machine's speed decides, only the screenshot shows.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { once } = require('node:events')
const { chromium } = require('playwright-core')

const CHROMIUM = '/usr/bin/chromium'
const SCREENSHOT = path.join(__dirname, '..', 'target', 'demo-page.png')
// Each burst: long enough for several points on the chart, short enough for a quick test.
const BURST = { inFlight: '32', seconds: '4' }

// `node demo/server.js` on a free port; resolves once it prints its address.
async function startServer(dataDir) {
  const server = spawn(process.execPath, [path.join(__dirname, '..', 'demo', 'server.js')], {
    env: { ...process.env, PORT: '0', DATA_DIR: dataDir, BCRYPT_BACKEND: 'offload' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  server.stdout.setEncoding('utf8')
  for await (const chunk of server.stdout) {
    output += chunk
    const address = output.match(/on (http:\/\/localhost:\d+)/)
    if (address) return { server, url: address[1] }
  }
  throw new Error(`demo/server.js exited before it listened: ${output}`)
}

// Chromium as the machine's notes say it runs here: no sandbox as root, no GPU, and nothing that
// reaches for the network (it has none) or for an old profile.
function launch(userDataDir) {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

// Points in each dataset of the chart drawn on the canvas with this id (Chart.js keeps them).
const points = (page, id) => page.evaluate((canvasId) => globalThis.Chart.getChart(canvasId).data.datasets.map((d) => d.data.length), id)

// Whether anything has been drawn on the canvas: its pixels that are not fully transparent.
const paintedPixels = (page, id) =>
  page.evaluate((canvasId) => {
    const canvas = document.getElementById(canvasId)
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)
    let painted = 0
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++
    return painted
  }, id)

async function runBurst(page, backend) {
  await page.getByLabel('Backend').selectOption(backend)
  await page.getByLabel(/Requests in flight/).fill(BURST.inFlight)
  await page.getByLabel(/Seconds/).fill(BURST.seconds)
  // By keyboard: focus the button and press Enter.
  await page.getByRole('button', { name: 'Start burst' }).focus()
  await page.keyboard.press('Enter')
  const status = page.locator('#burst-status')
  await status.filter({ hasText: new RegExp(`on ${backend}: ${BURST.inFlight} in flight`) }).waitFor()
  return status
}

test('the demo page in Chromium: the form, a burst per backend, live charts, no errors', { timeout: 120_000 }, async (t) => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/system-deps.sh (npm test runs it first)`)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bcrypt-demo-browser-'))
  const { server, url } = await startServer(path.join(tmp, 'data'))
  const exited = once(server, 'exit')
  t.after(async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM')
      await exited
    }
    fs.rmSync(tmp, { recursive: true, force: true })
  })
  const context = await launch(path.join(tmp, 'profile'))
  t.after(() => context.close())

  const page = context.pages()[0] ?? (await context.newPage())
  // Playwright's own default is 30 s a step; a shared machine under load can be slower than that
  // without anything being wrong. The test's timeout bounds the whole.
  page.setDefaultTimeout(100_000)
  const problems = []
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))

  await page.goto(url)
  await page.locator('#now').filter({ hasText: /^Now: \/health/ }).waitFor()

  // Every control has a label, and Tab walks them in reading order.
  const order = ['username', 'password', 'register', 'login', 'backend', 'in-flight', 'seconds', 'start', 'pause']
  await page.getByLabel('Username').focus()
  const focused = []
  for (let i = 0; i < order.length; i++) {
    focused.push(await page.evaluate(() => {
      const el = document.activeElement
      return el.id || { '/register': 'register', '/login': 'login' }[el.value]
    }))
    await page.keyboard.press('Tab')
  }
  assert.deepEqual(focused, order)

  // The real app: register and log in through the form, and its errors are shown.
  const result = page.locator('#account-result')
  assert.equal(await result.getAttribute('aria-live'), 'polite')
  await page.getByLabel('Username').fill('ada')
  await page.getByLabel('Password').fill('correct horse battery staple')
  await page.getByRole('button', { name: 'Register' }).click()
  await result.filter({ hasText: /^Registered ada/ }).waitFor()
  await page.getByRole('button', { name: 'Register' }).click()
  await result.filter({ hasText: /^409: username taken/ }).waitFor()
  await page.getByRole('button', { name: 'Log in' }).click()
  await result.filter({ hasText: /^Logged in/ }).waitFor()
  await page.getByLabel('Password').fill('wrong')
  await page.getByRole('button', { name: 'Log in' }).click()
  await result.filter({ hasText: /^401: wrong username or password/ }).waitFor()

  // A burst on this package: the charts keep getting points and the page answers the keyboard.
  const status = await runBurst(page, 'offload')
  const before = await points(page, 'chart-health')
  const pause = page.getByRole('button', { name: 'Pause charts' })
  await pause.focus()
  await page.keyboard.press('Space')
  assert.equal(await pause.getAttribute('aria-pressed'), 'true')
  await page.keyboard.press('Space')
  assert.equal(await pause.getAttribute('aria-pressed'), 'false')
  await page.getByLabel('Username').fill('grace')
  await page.getByLabel('Password').fill('during the burst')
  await page.getByRole('button', { name: 'Register' }).press('Enter')
  // Answered, or refused with 503 if the burst filled the queue: either way the page shows it.
  await result.filter({ hasText: /^(Registered grace|503: busy)/ }).waitFor()
  await page.waitForFunction(([id, was]) => globalThis.Chart.getChart(id).data.datasets[0].data.length > was, ['chart-health', before[0]])
  await page.waitForFunction(() => globalThis.Chart.getChart('chart-runs').data.datasets[0]?.data.length > 2)
  await status.filter({ hasText: /^Burst #1 on offload done: / }).waitFor()

  // The other packages, side by side with it on the same chart.
  await runBurst(page, 'bcrypt')
  await status.filter({ hasText: /^Burst #2 on bcrypt done: / }).waitFor()
  await runBurst(page, 'bcryptjs-sync')
  await status.filter({ hasText: /^Burst #3 on bcryptjs-sync done: / }).waitFor()

  // One line per burst, and a row with its figures.
  assert.deepEqual((await points(page, 'chart-runs')).map((n) => n > 2), [true, true, true])
  const rows = await page.locator('#runs tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)))
  assert.deepEqual(rows.map((r) => [r[1], r[9]]), [['offload', 'done'], ['bcrypt', 'done'], ['bcryptjs-sync', 'done']])
  for (const row of rows) for (const cell of [row[4], row[5], row[7]]) assert.match(cell, /^\d+(\.\d+)?$/, `figures of ${row[1]}: ${row}`)
  for (const id of ['chart-health', 'chart-ops', 'chart-pool', 'chart-runs']) assert.ok((await paintedPixels(page, id)) > 0, `${id} is drawn`)

  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true })
  await page.screenshot({ path: SCREENSHOT, fullPage: true })
  // Chromium logs every 4xx answer as an error: the two the form was meant to get, and nothing else.
  const answer = (status) => `console: Failed to load resource: the server responded with a status of ${status}`
  assert.deepEqual(problems, [answer('409 (Conflict)'), answer('401 (Unauthorized)')])
})
