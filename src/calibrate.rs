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
  assert!(target_ms > 0.0 && target_ms.is_finite(), "target_ms {target_ms}");
  let probe_ms = (0..3).map(|_| probe_ms()).fold(f64::INFINITY, f64::min);
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
  fn larger_targets_give_larger_costs_within_bounds() {
    assert_eq!(cost_for(1e-6), MIN_COST);
    assert_eq!(cost_for(1e12), MAX_COST);
    let probe = (0..3).map(|_| probe_ms()).fold(f64::INFINITY, f64::min);
    // 16x the probe's time is 4 costs above it, give or take the noise of one rounding.
    let cost = cost_for(16.0 * probe);
    assert!((PROBE_COST + 3..=PROBE_COST + 5).contains(&cost), "{cost}");
  }

  #[test]
  fn a_busy_machine_does_not_make_the_probe_look_slower() {
    // Both cores kept busy by threads of our own: the probe's own CPU time is what it measures, so
    // the cost comes out within one of the idle one (a ratio of 2 in time), where a wall-clock
    // probe behind a queue came out 4 lower.
    let idle = cost_for(250.0);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy: Vec<_> = (0..4)
      .map(|_| {
        let stop = stop.clone();
        std::thread::spawn(move || {
          while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            std::hint::black_box(probe_ms());
          }
        })
      })
      .collect();
    let loaded = cost_for(250.0);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.into_iter().for_each(|t| t.join().unwrap());
    assert!(idle.abs_diff(loaded) <= 1, "idle {idle}, loaded {loaded}");
  }
}
