//! How fast the pool computes, for deadlines: lane-steps per millisecond of the whole pool.
//!
//! Measured, not assumed: the tuner's figure (one thread's CPU time, at the chosen width) is only a
//! hint, since the pool's threads run at SCHED_IDLE beside whatever else the machine does. Each
//! window of `WINDOW` in which jobs waited throughout (every lane busy) gives a sample of what the
//! pool sustains now; the rate follows the samples with an exponential moving average, so a
//! neighbour's burst moves it within a few windows and one noisy window moves it by a third.
//!
//! Only bcrypt's lanes are counted. A whole-thread task (argon2, scrypt) has no lane-steps, and
//! its cost in them would be a guess: tasks count as no work ahead of a job (`Ticket::work`), and
//! they show here as what they take away, the lane-steps their threads do not compute while jobs
//! wait, so that the rate, and the deadlines judged on it, follow the pool's real speed for hashes.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Long enough to span many steps at any width (a step is ~30 µs a lane), short enough to follow
/// a change of load within a second.
const WINDOW: Duration = Duration::from_millis(100);
/// Weight of a new sample.
const ALPHA: f64 = 0.3;

pub(super) struct Rate {
  /// Lane-steps computed since the pool started.
  steps: AtomicU64,
  /// The rate's f64 bits; 0 for none yet.
  rate: AtomicU64,
  /// When the current window ends, in µs since `start`: lets every step skip the lock.
  window_end_us: AtomicU64,
  start: Instant,
  window: Mutex<Window>,
}

struct Window {
  at: Instant,
  steps: u64,
  /// Whether jobs were waiting when it began.
  saturated: bool,
}

impl Rate {
  pub(super) fn new() -> Rate {
    let start = Instant::now();
    Rate {
      steps: AtomicU64::new(0),
      rate: AtomicU64::new(0),
      window_end_us: AtomicU64::new(0),
      start,
      window: Mutex::new(Window {
        at: start,
        steps: 0,
        saturated: false,
      }),
    }
  }

  /// Lane-steps computed since the pool started.
  pub(super) fn steps(&self) -> u64 {
    self.steps.load(Relaxed)
  }

  /// Lane-steps per millisecond, once measured or hinted.
  pub(super) fn get(&self) -> Option<f64> {
    let rate = f64::from_bits(self.rate.load(Relaxed));
    (rate > 0.0).then_some(rate)
  }

  /// A first figure, kept until the pool has measured its own.
  pub(super) fn hint(&self, rate: f64) {
    if rate.is_finite() && rate > 0.0 {
      let _ = self.rate.compare_exchange(0, rate.to_bits(), Relaxed, Relaxed);
    }
  }

  /// Counts `n` lane-steps just computed; `saturated`: whether jobs wait for a lane now. Closes the
  /// window when it is over, sampling it if jobs waited at both its ends.
  pub(super) fn record(&self, n: usize, saturated: bool) {
    let steps = self.steps.fetch_add(n as u64, Relaxed) + n as u64;
    let now = Instant::now();
    let now_us = (now - self.start).as_micros() as u64;
    if now_us < self.window_end_us.load(Relaxed) {
      return;
    }
    // Another thread closing the same window: skip, this step is counted in `steps`.
    let Ok(mut window) = self.window.try_lock() else {
      return;
    };
    let ms = (now - window.at).as_secs_f64() * 1e3;
    if ms < WINDOW.as_secs_f64() * 1e3 {
      return;
    }
    if window.saturated && saturated {
      let sample = (steps - window.steps) as f64 / ms;
      let rate = match self.get() {
        Some(old) => old + ALPHA * (sample - old),
        None => sample,
      };
      self.rate.store(rate.to_bits(), Relaxed);
    }
    *window = Window {
      at: now,
      steps,
      saturated,
    };
    self
      .window_end_us
      .store(now_us + WINDOW.as_micros() as u64, Relaxed);
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_hint_holds_until_a_saturated_window_is_measured() {
    let rate = Rate::new();
    assert_eq!(rate.get(), None);
    rate.hint(100.0);
    rate.hint(50.0);
    assert_eq!(rate.get(), Some(100.0), "the first hint stays");
    // A window that was not saturated at both ends is not sampled.
    rate.record(1, false);
    std::thread::sleep(WINDOW);
    rate.record(1_000, true);
    assert_eq!(rate.get(), Some(100.0));
    // One that was, is: the rate moves towards what was counted in it.
    let before = rate.steps.load(Relaxed);
    let at = rate.window.lock().unwrap().at;
    while at.elapsed() < WINDOW {
      std::thread::yield_now();
    }
    rate.record(5_000_000, true);
    let ms = (rate.window.lock().unwrap().at - at).as_secs_f64() * 1e3;
    let sample = (rate.steps.load(Relaxed) - before) as f64 / ms;
    let expected = 100.0 + ALPHA * (sample - 100.0);
    assert!((rate.get().unwrap() - expected).abs() < 1e-6 * expected);
  }
}
