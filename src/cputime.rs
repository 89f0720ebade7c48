//! The calling thread's CPU time: what it ran, not what it waited for a core. Timings that must
//! not count a queue or a busy neighbour (calibration, lane tuning) read it.

/// Milliseconds of CPU time this thread has used, from an arbitrary origin.
#[cfg(unix)]
pub fn thread_ms() -> f64 {
  let mut ts = libc::timespec {
    tv_sec: 0,
    tv_nsec: 0,
  };
  // SAFETY: a plain syscall writing into a valid timespec of ours.
  if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
    return wall_ms();
  }
  ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// Where no per-thread clock is kept (Windows here, WASI): wall time, on a thread that does
/// nothing else meanwhile.
#[cfg(not(unix))]
pub fn thread_ms() -> f64 {
  wall_ms()
}

fn wall_ms() -> f64 {
  static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
  EPOCH.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1e3
}
