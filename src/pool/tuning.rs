//! How many hashes a thread should interleave on this machine, measured with the real kernel.
//!
//! More lanes hide more of each Blowfish round's load latency, until the lanes' state (4 KB of
//! S-boxes each) no longer fits in L1 or the core's ALUs are saturated; where that happens depends
//! on the core. On the EPYC this was first tuned on, 6 lanes gave 3.1x one lane's throughput; on
//! another EPYC host with a 32 KB L1, 4 lanes gave 2.8x and 5–6 lanes fell back to 2.0x. So the pool
//! does not assume: it times every width on the thread it will run on and picks the best.
//!
//! The host may be busy while it measures. Another process on the core (or on its SMT sibling)
//! nearly always makes a width look slower than it is: so each width's figure is its second best of
//! several trials, interleaved with the other widths' and in a rotating order, so that a disturbance
//! that lasts a few milliseconds costs each width at most the trials it overlaps. Second, not first:
//! a trial can also come out fast, the clock speeding up while the other core idles (of 25
//! measurements on this host, one had 3 lanes at 2.78x one lane against 2.63-2.64x in the others),
//! and one such trial must not win a narrower width the choice. With three trials and each width's
//! best, a busy start once measured [1, 1.75, 2.02, 1.99, 2.07, 1.84] × one lane here and chose 3
//! lanes, which then ran 16% below 5 lanes.

use crate::cputime;
use crate::kernel::{self, Input, Lane, MAX_LANES};

/// Throughput measured for each lane count, `[0]` for one lane: lane-steps per millisecond of the
/// measuring thread's CPU time.
pub type Throughput = [f64; MAX_LANES];

/// Key-schedule steps timed per width and trial (plus one untimed, to warm the lanes' state into
/// the cache). A step is ~30 µs a lane, so a trial over every width (15 lane-counts summed at 5
/// lanes) is ~11 ms and the whole measurement ~100 ms of one thread, at the pool's priority.
const STEPS: usize = 24;
const TRIALS: usize = 9;

/// How far below the best a width may measure and still be chosen for having fewer lanes.
const TOLERANCE: f64 = 0.02;

/// Times each width `TRIALS` times, interleaved, and keeps each width's second best
/// (`second_best`).
pub fn measure() -> Throughput {
  let input = Input {
    key: [0x5a5a_5a5a; 18],
    salt: [0xa5a5_a5a5; 4],
    // Never done within the measurement.
    cost: 31,
  };
  let trials: Vec<Throughput> = (0..TRIALS)
    .map(|trial| {
      let mut throughput = [0.0; MAX_LANES];
      // Each trial starts at another width, so that no width always follows the same one.
      for i in 0..MAX_LANES {
        let width = (trial + i) % MAX_LANES + 1;
        let mut lanes: Vec<Lane> = (0..width).map(|_| Lane::new(&input)).collect();
        kernel::step(&mut lanes);
        let start = cputime::thread_ms();
        for _ in 0..STEPS {
          kernel::step(std::hint::black_box(&mut lanes));
        }
        let ms = (cputime::thread_ms() - start).max(1e-6);
        throughput[width - 1] = (width * STEPS) as f64 / ms;
      }
      throughput
    })
    .collect();
  second_best(&trials)
}

/// Each width's second best over the trials (its only one if there is one): one of the least
/// disturbed, past a single trial that came out fast.
pub fn second_best(trials: &[Throughput]) -> Throughput {
  std::array::from_fn(|width| {
    let mut t: Vec<f64> = trials.iter().map(|trial| trial[width]).collect();
    t.sort_by(|a, b| b.total_cmp(a));
    t.get(1).or(t.first()).copied().unwrap_or(0.0)
  })
}

/// The fewest lanes within `TOLERANCE` of the best throughput: past the peak, more lanes only make
/// each hash slower (a batch of K takes longer than one hash), so a near-tie goes to the narrower.
pub fn choose(throughput: &Throughput) -> usize {
  let peak = throughput.iter().copied().fold(0.0, f64::max);
  throughput
    .iter()
    .position(|&t| t >= (1.0 - TOLERANCE) * peak)
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

  /// A curve of `MAX_LANES` figures from a longer one, so that the tests read the same on every
  /// target whatever its lane count (4 to 6): the cases below decide within the first 4.
  fn widths(curve: [f64; 6]) -> Throughput {
    std::array::from_fn(|i| curve[i])
  }

  #[test]
  fn the_choice_is_the_fewest_lanes_within_two_percent_of_the_best() {
    assert_eq!(choose(&widths([30.0, 18.0, 24.0, 28.0, 20.0, 20.0])), 1);
    assert_eq!(choose(&widths([10.0, 18.0, 24.0, 28.0, 20.0, 20.0])), 4);
    // A near tie goes to fewer lanes: 30.5 is within 2% of 31, 97.9 is not within 2% of 100.
    assert_eq!(choose(&widths([10.0, 18.0, 30.5, 31.0, 30.0, 30.0])), 3);
    assert_eq!(choose(&widths([97.9, 98.1, 98.0, 100.0, 90.0, 90.0])), 2);
    // All alike: one lane.
    assert_eq!(choose(&[5.0; MAX_LANES]), 1);
  }

  /// A deterministic stream of numbers in [0, 1) (xorshift), for reproducible noise.
  fn noise(seed: u64) -> impl FnMut() -> f64 {
    let mut x = seed | 1;
    move || {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      (x >> 11) as f64 / (1u64 << 53) as f64
    }
  }

  #[test]
  fn a_busy_host_does_not_move_the_choice_off_the_best() {
    // What the widths can do (a curve like this host's), and trials of which most were slowed down
    // by up to 30% at random, each width independently, and one came out 10% fast: as long as two
    // trials of each width ran undisturbed, the choice is the one the clean curve gives.
    let truth = widths([1.0, 1.75, 2.2, 2.5, 2.65, 2.4]);
    // 4 lanes on aarch64, 5 elsewhere.
    let clean = choose(&truth);
    for seed in 1..200 {
      let mut next = noise(seed);
      let mut trials: Vec<Throughput> = (0..TRIALS)
        .map(|_| truth.map(|t| t * (1.0 - 0.3 * next())))
        .collect();
      // Two undisturbed trials per width, and one fast, at random.
      for (width, &t) in truth.iter().enumerate() {
        let first = (next() * TRIALS as f64) as usize;
        let second = (first + 1 + (next() * (TRIALS - 1) as f64) as usize) % TRIALS;
        trials[first][width] = t;
        trials[second][width] = t;
      }
      let fast = (next() * TRIALS as f64) as usize;
      let width = (next() * MAX_LANES as f64) as usize;
      trials[fast][width] = truth[width] * 1.1;
      let chosen = choose(&second_best(&trials));
      assert_eq!(chosen, clean, "seed {seed}: {trials:?}");
    }
  }

  #[test]
  fn the_choice_never_measures_worse_than_the_best_by_more_than_the_tolerance() {
    // Whatever the noise, the chosen width's figure is within 2% of the best figure measured.
    for seed in 1..200 {
      let mut next = noise(seed);
      let trials: Vec<Throughput> = (0..TRIALS)
        .map(|_| std::array::from_fn(|i| (1.0 + i as f64) * (0.5 + next())))
        .collect();
      let measured = second_best(&trials);
      let peak = measured.iter().copied().fold(0.0, f64::max);
      assert!(
        measured[choose(&measured) - 1] >= 0.98 * peak,
        "seed {seed}: {measured:?}"
      );
    }
  }
}
