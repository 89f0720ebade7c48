'use strict'

// The live figures behind the demo page. Every intervalMs, one sample: /health latency (timed by
// the probe thread, demo/probe.js), event-loop lag, hashes and compares per second (demo/ops.js),
// and the pool's stats(). The last keep samples are held so that a page opened now sees the last
// minute; GET /live streams them, then each new one, as server-sent events.

const path = require('node:path')
const { Worker } = require('node:worker_threads')
const express = require('express')

// Event-loop lag is how late this timer fires. A timer of our own rather than perf_hooks'
// monitorEventLoopDelay: on Node 20 here, that histogram's max read 20 ms after a 200 ms block.
const LAG_TIMER_MS = 20
const PROBE = { everyMs: 100, reportMs: 250, maxOutstanding: 64 }

/**
 * @param {object} o
 * @param {{ stats(): object }} o.pool bcrypt-offload: its stats() are read every sample
 * @param {ReturnType<import('./ops').opCounter>} o.ops
 */
function createLive({ pool, ops, intervalMs = 500, keep = 120 }) {
  const history = []
  const clients = new Set()
  const listeners = new Set()
  let probe = null
  let latencies = []
  let stalledMs = 0
  let reports = 0
  let lagMs = 0

  let lastTick = performance.now()
  const lagTimer = setInterval(() => {
    const now = performance.now()
    lagMs = Math.max(lagMs, now - lastTick - LAG_TIMER_MS)
    lastTick = now
  }, LAG_TIMER_MS)

  let lastSample = performance.now()
  const sampler = setInterval(() => {
    const now = performance.now()
    const seconds = (now - lastSample) / 1000
    lastSample = now
    const { hashes, compares } = ops.take()
    // The histograms are for /metrics; the page shows the counters.
    const { queueWait, compute, ...stats } = pool.stats()
    const sample = {
      t: Date.now(),
      seconds: round(seconds, 1000),
      // worstMs is null, a gap on the chart, when no report came: not measured is not fast.
      health: { latencies: latencies.map((ms) => round(ms)), worstMs: reports ? round(Math.max(stalledMs, ...latencies)) : null, probing: probe !== null },
      lagMs: round(lagMs),
      hashesPerSec: round(hashes / seconds),
      comparesPerSec: round(compares / seconds),
      // maxQueue is Infinity when unbounded, which JSON cannot carry.
      pool: { ...stats, maxQueue: Number.isFinite(stats.maxQueue) ? stats.maxQueue : null },
    }
    latencies = []
    stalledMs = 0
    reports = 0
    lagMs = 0
    history.push(sample)
    if (history.length > keep) history.shift()
    broadcast('sample', sample)
    for (const listener of listeners) listener(sample)
  }, intervalMs)
  // The server's socket keeps the process alive; these alone must not (a test that built a page
  // without a server would otherwise never exit).
  lagTimer.unref()
  sampler.unref()

  function broadcast(event, data) {
    const message = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
    for (const res of clients) res.write(message)
  }

  const router = express.Router()
  router.get('/live', (req, res) => {
    res.set({ 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    res.flushHeaders()
    // A reconnecting EventSource gets the history again and replaces what it had.
    res.write(`event: history\ndata: ${JSON.stringify({ intervalMs, samples: history })}\n\n`)
    clients.add(res)
    res.on('close', () => clients.delete(res))
  })

  return {
    router,
    broadcast,
    /** Calls listener(sample) after each sample is taken; returns the function that stops it. */
    onSample(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    /** Starts timing GET healthUrl from the probe thread. */
    startProbe(healthUrl) {
      probe = new Worker(path.join(__dirname, 'probe.js'), { workerData: { url: healthUrl, ...PROBE } })
      probe.unref()
      probe.on('message', (report) => {
        latencies.push(...report.latencies)
        stalledMs = Math.max(stalledMs, report.stalledMs)
        reports++
      })
      probe.on('error', (err) => console.error('health probe failed:', err))
    },
    stop() {
      clearInterval(lagTimer)
      clearInterval(sampler)
      for (const res of clients) res.end()
      return probe?.terminate()
    },
  }
}

const round = (x, per = 10) => Math.round(x * per) / per

module.exports = { createLive }
