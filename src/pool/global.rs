//! The one process-wide pool the bindings use: started on first use, sized by `configure` or the
//! environment.

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

use super::memory::default_budget;
use super::priority::lower_priority;
use super::stats::Histogram;
use super::tuning::{self, Throughput};
use super::{Class, Pool, PoolError, Priority, Stats};
use crate::kernel::MAX_LANES;

pub const MAX_THREADS: usize = 1024;

/// Lanes a thread runs until the tuner has measured this machine: ≥2.8x one lane's throughput on
/// every host measured so far, where the best width varied from 4 to 6.
const PROVISIONAL_LANES: usize = 4;

static POOL: OnceLock<Pool> = OnceLock::new();
static SETTINGS: Mutex<Settings> = Mutex::new(Settings {
  threads: None,
  max_queue: [None; 3],
  lanes: None,
  compare_first: true,
  lanes_source: LanesSource::Provisional,
  throughput: None,
  tuner_started: false,
  memory_budget: None,
});

/// Where the pool's lane count comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LanesSource {
  /// Not measured yet (the tuner is running, or could not start): `PROVISIONAL_LANES`.
  #[default]
  Provisional,
  /// Measured on this machine at start (see `tuning`).
  Measured,
  /// `BCRYPT_OFFLOAD_LANES`.
  Env,
  /// `configure` (`Config::lanes`).
  Configured,
}

/// What `configure` asked for, and what the tuner found.
struct Settings {
  threads: Option<usize>,
  /// By class.
  max_queue: [Option<usize>; 3],
  /// Pinned by `configure`.
  lanes: Option<usize>,
  compare_first: bool,
  lanes_source: LanesSource,
  throughput: Option<Throughput>,
  tuner_started: bool,
  /// Set by `configure`; else `memory::default_budget`.
  memory_budget: Option<usize>,
}

impl Settings {
  fn memory_budget(&self) -> usize {
    // The floor: what one job at the argon2 defaults holds.
    let floor = crate::kdf::argon2::DEFAULT_MEMORY_COST as usize * 1024;
    self.memory_budget.unwrap_or_else(|| default_budget(floor))
  }
}

/// The memory budget tasks are held to (configured, or the default), without starting the pool:
/// the sync argon2 forms, which compute on the caller's thread, are held to it too.
pub fn memory_budget() -> usize {
  settings().memory_budget()
}

fn settings() -> MutexGuard<'static, Settings> {
  SETTINGS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What `configure` changes; `None` leaves a setting as it is.
#[derive(Clone, Debug, Default)]
pub struct Config {
  /// The pool's size: before it starts, or the size it already has (so that every worker thread
  /// that loads the addon can run the same start-up code).
  pub threads: Option<usize>,
  /// `Some(Some(n))` pins the lanes per thread, over the environment and the tuner;
  /// `Some(None)` hands the choice back to the tuner. At once.
  pub lanes: Option<Option<usize>>,
  /// By class, a bound (`Some(Some(n))`) or none (`Some(None)`) on its jobs waiting. At once.
  pub max_queue: [Option<Option<usize>>; 3],
  /// Whether compares go before hashes (the default) or all jobs in order of arrival. At once.
  pub compare_first: Option<bool>,
  /// Bytes the running tasks may hold together (see `Pool::set_memory_budget`). At once.
  pub memory_budget: Option<usize>,
}

/// Applies `config` whole or not at all: every value is checked, and the one refusal that depends
/// on the pool (another size once it runs) made, before anything changes.
pub fn configure(config: Config) -> Result<(), PoolError> {
  if let Some(threads) = config.threads.filter(|n| !(1..=MAX_THREADS).contains(n)) {
    return Err(PoolError::BadSize(threads));
  }
  if let Some(Some(lanes)) = config
    .lanes
    .filter(|l| l.is_some_and(|n| !(1..=MAX_LANES).contains(&n)))
  {
    return Err(PoolError::BadSize(lanes));
  }
  let mut settings = settings();
  let pool = POOL.get();
  if let (Some(threads), Some(pool)) = (config.threads, pool) {
    if pool.workers.len() != threads {
      return Err(PoolError::AlreadyStarted {
        running: pool.workers.len(),
      });
    }
  }
  if pool.is_none() && config.threads.is_some() {
    settings.threads = config.threads;
  }
  for (class, bound) in Class::ALL.into_iter().zip(config.max_queue) {
    let Some(bound) = bound else { continue };
    settings.max_queue[class.index()] = bound;
    if let Some(pool) = pool {
      pool.set_max_queue(class, bound);
    }
  }
  if let Some(bytes) = config.memory_budget {
    settings.memory_budget = Some(bytes);
    if let Some(pool) = pool {
      pool.set_memory_budget(bytes);
    }
  }
  if let Some(on) = config.compare_first {
    settings.compare_first = on;
    if let Some(pool) = pool {
      pool.set_compare_first(on);
    }
  }
  match config.lanes {
    Some(Some(n)) => {
      settings.lanes = Some(n);
      settings.lanes_source = LanesSource::Configured;
      if let Some(pool) = pool {
        pool.set_lanes(n);
      }
    }
    Some(None) => {
      settings.lanes = None;
      settings.lanes_source = LanesSource::Provisional;
      if let Some(pool) = pool {
        tune(pool, &mut settings);
      }
    }
    None => {}
  }
  Ok(())
}

/// The process-wide pool, started on first use. Its threads outlive any one JS environment: every
/// job settles its own environment's promise.
pub fn global() -> Result<&'static Pool, PoolError> {
  if let Some(pool) = POOL.get() {
    return Ok(pool);
  }
  let mut settings = settings();
  if let Some(pool) = POOL.get() {
    return Ok(pool);
  }
  let threads = match settings.threads {
    Some(n) => n,
    None => threads_from_env()?,
  };
  let env_lanes = lanes_from_env()?;
  let pool = Pool::new(threads, PROVISIONAL_LANES, priority_from_env()?)?;
  for class in Class::ALL {
    pool.set_max_queue(class, settings.max_queue[class.index()]);
  }
  pool.set_compare_first(settings.compare_first);
  pool.set_memory_budget(settings.memory_budget());
  let pool = POOL.get_or_init(|| pool);
  match (settings.lanes, env_lanes) {
    (Some(n), _) => pool.set_lanes(n),
    (None, Some(n)) => {
      settings.lanes_source = LanesSource::Env;
      pool.set_lanes(n);
    }
    (None, None) => tune(pool, &mut settings),
  }
  Ok(pool)
}

/// Sets the measured lane count, measuring first (on a thread of its own, at the pool's priority, so
/// that neither the caller nor the first hash waits) if that has not been done.
fn tune(pool: &'static Pool, settings: &mut Settings) {
  if let Some(throughput) = settings.throughput {
    settings.lanes_source = LanesSource::Measured;
    let lanes = tuning::choose(&throughput);
    pool.set_lanes(lanes);
    pool.set_rate_hint(throughput[lanes - 1]);
    return;
  }
  if settings.tuner_started {
    return;
  }
  let priority = pool.priority;
  let started = thread::Builder::new().name("bcrypt-tune".into()).spawn(move || {
    if priority == Priority::Idle {
      lower_priority();
    }
    // A panic here leaves the provisional width in place.
    let Ok(throughput) = std::panic::catch_unwind(tuning::measure) else {
      return;
    };
    let mut now = self::settings();
    now.throughput = Some(throughput);
    let lanes = match now.lanes_source {
      LanesSource::Provisional => {
        now.lanes_source = LanesSource::Measured;
        let lanes = tuning::choose(&throughput);
        pool.set_lanes(lanes);
        lanes
      }
      _ => pool.shared.lanes.load(std::sync::atomic::Ordering::Relaxed),
    };
    pool.set_rate_hint(throughput[lanes - 1]);
  });
  // Should the OS refuse the thread, the provisional width stays, and says so in stats().
  settings.tuner_started = started.is_ok();
}

/// The global pool's stats, or, before it starts, what it would start with and zero counts:
/// reading stats must not fix the pool's size before `configure` had its say.
pub fn global_stats() -> Result<Stats, PoolError> {
  let settings = settings();
  let mut stats = match POOL.get() {
    Some(pool) => pool.stats(),
    None => Stats {
      threads: match settings.threads {
        Some(n) => n,
        None => threads_from_env()?,
      },
      lanes_per_thread: match settings.lanes {
        Some(n) => n,
        None => lanes_from_env()?.unwrap_or(PROVISIONAL_LANES),
      },
      max_queue: settings.max_queue[Class::Normal.index()],
      classes: Class::ALL.map(|c| super::ClassStats {
        max_queue: settings.max_queue[c.index()],
        wait: Histogram::new().snapshot(),
        ..Default::default()
      }),
      wait: Histogram::new().snapshot(),
      compute: Histogram::new().snapshot(),
      memory_budget: settings.memory_budget(),
      ..Stats::default()
    },
  };
  stats.lanes_source = settings.lanes_source;
  stats.lane_throughput = settings.throughput;
  stats.compare_first = settings.compare_first;
  Ok(stats)
}

fn lanes_from_env() -> Result<Option<usize>, PoolError> {
  const NAME: &str = "BCRYPT_OFFLOAD_LANES";
  match std::env::var(NAME) {
    Ok(v) => match v.trim().parse::<usize>() {
      Ok(n) if (1..=MAX_LANES).contains(&n) => Ok(Some(n)),
      _ => Err(PoolError::BadEnv { name: NAME, value: v }),
    },
    Err(_) => Ok(None),
  }
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
