//! `stats()`: the pool's counters as JS objects.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::error::ErrorKind;
use crate::pool;

/// A histogram of durations: `counts[i]` jobs took at most `bucketsMs[i]` (and more than the bound
/// before); the last count is for everything above the last bound.
#[napi(object)]
pub struct DurationHistogram {
  pub buckets_ms: Vec<f64>,
  pub counts: Vec<f64>,
  pub count: f64,
  pub sum_ms: f64,
}

impl From<pool::HistogramSnapshot> for DurationHistogram {
  fn from(h: pool::HistogramSnapshot) -> Self {
    DurationHistogram {
      buckets_ms: pool::BUCKETS_MS.to_vec(),
      count: h.counts.iter().sum::<u64>() as f64,
      counts: h.counts.into_iter().map(|c| c as f64).collect(),
      sum_ms: h.sum_ms,
    }
  }
}

/// One scheduling class's counters.
#[napi(object)]
pub struct ClassStats {
  /// Its jobs waiting for a lane.
  pub queued: u32,
  /// Its jobs in a lane.
  pub running: u32,
  /// Its jobs settled from a lane.
  pub completed: f64,
  /// Its calls refused: the class's queue bound, or a deadline that could not be met.
  pub rejected: f64,
  /// Its jobs dropped uncomputed because their deadline passed while they waited.
  pub expired: f64,
  /// Its queue bound; `null` when there is none.
  pub max_queue: Option<u32>,
  /// Time from the call to a lane.
  pub queue_wait: DurationHistogram,
}

impl From<pool::ClassStats> for ClassStats {
  fn from(c: pool::ClassStats) -> Self {
    ClassStats {
      queued: c.queued as u32,
      running: c.running as u32,
      completed: c.completed as f64,
      rejected: c.rejected as f64,
      expired: c.expired as f64,
      max_queue: c.max_queue.map(|n| n as u32),
      queue_wait: c.wait.into(),
    }
  }
}

/// By class, as the facade names them.
#[napi(object)]
pub struct Classes {
  pub high: ClassStats,
  pub normal: ClassStats,
  pub low: ClassStats,
}

/// The memory tasks (argon2, scrypt) hold, against the pool's budget.
#[napi(object)]
pub struct MemoryStats {
  /// Bytes the running tasks may hold together.
  pub budget: f64,
  /// Bytes they hold now.
  pub in_use: f64,
  /// Tasks whose turn came that wait for memory (or for a thread to finish its hashes).
  pub waiting: u32,
  /// Tasks running, each on a pool thread of its own.
  pub tasks_running: u32,
}

/// What the pool is doing now.
#[napi(object)]
pub struct PoolStats {
  /// Pool threads.
  pub threads: u32,
  /// Hashes each thread interleaves at most.
  pub lanes_per_thread: u32,
  /// Where that count comes from: `"provisional"` (not measured yet), `"measured"`, `"env"`
  /// (`BCRYPT_OFFLOAD_LANES`) or `"configured"`.
  pub lanes_source: String,
  /// What the pool measured at start, lane-steps per millisecond for 1, 2, … lanes; `null` until
  /// it has.
  pub lane_throughput: Option<Vec<f64>>,
  /// Whether compares go before queued hashes.
  pub compare_first: bool,
  /// Jobs waiting for a lane.
  pub queued: u32,
  /// Jobs a pool thread has taken and not yet settled.
  pub running: u32,
  /// Jobs computed since the process started.
  pub completed: f64,
  /// Calls refused because the queue was full.
  pub rejected: f64,
  /// Jobs dropped because their signal aborted.
  pub cancelled: f64,
  /// Jobs dropped uncomputed because their deadline passed while they waited.
  pub expired: f64,
  /// The normal class's queue bound (every call's class unless it asks for another); `null` when
  /// there is none.
  pub max_queue: Option<u32>,
  /// What the pool computes, in lane-steps per millisecond, as deadlines are judged; `null` until
  /// measured.
  pub rate: Option<f64>,
  /// Key-schedule steps computed, summed over lanes: the work done. A hash at cost c is
  /// 1 + 2^(c+1) of them, whoever asked for it.
  pub lane_steps: f64,
  /// The same counters by scheduling class.
  pub classes: Classes,
  /// Tasks' memory.
  pub memory: MemoryStats,
  /// Time from the call to a lane.
  pub queue_wait: DurationHistogram,
  /// Time in a lane.
  pub compute: DurationHistogram,
}

/// The pool's counters (zeros, and the size it would start with, before it starts). Reads atomics
/// only: cheap enough per scrape.
#[napi(catch_unwind)]
pub fn pool_stats(env: &Env) -> Result<PoolStats> {
  let s = pool::global_stats().map_err(|e| ErrorKind::from(e).throw(env))?;
  Ok(PoolStats {
    threads: s.threads as u32,
    lanes_per_thread: s.lanes_per_thread as u32,
    lanes_source: match s.lanes_source {
      pool::LanesSource::Provisional => "provisional",
      pool::LanesSource::Measured => "measured",
      pool::LanesSource::Env => "env",
      pool::LanesSource::Configured => "configured",
    }
    .into(),
    lane_throughput: s.lane_throughput.map(|t| t.to_vec()),
    compare_first: s.compare_first,
    queued: s.queued as u32,
    running: s.running as u32,
    completed: s.completed as f64,
    rejected: s.rejected as f64,
    cancelled: s.cancelled as f64,
    expired: s.expired as f64,
    max_queue: s.max_queue.map(|n| n as u32),
    rate: s.rate,
    lane_steps: s.lane_steps as f64,
    classes: {
      let [high, normal, low] = s.classes;
      Classes {
        high: high.into(),
        normal: normal.into(),
        low: low.into(),
      }
    },
    memory: MemoryStats {
      budget: s.memory_budget as f64,
      in_use: s.memory_in_use as f64,
      waiting: s.tasks_waiting_for_memory as u32,
      tasks_running: s.tasks_running as u32,
    },
    queue_wait: s.wait.into(),
    compute: s.compute.into(),
  })
}
