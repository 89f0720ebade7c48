//! The one process-wide pool the bindings use: started on first use, sized by `configure` or the
//! environment.

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

use super::stats::Histogram;
use super::{Pool, PoolError, Priority, Stats};
use crate::kernel::MAX_LANES;

pub const MAX_THREADS: usize = 1024;

static POOL: OnceLock<Pool> = OnceLock::new();
/// What `configure` asked for before the pool started.
static REQUESTED: Mutex<Requested> = Mutex::new(Requested {
  threads: None,
  max_queue: None,
});

struct Requested {
  threads: Option<usize>,
  max_queue: Option<usize>,
}

fn requested() -> MutexGuard<'static, Requested> {
  REQUESTED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sets the pool's size before it starts. Asking again for the size it already has is allowed, so
/// that every worker thread that loads the addon can run the same start-up code.
pub fn configure(threads: usize) -> Result<(), PoolError> {
  if !(1..=MAX_THREADS).contains(&threads) {
    return Err(PoolError::BadSize(threads));
  }
  let mut requested = requested();
  match POOL.get() {
    Some(pool) if pool.workers.len() != threads => Err(PoolError::AlreadyStarted {
      running: pool.workers.len(),
    }),
    Some(_) => Ok(()),
    None => {
      requested.threads = Some(threads);
      Ok(())
    }
  }
}

/// Bounds the global pool's queue, now if it runs, else from its start.
pub fn configure_max_queue(max_queue: Option<usize>) {
  let mut requested = requested();
  requested.max_queue = max_queue;
  if let Some(pool) = POOL.get() {
    pool.set_max_queue(max_queue);
  }
}

/// The process-wide pool, started on first use. Its threads outlive any one JS environment: every
/// job settles its own environment's promise.
pub fn global() -> Result<&'static Pool, PoolError> {
  if let Some(pool) = POOL.get() {
    return Ok(pool);
  }
  let requested = requested();
  if let Some(pool) = POOL.get() {
    return Ok(pool);
  }
  let threads = match requested.threads {
    Some(n) => n,
    None => threads_from_env()?,
  };
  let pool = Pool::new(threads, MAX_LANES, priority_from_env()?)?;
  pool.set_max_queue(requested.max_queue);
  Ok(POOL.get_or_init(|| pool))
}

/// The global pool's stats, or, before it starts, what it would start with and zero counts:
/// reading stats must not fix the pool's size before `configure` had its say.
pub fn global_stats() -> Result<Stats, PoolError> {
  if let Some(pool) = POOL.get() {
    return Ok(pool.stats());
  }
  let requested = requested();
  Ok(Stats {
    threads: match requested.threads {
      Some(n) => n,
      None => threads_from_env()?,
    },
    lanes_per_thread: MAX_LANES,
    max_queue: requested.max_queue,
    wait: Histogram::new().snapshot(),
    compute: Histogram::new().snapshot(),
    ..Stats::default()
  })
}

fn threads_from_env() -> Result<usize, PoolError> {
  const NAME: &str = "BCRYPT_OFFLOAD_THREADS";
  match std::env::var(NAME) {
    Ok(v) => match v.trim().parse::<usize>() {
      Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
      _ => Err(PoolError::BadEnv { name: NAME, value: v }),
    },
    // std's count honours CPU affinity and cgroup quotas, as Node's os.availableParallelism() does.
    Err(_) => Ok(thread::available_parallelism().map_or(1, usize::from)),
  }
}

fn priority_from_env() -> Result<Priority, PoolError> {
  const NAME: &str = "BCRYPT_OFFLOAD_PRIORITY";
  match std::env::var(NAME).as_deref() {
    Err(_) | Ok("idle") => Ok(Priority::Idle),
    Ok("normal") => Ok(Priority::Normal),
    Ok(v) => Err(PoolError::BadEnv {
      name: NAME,
      value: v.to_string(),
    }),
  }
}
