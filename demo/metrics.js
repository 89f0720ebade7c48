'use strict'

// Prometheus metrics: Node's defaults (event-loop lag among them) and, for the offload backend,
// the pool's counters and histograms, read from stats() at scrape time.

const client = require('prom-client')

const { registerPoolMetrics, registerClientMetrics } = require('../lib/metrics.js')

function metrics(backend) {
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 })
  if (backend.queueStats) registerClientMetrics(client, registry, backend.queueStats)
  if (!backend.stats) return registry

  registerPoolMetrics(client, registry, () => backend.stats())
  return registry
}

module.exports = { metrics }
