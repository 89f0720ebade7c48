//! How many hashes a thread should interleave on this machine, measured with the real kernel.
//!
//! More lanes hide more of each Blowfish round's load latency, until the lanes' state (4 KB of
//! S-boxes each) no longer fits in L1 or the registers run out; where that happens depends on the
//! core. On the EPYC this was first tuned on, 6 lanes gave 3.1x one lane's throughput; on another
//! EPYC host with a 32 KB L1, 4 lanes gave 2.8x and 5–6 lanes fell back to 2.0x. So the pool does not
//! assume: it times every width on the thread it will run on and picks the best.

use crate::cputime;
use crate::kernel::{self, Input, Lane, MAX_LANES};

/// Throughput measured for each lane count, `[0]` for one lane: lane-steps per millisecond of the
/// measuring thread's CPU time.
pub type Throughput = [f64; MAX_LANES];

/// Key-schedule steps timed per width and round (plus one untimed, to warm the lanes' state into
/// the cache). A step is ~30 µs a lane, so a round over every width is ~10 ms and the whole
/// measurement tens of milliseconds.
const STEPS: usize = 24;
const ROUNDS: usize = 3;

/// Times each width `ROUNDS` times, interleaved so that a passing disturbance hits every width
/// alike, and keeps each width's best: the least disturbed run is the closest to what it can do.
pub fn measure() -> Throughput {
  let input = Input {
    key: [0x5a5a_5a5a; 18],
    salt: [0xa5a5_a5a5; 4],
    // Never done within the measurement.
    cost: 31,
  };
  let mut best = [0.0; MAX_LANES];
  for _ in 0..ROUNDS {
    for (width, best) in (1..=MAX_LANES).zip(best.iter_mut()) {
      let mut lanes: Vec<Lane> = (0..width).map(|_| Lane::new(&input)).collect();
      kernel::step(&mut lanes);
      let start = cputime::thread_ms();
      for _ in 0..STEPS {
        kernel::step(std::hint::black_box(&mut lanes));
      }
      let ms = (cputime::thread_ms() - start).max(1e-6);
      *best = f64::max(*best, (width * STEPS) as f64 / ms);
    }
  }
  best
}

/// The fewest lanes within 3% of the best throughput: past the peak, more lanes only make each
/// hash slower (a batch of K takes longer than one hash), so a near-tie goes to the narrower.
pub fn choose(throughput: &Throughput) -> usize {
  let peak = throughput.iter().copied().fold(0.0, f64::max);
  throughput
    .iter()
    .position(|&t| t >= 0.97 * peak)
    .map_or(MAX_LANES, |i| i + 1)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn every_width_is_measured() {
    // A width left out keeps its starting 0.
    let throughput = measure();
    assert!(throughput.iter().all(|&t| t > 0.0), "{throughput:?}");
  }

  #[test]
  fn the_choice_is_the_fewest_lanes_within_three_percent_of_the_best() {
    // The best itself, wherever it is.
    assert_eq!(choose(&[30.0, 18.0, 24.0, 28.0, 20.0, 20.0]), 1);
    assert_eq!(choose(&[10.0, 18.0, 24.0, 28.0, 20.0, 20.0]), 4);
    assert_eq!(choose(&[10.0, 18.0, 24.0, 28.0, 28.5, 31.0]), 6);
    // A near tie goes to fewer lanes: 30.2 is within 3% of 31, 96.9 is not within 3% of 100.
    assert_eq!(choose(&[10.0, 18.0, 24.0, 30.2, 30.0, 31.0]), 4);
    assert_eq!(choose(&[96.9, 97.1, 98.0, 99.0, 100.0, 90.0]), 2);
    // All alike: one lane.
    assert_eq!(choose(&[5.0; MAX_LANES]), 1);
  }
}
