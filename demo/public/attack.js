// The attack control: floods the server's own login guard with wrong passwords from many addresses
// (POST /attack; demo/attack.js), while this browser logs in twice a second as a returning user
// with a device cookie. Charts its logins beside the simulated first-time users' and what became
// of the guesses, from the stream's `attack` events.

import { lineChart, series } from './charts.js'

const LOGIN_EVERY_MS = 500
const GREEN = '#1a7f37'
const ORANGE = '#d9730d'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const random = (bytes) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('')
const percent = (share) => `${Math.round(share * 1000) / 10}%`
const p95 = (xs) => (xs.length ? Math.round([...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.95) - 1]) : null)

const post = (route, body) => fetch(route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

// A point per login, not a line: each is one request.
const dots = (label, color, style = 'circle') => ({ ...series(label, color), showLine: false, pointRadius: 3, pointStyle: style })

export async function attacks({ form, status, note, latencyCanvas, outcomesCanvas, summary }) {
  const info = await (await fetch('/attack')).json()
  for (const name of ['rate', 'addresses', 'seconds']) Object.assign(form.elements[name], info.limits[name])
  const ranges = { rate: 'Guesses a second', addresses: 'Attacker addresses', seconds: 'Attack length, s' }
  for (const [name, text] of Object.entries(ranges)) {
    form.elements[name].labels[0].textContent = `${text} (${info.limits[name].min}–${info.limits[name].max})`
  }
  note.append(` Guesses and logins are compared at cost ${info.cost}; ${info.firstTime.perSecond} first-time users log in each second.`)

  // Logins served (200) and refused (503, 429), apart: a refusal is quick and must not look like a fast login.
  const answered = {
    mine: dots('this browser, logged in', GREEN),
    mineRefused: dots('this browser, refused', GREEN, 'crossRot'),
    firstTime: dots('first-time users, logged in', ORANGE, 'triangle'),
    firstTimeRefused: dots('first-time users, refused', ORANGE, 'crossRot'),
  }
  const latency = lineChart(latencyCanvas, { xTitle: 'seconds from the attack’s start', yTitle: 'answered in, ms', log: true, datasets: Object.values(answered) })
  const outcomeSeries = {
    wrong: series('guesses compared (401)', '#cf222e'),
    locked: series('guesses locked out (429)', '#8250df', [6, 3]),
    busy: series('guesses refused (503)', '#57606a', [2, 2]),
    served: series('first-time users served', '#0969da'),
    refused: series('first-time users refused (503)', ORANGE, [6, 3]),
  }
  const outcomes = lineChart(outcomesCanvas, { xTitle: 'seconds from the attack’s start', yTitle: 'per second', datasets: Object.values(outcomeSeries) })

  let me = null // this browser's account: made on the first attack, logged in once for its cookie
  let shown = null // the run on the charts
  let looping = null // the run this browser is logging in during
  let paused = false
  let myLogins = []

  function redraw() {
    if (!paused) {
      latency.update('none')
      outcomes.update('none')
    }
  }

  // A returning user: registered and logged in once, so that the server has set its device cookie.
  async function returningUser() {
    if (me) return me
    const user = { username: `returning-${random(4)}`, password: random(12) }
    const registered = await post('/register', user)
    if (registered.status !== 201) throw new Error(`registering this browser's user answered ${registered.status}`)
    const login = await post('/login', user)
    if (login.status !== 200) throw new Error(`this browser's first login answered ${login.status}`)
    me = user
    return me
  }

  async function loginLoop(run) {
    looping = run.id
    myLogins = []
    const began = performance.now()
    while (looping === run.id) {
      const started = performance.now()
      let code = 0
      let trusted = false
      try {
        const res = await post('/login', me)
        code = res.status
        trusted = (await res.json().catch(() => ({}))).trusted === true
      } catch {}
      const ms = performance.now() - started
      if (looping !== run.id) break
      myLogins.push({ ms, code, trusted })
      answered[code === 200 ? 'mine' : 'mineRefused'].data.push({ x: Math.round((started - began) / 100) / 10, y: Math.max(ms, 0.1) })
      redraw()
      await sleep(Math.max(0, LOGIN_EVERY_MS - ms))
    }
  }

  function reset(run) {
    shown = run.id
    for (const dataset of [...latency.data.datasets, ...outcomes.data.datasets]) dataset.data = []
    summary.textContent = ''
  }

  function plot(point) {
    for (const [ms, reason] of point.firstTime.answers) {
      answered[reason === 'ok' ? 'firstTime' : 'firstTimeRefused'].data.push({ x: point.t, y: Math.max(ms, 0.1) })
    }
    const perSecond = (n) => Math.round((n / point.seconds) * 10) / 10
    const values = {
      wrong: point.guesses.wrong,
      locked: point.guesses.locked,
      busy: point.guesses.busy,
      served: point.firstTime.ok,
      refused: point.firstTime.busy,
    }
    for (const [name, n] of Object.entries(values)) outcomeSeries[name].data.push({ x: point.t, y: perSecond(n) })
  }

  function describe(run) {
    const g = run.guesses
    const f = run.firstTime
    const sentFirst = f.ok + f.wrong + f.locked + f.busy + f.error
    const parts = [`Guesses: ${g.wrong} compared (401), ${g.locked} locked out (429), ${g.busy} refused (503)${run.notSent ? `, ${run.notSent} not sent (too many in flight)` : ''}.`]
    const servedP95 = run.result?.firstTimeServedP95Ms
    parts.push(`First-time users: ${f.ok} of ${sentFirst} logged in${servedP95 != null ? ` (p95 ${servedP95} ms)` : ''}.`)
    if (myLogins.length && looping === null && run.target === me?.username) {
      const ok = myLogins.filter((l) => l.code === 200)
      const fast = ok.filter((l) => l.ms <= 1000).length
      parts.unshift(
        `This browser: ${myLogins.length} logins, ${percent(fast / myLogins.length)} answered 200 within 1 s` +
          ` (${ok.filter((l) => l.trusted).length} of the ${ok.length} answered 200 as a trusted device), p95 ${p95(myLogins.map((l) => l.ms))} ms.`,
      )
    }
    return parts.join(' ')
  }

  function announce(run) {
    status.classList.toggle('error', run.status === 'failed')
    status.textContent = {
      starting: `Attack #${run.id}: preparing its first-time users…`,
      running: `Attack #${run.id}: ${run.rate} guesses a second from ${run.addresses} addresses for ${run.seconds} s; this browser logs in twice a second…`,
      draining: `Attack #${run.id}: ended; waiting for the guesses still queued…`,
      done: `Attack #${run.id} done.`,
      failed: `Attack #${run.id} failed; the server's log says why.`,
    }[run.status]
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    status.classList.remove('error')
    try {
      status.textContent = 'Registering and logging in this browser’s user, for its device cookie…'
      const { username } = await returningUser()
      const body = { rate: Number(form.elements.rate.value), addresses: Number(form.elements.addresses.value), seconds: Number(form.elements.seconds.value), target: username }
      const res = await post('/attack', body)
      const answer = await res.json()
      if (!res.ok) {
        status.classList.add('error')
        status.textContent = `${res.status}: ${answer.error}`
      }
    } catch (err) {
      status.classList.add('error')
      status.textContent = `Could not start: ${err.message}`
    }
  })

  return {
    /** An attack event from the stream: the run's state, with its newest point while it runs. */
    update(run) {
      if (run.id !== shown) reset(run)
      if (run.point) plot(run.point)
      if (run.status === 'running' && looping !== run.id && me && run.target === me.username) loginLoop(run)
      if (run.status !== 'running' && looping === run.id) looping = null
      if (!run.point) announce(run)
      if (run.status === 'done') summary.textContent = describe(run)
      redraw()
    },
    pause(on) {
      paused = on
      redraw()
    },
  }
}
