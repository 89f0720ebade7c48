'use strict'

// Prometheus metrics: Node's defaults (event-loop lag among them) and, for the offload backend,
// the pool's counters and histograms, read from stats() at scrape time.

const client = require('prom-client')

function metrics(backend) {
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 })
  if (!backend.stats) return registry

  const gauge = (name, help, read) =>
    new client.Gauge({ name, help, registers: [registry], collect() { this.set(read(backend.stats())) } })
  gauge('bcrypt_pool_threads', 'Pool threads.', (s) => s.threads)
  gauge('bcrypt_pool_lanes_per_thread', 'Hashes each pool thread interleaves at most.', (s) => s.lanesPerThread)
  gauge('bcrypt_pool_queued', 'Jobs waiting for a lane.', (s) => s.queued)
  gauge('bcrypt_pool_running', 'Jobs in a lane.', (s) => s.running)
  gauge('bcrypt_pool_max_queue', 'The queue bound (-1: none).', (s) => (Number.isFinite(s.maxQueue) ? s.maxQueue : -1))
  // What the pool measured for each lane count at start, as a multiple of one lane (none until it has).
  new client.Gauge({
    name: 'bcrypt_pool_lane_speedup',
    help: 'Throughput of each lane count measured at start, as a multiple of one lane.',
    labelNames: ['lanes'],
    registers: [registry],
    collect() {
      this.reset()
      backend.stats().laneSpeedup?.forEach((speedup, i) => this.set({ lanes: String(i + 1) }, speedup))
    },
  })
  // Counters owned by the pool: exported as they are, not incremented here.
  for (const [name, key, help] of [
    ['bcrypt_pool_completed_total', 'completed', 'Jobs computed.'],
    ['bcrypt_pool_rejected_total', 'rejected', 'Calls refused because the queue was full.'],
    ['bcrypt_pool_cancelled_total', 'cancelled', 'Jobs dropped because their signal aborted.'],
  ]) {
    registry.registerMetric({
      name,
      get: async () => ({ name, help, type: 'counter', values: [{ value: backend.stats()[key], labels: {} }], aggregator: 'sum' }),
      reset() {},
    })
  }
  for (const [name, key, help] of [
    ['bcrypt_pool_queue_wait_seconds', 'queueWait', 'Time from the call to a lane.'],
    ['bcrypt_pool_compute_seconds', 'compute', 'Time in a lane.'],
  ]) {
    registry.registerMetric({
      name,
      get: async () => {
        const h = backend.stats()[key]
        let cumulative = 0
        const values = h.counts.map((count, i) => {
          cumulative += count
          const le = i < h.bucketsMs.length ? h.bucketsMs[i] / 1000 : '+Inf'
          return { metricName: `${name}_bucket`, labels: { le }, value: cumulative }
        })
        values.push({ metricName: `${name}_sum`, labels: {}, value: h.sumMs / 1000 })
        values.push({ metricName: `${name}_count`, labels: {}, value: h.count })
        return { name, help, type: 'histogram', values, aggregator: 'sum' }
      },
      reset() {},
    })
  }
  return registry
}

module.exports = { metrics }
