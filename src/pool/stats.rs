//! The pool's counters and histograms, read from atomics without a lock.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use super::global::LanesSource;
use super::tuning::Throughput;

/// Upper bounds, in milliseconds, of the histograms' buckets; a last bucket takes the rest.
pub const BUCKETS_MS: [f64; 16] = [
  0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];

/// A lock-free histogram of durations.
pub(super) struct Histogram {
  counts: [AtomicU64; BUCKETS_MS.len() + 1],
  sum_us: AtomicU64,
}

/// Per-bucket (not cumulative) counts, the last one above the largest bound.
#[derive(Clone, Debug, Default)]
pub struct HistogramSnapshot {
  pub counts: Vec<u64>,
  pub sum_ms: f64,
}

impl Histogram {
  pub(super) fn new() -> Histogram {
    Histogram {
      counts: std::array::from_fn(|_| AtomicU64::new(0)),
      sum_us: AtomicU64::new(0),
    }
  }

  pub(super) fn record(&self, d: Duration) {
    let ms = d.as_secs_f64() * 1e3;
    let bucket = BUCKETS_MS
      .iter()
      .position(|&bound| ms <= bound)
      .unwrap_or(BUCKETS_MS.len());
    self.counts[bucket].fetch_add(1, Relaxed);
    self.sum_us.fetch_add(d.as_micros() as u64, Relaxed);
  }

  pub(super) fn snapshot(&self) -> HistogramSnapshot {
    HistogramSnapshot {
      counts: self.counts.iter().map(|c| c.load(Relaxed)).collect(),
      sum_ms: self.sum_us.load(Relaxed) as f64 / 1e3,
    }
  }
}

/// One class's counters (see `queue::Class`).
pub(super) struct ClassCounters {
  pub(super) queued: AtomicUsize,
  pub(super) running: AtomicUsize,
  pub(super) completed: AtomicU64,
  pub(super) rejected: AtomicU64,
  pub(super) expired: AtomicU64,
  pub(super) wait: Histogram,
}

impl ClassCounters {
  pub(super) fn new() -> ClassCounters {
    ClassCounters {
      queued: AtomicUsize::new(0),
      running: AtomicUsize::new(0),
      completed: AtomicU64::new(0),
      rejected: AtomicU64::new(0),
      expired: AtomicU64::new(0),
      wait: Histogram::new(),
    }
  }

  pub(super) fn snapshot(&self, max_queue: Option<usize>) -> ClassStats {
    ClassStats {
      queued: self.queued.load(Relaxed),
      running: self.running.load(Relaxed),
      completed: self.completed.load(Relaxed),
      rejected: self.rejected.load(Relaxed),
      expired: self.expired.load(Relaxed),
      max_queue,
      wait: self.wait.snapshot(),
    }
  }
}

/// A snapshot of one class's counters.
#[derive(Clone, Debug, Default)]
pub struct ClassStats {
  pub queued: usize,
  pub running: usize,
  /// Jobs settled from a lane: computed, or failed by a panic.
  pub completed: u64,
  /// Calls refused: the class's bound was reached, or the job could not start in time.
  pub rejected: u64,
  /// Jobs dropped uncomputed because their deadline passed while they waited.
  pub expired: u64,
  pub max_queue: Option<usize>,
  /// Time from submission to a lane.
  pub wait: HistogramSnapshot,
}

/// A snapshot of the pool's counters; reading it takes no lock.
#[derive(Clone, Debug, Default)]
pub struct Stats {
  pub threads: usize,
  pub lanes_per_thread: usize,
  pub queued: usize,
  pub running: usize,
  pub completed: u64,
  pub rejected: u64,
  pub cancelled: u64,
  pub expired: u64,
  /// The normal class's bound: the one every job has unless it asks for another class.
  pub max_queue: Option<usize>,
  pub wait: HistogramSnapshot,
  pub compute: HistogramSnapshot,
  /// Whether compares go before hashes.
  pub compare_first: bool,
  /// By class: high, normal, low.
  pub classes: [ClassStats; 3],
  /// What the pool computes, lane-steps per millisecond (see `rate`).
  pub rate: Option<f64>,
  /// Key-schedule steps computed, summed over lanes: the pool's work done.
  pub lane_steps: u64,
  /// Tasks running, each on a thread of its own.
  pub tasks_running: usize,
  /// Bytes running tasks may hold together; `usize::MAX` for no bound.
  pub memory_budget: usize,
  /// Bytes the running tasks hold.
  pub memory_in_use: usize,
  /// Tasks whose turn came that wait for memory or a thread free of lanes.
  pub tasks_waiting_for_memory: usize,
  /// The process-wide pool's (`global_stats`): where `lanes_per_thread` comes from, and what the
  /// tuner measured, lane-steps per ms for 1..=MAX_LANES lanes.
  pub lanes_source: LanesSource,
  pub lane_throughput: Option<Throughput>,
}
