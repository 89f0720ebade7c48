// The live charts: the server's last minute, one sample every half second from GET /live, and the
// latest figures as text (for readers who cannot see the charts).

import { lineChart, series } from './charts.js'

const WINDOW_S = 60

export function liveCharts({ health, ops, pool, poolCaption, now }) {
  let latest = 0
  let paused = false
  // x is the sample's time in seconds since 1970, labelled as the clock reads, a tick on every
  // quarter minute of it (Chart.js would count its steps from the window's edge, an odd second).
  const x = {
    ticks: { callback: (value) => new Date(value * 1000).toLocaleTimeString('en-GB'), maxRotation: 0 },
    afterBuildTicks(axis) {
      axis.ticks = []
      for (let value = Math.ceil(axis.min / 15) * 15; value <= axis.max; value += 15) axis.ticks.push({ value })
    },
  }
  const charts = [
    {
      chart: lineChart(health, { xTitle: 'time', yTitle: 'ms', x, datasets: [series('/health latency', '#cf222e'), series('event-loop lag', '#57606a', [4, 3])] }),
      read: [(s) => s.health.worstMs, (s) => s.lagMs],
    },
    {
      chart: lineChart(ops, { xTitle: 'time', yTitle: 'per second', x, datasets: [series('hashes/s', '#0969da'), series('compares/s', '#8250df', [4, 3])] }),
      read: [(s) => s.hashesPerSec, (s) => s.comparesPerSec],
    },
    {
      chart: lineChart(pool, { xTitle: 'time', yTitle: 'jobs', x, datasets: [series('queued', '#d9730d'), series('lanes busy', '#1a7f37', [4, 3])] }),
      read: [(s) => s.pool.queued, (s) => s.pool.running],
    },
  ]

  function add(sample) {
    latest = sample.t / 1000
    for (const { chart, read } of charts) {
      chart.data.datasets.forEach((dataset, i) => {
        dataset.data.push({ x: latest, y: read[i](sample) })
        while (dataset.data[0].x < latest - WINDOW_S) dataset.data.shift()
      })
    }
    const p = sample.pool
    poolCaption.textContent = `bcrypt-offload's pool (stats()): ${p.threads} threads × ${p.lanesPerThread} lanes, queue bound ${p.maxQueue ?? 'none'}; jobs queued and lanes busy`
    now.textContent =
      `Now: /health ${sample.health.probing ? `${sample.health.worstMs} ms` : 'not probed'} · event-loop lag ${sample.lagMs} ms · ` +
      `${sample.hashesPerSec} hashes/s · ${sample.comparesPerSec} compares/s · pool: ${p.queued} queued, ` +
      `${p.running} of ${p.threads * p.lanesPerThread} lanes busy, ${p.completed} completed, ${p.rejected} refused, ${p.cancelled} cancelled`
  }

  function draw() {
    if (paused) return
    for (const { chart } of charts) {
      chart.options.scales.x.min = latest - WINDOW_S
      chart.options.scales.x.max = latest
      chart.update('none')
    }
  }

  return {
    /** Replaces everything with these samples (a new or reconnected stream's history). */
    reset(samples) {
      for (const { chart } of charts) for (const dataset of chart.data.datasets) dataset.data = []
      samples.forEach(add)
      draw()
    },
    add(sample) {
      add(sample)
      draw()
    },
    /** While paused the samples are kept but not drawn, so that a chart can be read. */
    pause(on) {
      paused = on
      draw()
    },
  }
}
