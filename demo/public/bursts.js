// The load control: starts a burst (POST /burst), follows each one as the stream reports it, and
// sets the bursts side by side: one line per burst on the /health chart, one row each in the table.

import { colors, lineChart, series } from './charts.js'

// Runs of the same backend get the same colour; their lines differ by dash.
const DASHES = [[], [6, 3], [2, 2], [10, 3, 2, 3]]

export async function bursts({ form, status, note, canvas, table }) {
  const info = await (await fetch('/burst')).json()
  for (const { name, title } of info.backends) form.elements.backend.add(new Option(title, name))
  for (const name of ['inFlight', 'seconds']) Object.assign(form.elements[name], info.limits[name])
  form.elements.inFlight.labels[0].textContent = `Requests in flight (${info.limits.inFlight.min}–${info.limits.inFlight.max})`
  form.elements.seconds.labels[0].textContent = `Seconds (${info.limits.seconds.min}–${info.limits.seconds.max})`
  note.append(` Its hashes use cost ${info.cost}, the app's own (BCRYPT_COST). One burst at a time.`)

  const chart = lineChart(canvas, { xTitle: 'seconds from the burst’s start', yTitle: '/health latency, ms', log: true })
  const known = new Map()
  let paused = false

  function show(run) {
    let entry = known.get(run.id)
    if (!entry) {
      const sameBackend = [...known.values()].filter((e) => e.run.backend === run.backend).length
      const line = series(`#${run.id} ${run.backend} ×${run.inFlight}`, colors[run.backend], DASHES[sameBackend % DASHES.length])
      chart.data.datasets.push(line)
      entry = { line, row: table.tBodies[0].insertRow() }
      known.set(run.id, entry)
    }
    const previous = entry.run?.status
    entry.run = run
    const r = run.result
    const cells = [run.id, run.backend, run.inFlight, run.seconds, r?.completedPerSec ?? '', r?.healthP99Ms ?? '', r?.healthWorstMs ?? '', r?.lagMaxMs ?? '', run.refused, run.status]
    entry.row.replaceChildren(...cells.map((value) => Object.assign(document.createElement('td'), { textContent: value })))
    if (run.status !== previous) announce(run)
    return entry
  }

  // Said once per change of state, not per sample: the status is a live region.
  function announce(run) {
    const r = run.result
    status.classList.toggle('error', run.status === 'failed')
    status.textContent = {
      starting: `Burst #${run.id} on ${run.backend}: starting…`,
      running: `Burst #${run.id} on ${run.backend}: ${run.inFlight} in flight for ${run.seconds} s…`,
      draining: `Burst #${run.id} on ${run.backend}: ended; waiting for the work it left…`,
      done: r && `Burst #${run.id} on ${run.backend} done: ${r.completedPerSec} completed/s, /health p99 ${r.healthP99Ms ?? '–'} ms (worst ${r.healthWorstMs} ms), event-loop lag max ${r.lagMaxMs} ms, ${run.refused} refused with 503.`,
      failed: `Burst #${run.id} on ${run.backend} failed; the server's log says why.`,
    }[run.status]
  }

  function plot(entry, point) {
    // A log axis has no 0: the probe's fastest answers are well above 0.1 ms. null (no report from
    // the probe in that half second) leaves a gap.
    entry.line.data.push({ x: point.t, y: point.healthMs === null ? null : Math.max(point.healthMs, 0.1) })
  }

  for (const run of info.runs) {
    const entry = show(run)
    for (const point of run.points) plot(entry, point)
  }
  chart.update('none')

  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const body = { backend: form.elements.backend.value, inFlight: Number(form.elements.inFlight.value), seconds: Number(form.elements.seconds.value) }
    try {
      const res = await fetch('/burst', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const answer = await res.json()
      if (res.ok) return show(answer)
      status.classList.add('error')
      status.textContent = `${res.status}: ${answer.error}`
    } catch (err) {
      status.classList.add('error')
      status.textContent = `The server did not answer: ${err.message}`
    }
  })

  return {
    /** A burst event from the stream: the run's state, with its newest point while it runs. */
    update(run) {
      const entry = show(run)
      if (run.point) plot(entry, run.point)
      if (!paused) chart.update('none')
    },
    pause(on) {
      paused = on
      if (!paused) chart.update('none')
    },
  }
}
