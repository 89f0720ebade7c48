//! Choosing a cost for this machine by timing the kernel itself.
//!
//! Timing a hash through the pool measures whatever queue stands in front of it: on a busy server
//! that made a cost-8 probe look 16 times slower than it is, and the cost chosen 4 steps (16x)
//! weaker than asked. So the probe runs one lane on the calling thread and reads that thread's CPU
//! time where the OS keeps one: neither queued jobs nor other threads on the core count.

use crate::format::{Minor, Setting, MAX_COST, MIN_COST};
use crate::{cputime, kernel};

/// A cost-8 hash takes ~15 ms on today's servers: long enough to time, short enough not to matter.
/// Every cost above doubles the work, so the rest is arithmetic.
pub const PROBE_COST: u32 = 8;

/// The cost whose hash takes about `target_ms` on this machine, from the best of three timed
/// probes (the least disturbed). `target_ms` must be positive and finite.
pub fn cost_for(target_ms: f64) -> u32 {
  cost_from_probes(target_ms, [probe_ms(), probe_ms(), probe_ms()])
}

/// The cost whose hash takes about `target_ms`, given the times of probes at `PROBE_COST`: the
/// fastest probe counts, and each cost above or below it doubles or halves the time, to the nearest
/// cost on a log scale, within bcrypt's range.
fn cost_from_probes(target_ms: f64, probes_ms: [f64; 3]) -> u32 {
  assert!(target_ms > 0.0 && target_ms.is_finite(), "target_ms {target_ms}");
  let probe_ms = probes_ms.into_iter().fold(f64::INFINITY, f64::min);
  let cost = f64::from(PROBE_COST) + (target_ms / probe_ms).log2().round();
  cost.clamp(f64::from(MIN_COST), f64::from(MAX_COST)) as u32
}

/// Milliseconds of this thread's time that one hash at `PROBE_COST` takes.
fn probe_ms() -> f64 {
  let setting = Setting {
    minor: Minor::B,
    cost: PROBE_COST,
    salt: [0x5a; 16],
  };
  let input = setting.input(b"calibrate");
  let start = cputime::thread_ms();
  std::hint::black_box(kernel::hash_one(std::hint::black_box(&input)));
  // A clock too coarse to see the hash must not divide by zero.
  (cputime::thread_ms() - start).max(1e-3)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_cost_doubles_the_time_per_step_from_the_probe() {
    let cost = |target_ms| cost_from_probes(target_ms, [15.0; 3]);
    assert_eq!(cost(15.0), PROBE_COST);
    assert_eq!(cost(30.0), PROBE_COST + 1);
    assert_eq!(cost(240.0), PROBE_COST + 4);
    assert_eq!(cost(7.5), PROBE_COST - 1);
    // To the nearest on a log scale: 2^0.5 = 1.414 is the midpoint between two costs.
    assert_eq!(cost(15.0 * 1.41), PROBE_COST);
    assert_eq!(cost(15.0 * 1.42), PROBE_COST + 1);
    assert_eq!(cost(15.0 * 2.0 * 1.41), PROBE_COST + 1);
    assert_eq!(cost(15.0 * 2.0 * 1.42), PROBE_COST + 2);
  }

  #[test]
  fn the_cost_stays_within_bcrypts_range() {
    assert_eq!(cost_from_probes(1e-6, [15.0; 3]), MIN_COST);
    assert_eq!(cost_from_probes(1e12, [15.0; 3]), MAX_COST);
  }

  #[test]
  fn the_least_disturbed_probe_counts() {
    // A probe slowed by whatever else ran on the core does not lower the cost: only the fastest
    // of the three counts, wherever it comes.
    for probes in [[15.0, 60.0, 120.0], [60.0, 15.0, 120.0], [120.0, 60.0, 15.0]] {
      assert_eq!(cost_from_probes(240.0, probes), PROBE_COST + 4, "{probes:?}");
    }
  }
}
