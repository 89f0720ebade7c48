'use strict'

// Prometheus metrics for the pool (and a queue worker), read from stats() at scrape time. The
// prom-client module is passed in, never required here: it is an optional peer of the package,
// needed only by whoever exports metrics (the demo, `bcrypt-offload worker --metrics-port`).

/** Registers the pool's gauges, counters and histograms on `registry`; `stats` reads them. */
function registerPoolMetrics(client, registry, stats) {
  const gauge = (name, help, read) =>
    new client.Gauge({ name, help, registers: [registry], collect() { this.set(read(stats())) } })
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
      stats().laneSpeedup?.forEach((speedup, i) => this.set({ lanes: String(i + 1) }, speedup))
    },
  })
  // argon2, scrypt and PBKDF2 run as whole-thread tasks under one memory budget (docs/argon2.md).
  gauge('bcrypt_pool_memory_budget_bytes', 'Memory the tasks (argon2, scrypt, PBKDF2) may hold together.', (s) => s.memory.budget)
  gauge('bcrypt_pool_memory_in_use_bytes', 'Memory the running tasks hold.', (s) => s.memory.inUse)
  gauge('bcrypt_pool_memory_waiting', 'Tasks whose turn has come, waiting for the memory budget.', (s) => s.memory.waiting)
  gauge('bcrypt_pool_tasks_running', 'Tasks (argon2, scrypt, PBKDF2) computing.', (s) => s.memory.tasksRunning)
  gauge('bcrypt_pool_rate', 'Lane-steps per millisecond the pool sustains, as deadlines are judged (-1: not measured yet).', (s) => s.rate ?? -1)
  // Counters owned by the pool: exported as they are, not incremented here.
  for (const [name, key, help] of [
    ['bcrypt_pool_completed_total', 'completed', 'Jobs computed.'],
    ['bcrypt_pool_rejected_total', 'rejected', 'Calls refused: a full queue, or a deadline that could not be met.'],
    ['bcrypt_pool_cancelled_total', 'cancelled', 'Jobs dropped because their signal aborted.'],
    ['bcrypt_pool_expired_total', 'expired', 'Jobs dropped uncomputed because their deadline passed while they waited.'],
    ['bcrypt_pool_lane_steps_total', 'laneSteps', 'Key-schedule steps computed, summed over lanes (a hash at cost c is 1 + 2^(c+1)).'],
  ]) {
    registerCounter(registry, name, help, () => [{ value: stats()[key], labels: {} }])
  }
  registerHistogram(registry, 'bcrypt_pool_queue_wait_seconds', 'Time from the call to a lane.', () => [[{}, stats().queueWait]])
  registerHistogram(registry, 'bcrypt_pool_compute_seconds', 'Time in a lane.', () => [[{}, stats().compute]])

  // The same by scheduling class, labelled `priority`.
  const byClass = (read) => () => Object.entries(stats().classes).map(([priority, c]) => [{ priority }, read(c)])
  for (const [name, key, help] of [
    ['bcrypt_pool_class_queued', 'queued', 'Jobs of each priority waiting for a lane.'],
    ['bcrypt_pool_class_running', 'running', 'Jobs of each priority in a lane.'],
  ]) {
    new client.Gauge({
      name,
      help,
      labelNames: ['priority'],
      registers: [registry],
      collect() {
        for (const [labels, value] of byClass((c) => c[key])()) this.set(labels, value)
      },
    })
  }
  for (const [name, key, help] of [
    ['bcrypt_pool_class_completed_total', 'completed', 'Jobs of each priority computed.'],
    ['bcrypt_pool_class_rejected_total', 'rejected', 'Calls of each priority refused: a full class, or a deadline that could not be met.'],
    ['bcrypt_pool_class_expired_total', 'expired', 'Jobs of each priority dropped uncomputed at their deadline.'],
  ]) {
    registerCounter(registry, name, help, () => byClass((c) => c[key])().map(([labels, value]) => ({ value, labels })))
  }
  registerHistogram(
    registry,
    'bcrypt_pool_class_queue_wait_seconds',
    'Time from the call to a lane, by priority.',
    byClass((c) => c.queueWait),
  )
}

// A histogram whose buckets someone else keeps: `read()` gives [labels, histogram] pairs, each
// histogram as stats() has them (per-bucket counts in ms).
function registerHistogram(registry, name, help, read) {
  registry.registerMetric({
    name,
    get: async () => {
      const values = []
      for (const [labels, h] of read()) {
        let cumulative = 0
        h.counts.forEach((count, i) => {
          cumulative += count
          const le = i < h.bucketsMs.length ? h.bucketsMs[i] / 1000 : '+Inf'
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative })
        })
        values.push({ metricName: `${name}_sum`, labels, value: h.sumMs / 1000 })
        values.push({ metricName: `${name}_count`, labels, value: h.count })
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' }
    },
    reset() {},
  })
}

// A counter whose values someone else keeps (the pool's atomics, a worker's counts).
function registerCounter(registry, name, help, values) {
  registry.registerMetric({
    name,
    get: async () => ({ name, help, type: 'counter', values: values(), aggregator: 'sum' }),
    reset() {},
  })
}

/**
 * A queue worker's metrics (lib/queue/worker.js): its jobs by outcome, its pool's, and the queue's
 * depth, read from Redis at scrape time (`handle.waiting()`), for autoscaling the workers on it.
 */
function registerWorkerMetrics(client, registry, handle) {
  registerPoolMetrics(client, registry, () => handle.stats().pool)
  // One read of Redis serves both gauges of a scrape (prom-client collects them one after the other).
  let reading
  const waiting = () => (reading ??= handle.waiting().finally(() => setImmediate(() => (reading = undefined))))
  new client.Gauge({
    name: 'bcrypt_queue_waiting',
    help: 'Jobs waiting in Redis for a worker, by priority (the whole queue, every worker sees the same).',
    labelNames: ['priority'],
    registers: [registry],
    async collect() {
      this.reset()
      const w = await waiting()
      if (w) for (const priority of ['high', 'normal', 'low']) this.set({ priority }, w[priority])
    },
  })
  new client.Gauge({
    name: 'bcrypt_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting in Redis for a worker (0: none waits; NaN: Redis did not answer).',
    registers: [registry],
    async collect() {
      this.set((await waiting())?.oldestSeconds ?? NaN)
    },
  })
  new client.Gauge({
    name: 'bcrypt_queue_worker_key_refused',
    help: "1 while this worker's key is not the clients' (it takes no jobs), else 0.",
    registers: [registry],
    collect() {
      this.set(handle.stats().keyRefused ? 1 : 0)
    },
  })
  const OUTCOMES = ['hash', 'compare', 'argon2Hash', 'argon2Verify', 'expired', 'rejected', 'failed', 'cancelled', 'returned']
  registerCounter(registry, 'bcrypt_queue_worker_jobs_total', 'Jobs this worker finished, by outcome.', () => {
    const s = handle.stats()
    return OUTCOMES.map((outcome) => ({ value: s[outcome], labels: { outcome } }))
  })
  new client.Gauge({
    name: 'bcrypt_queue_worker_concurrency',
    help: 'Jobs this worker takes at once (the pool lanes).',
    registers: [registry],
    collect() {
      this.set(handle.stats().concurrency)
    },
  })
}

/** A queue client's metrics (lib/queue/client.js): its calls by outcome, and those pending. */
function registerClientMetrics(client, registry, stats) {
  const OUTCOMES = ['completed', 'timedOut', 'unavailable', 'refused', 'tampered', 'failed', 'aborted', 'expired', 'local']
  registerCounter(registry, 'bcrypt_queue_client_calls_total', 'Calls through the queue tier, by outcome.', () => {
    const s = stats()
    return OUTCOMES.map((outcome) => ({ value: s[outcome], labels: { outcome } }))
  })
  new client.Gauge({
    name: 'bcrypt_queue_client_pending',
    help: 'Calls sent to the tier and not yet answered.',
    registers: [registry],
    collect() {
      this.set(stats().pending)
    },
  })
}

module.exports = { registerPoolMetrics, registerWorkerMetrics, registerClientMetrics }
