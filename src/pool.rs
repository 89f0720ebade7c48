//! The package's own worker threads, which feed queued jobs to the kernel as lanes.
//!
//! Why not libuv's threadpool (napi's `AsyncTask`): its 4 threads also serve `fs`, `dns`, `zlib` and
//! `crypto`, so a burst of hashes there stalls every file read in the process. Why not rayon: its
//! work-stealing runs closures to completion, while a worker here must keep several hashes in flight
//! and admit a newly queued one between two key-schedule steps (~25 µs apart at one lane), so that a
//! lone hash starts at once and a burst fills every lane.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

use crate::kernel::{self, Input, Lane, MAX_LANES};

/// The kernel's output, or the news that computing it panicked.
pub type Outcome = Result<[u8; 23], Panicked>;

/// Called on a pool thread once with the job's outcome. It must not block for long: the lanes that
/// share the thread wait for it.
pub type Done = Box<dyn FnOnce(Outcome) + Send>;

pub struct Job {
  pub input: Input,
  pub done: Done,
}

#[derive(Debug)]
pub struct Panicked;

struct Shared {
  queue: Mutex<VecDeque<Job>>,
  wake: Condvar,
  /// `queue.len()`, readable between steps without taking the lock.
  queued: AtomicUsize,
  /// Workers blocked waiting for work.
  idle: AtomicUsize,
  /// Jobs in lanes now, across all threads.
  running: AtomicUsize,
  completed: AtomicU64,
  lanes: usize,
}

/// A snapshot of the pool's counters; reading it takes no lock.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
  pub threads: usize,
  pub lanes_per_thread: usize,
  pub queued: usize,
  pub running: usize,
  pub completed: u64,
}

pub struct Pool {
  shared: Arc<Shared>,
  threads: usize,
}

impl Pool {
  pub fn new(threads: usize, lanes: usize) -> Result<Pool, PoolError> {
    assert!((1..=MAX_LANES).contains(&lanes));
    let shared = Arc::new(Shared {
      queue: Mutex::new(VecDeque::new()),
      wake: Condvar::new(),
      queued: AtomicUsize::new(0),
      idle: AtomicUsize::new(0),
      running: AtomicUsize::new(0),
      completed: AtomicU64::new(0),
      lanes,
    });
    for i in 0..threads {
      let shared = shared.clone();
      thread::Builder::new()
        .name(format!("bcrypt-offload-{i}"))
        .spawn(move || {
          lower_priority();
          shared.work()
        })
        .map_err(PoolError::Spawn)?;
    }
    Ok(Pool { shared, threads })
  }

  pub fn threads(&self) -> usize {
    self.threads
  }

  pub fn stats(&self) -> Stats {
    Stats {
      threads: self.threads,
      lanes_per_thread: self.shared.lanes,
      queued: self.shared.queued.load(Relaxed),
      running: self.shared.running.load(Relaxed),
      completed: self.shared.completed.load(Relaxed),
    }
  }

  pub fn submit(&self, job: Job) {
    let mut queue = self.shared.lock();
    queue.push_back(job);
    self.shared.queued.store(queue.len(), Relaxed);
    drop(queue);
    self.shared.wake.notify_one();
  }
}

impl Shared {
  fn lock(&self) -> MutexGuard<'_, VecDeque<Job>> {
    // Nothing panics while holding the lock, but a poisoned queue is still a valid queue.
    self.queue.lock().unwrap_or_else(PoisonError::into_inner)
  }

  fn work(&self) {
    let mut lanes: Vec<Lane> = Vec::with_capacity(self.lanes);
    let mut done: Vec<Done> = Vec::with_capacity(self.lanes);
    loop {
      let admitted = if lanes.is_empty() {
        self.wait_for_jobs()
      } else if lanes.len() < self.lanes && self.queued.load(Relaxed) > 0 && self.idle.load(Relaxed) == 0 {
        // Only when no thread is idle: an idle thread runs a new job with fewer lanes beside it,
        // so it finishes sooner there.
        self.take(self.lanes - lanes.len())
      } else {
        Vec::new()
      };
      self.running.fetch_add(admitted.len(), Relaxed);
      for job in admitted {
        lanes.push(Lane::new(&job.input));
        done.push(job.done);
      }

      if catch_unwind(AssertUnwindSafe(|| kernel::step(&mut lanes))).is_err() {
        self.running.fetch_sub(lanes.len(), Relaxed);
        lanes.clear();
        done.drain(..).for_each(|d| self.settle(d, Err(Panicked)));
        continue;
      }

      let mut i = 0;
      while i < lanes.len() {
        if lanes[i].is_done() {
          let lane = lanes.swap_remove(i);
          let outcome = catch_unwind(AssertUnwindSafe(|| lane.output())).map_err(|_| Panicked);
          self.running.fetch_sub(1, Relaxed);
          self.settle(done.swap_remove(i), outcome);
        } else {
          i += 1;
        }
      }
    }
  }

  /// Blocks until there is work, then takes this thread's share of it: the queue split evenly
  /// among the threads that are idle, up to a full set of lanes.
  fn wait_for_jobs(&self) -> Vec<Job> {
    let mut queue = self.lock();
    self.idle.fetch_add(1, Relaxed);
    while queue.is_empty() {
      queue = self.wake.wait(queue).unwrap_or_else(PoisonError::into_inner);
    }
    self.idle.fetch_sub(1, Relaxed);
    let other_idle = self.idle.load(Relaxed);
    let n = queue.len().div_ceil(other_idle + 1).min(self.lanes);
    let jobs = Self::pop(&mut queue, n);
    self.queued.store(queue.len(), Relaxed);
    let more = !queue.is_empty() && other_idle > 0;
    drop(queue);
    if more {
      self.wake.notify_one();
    }
    jobs
  }

  fn take(&self, n: usize) -> Vec<Job> {
    let mut queue = self.lock();
    let jobs = Self::pop(&mut queue, n);
    self.queued.store(queue.len(), Relaxed);
    jobs
  }

  /// A panic in a completion must not take the pool thread (and every lane on it) down with it.
  fn settle(&self, done: Done, outcome: Outcome) {
    self.completed.fetch_add(1, Relaxed);
    let _ = catch_unwind(AssertUnwindSafe(|| done(outcome)));
  }

  fn pop(queue: &mut VecDeque<Job>, n: usize) -> Vec<Job> {
    let n = n.min(queue.len());
    queue.drain(..n).collect()
  }
}

/// Puts this pool thread in SCHED_IDLE, so that whenever the event loop or one of libuv's threads
/// wakes, the kernel hands it a core at once instead of letting it wait out a pool thread's slice.
/// Measured with 32 hashes in flight at cost 10 on 2 cores (fs.readFile issued every 5 ms, p99):
/// normal priority 6.7–12 ms, nice 10 10–12 ms, nice 19 7.8–12 ms, SCHED_IDLE 3.0–5.6 ms.
/// The cost: a CPU-bound thread of normal priority elsewhere on the machine starves the pool, which
/// is the trade a server that must keep answering wants. On Linux the policy is per thread.
#[cfg(target_os = "linux")]
fn lower_priority() {
  let param = libc::sched_param { sched_priority: 0 };
  // SAFETY: a plain syscall on this thread's own id with a valid parameter. If it fails (a seccomp
  // filter, say) the thread simply keeps the process's policy.
  unsafe {
    libc::sched_setscheduler(libc::gettid(), libc::SCHED_IDLE, &param);
  }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[derive(Debug)]
pub enum PoolError {
  /// `BCRYPT_OFFLOAD_THREADS` is set but is not a whole number from 1 to `MAX_THREADS`.
  BadEnv(String),
  /// `configure` asked for 0 threads or more than `MAX_THREADS`.
  BadSize(usize),
  /// `configure` asked for another size after the pool had started.
  AlreadyStarted {
    running: usize,
  },
  Spawn(std::io::Error),
}

impl fmt::Display for PoolError {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match self {
      PoolError::BadEnv(v) => write!(
        f,
        "BCRYPT_OFFLOAD_THREADS must be a whole number from 1 to {MAX_THREADS}, got {v:?}"
      ),
      PoolError::BadSize(n) => write!(
        f,
        "threads must be a whole number from 1 to {MAX_THREADS}, got {n}"
      ),
      PoolError::AlreadyStarted { running } => write!(
        f,
        "the pool already runs {running} threads; call configure() before the first hash or compare"
      ),
      PoolError::Spawn(e) => write!(f, "could not start a pool thread: {e}"),
    }
  }
}

pub const MAX_THREADS: usize = 1024;

static POOL: OnceLock<Pool> = OnceLock::new();
/// The size `configure` asked for, until the pool starts.
static REQUESTED: Mutex<Option<usize>> = Mutex::new(None);

/// Sets the pool's size before it starts. Asking again for the size it already has is allowed, so
/// that every worker thread that loads the addon can run the same start-up code.
pub fn configure(threads: usize) -> Result<(), PoolError> {
  if !(1..=MAX_THREADS).contains(&threads) {
    return Err(PoolError::BadSize(threads));
  }
  let mut requested = REQUESTED.lock().unwrap_or_else(PoisonError::into_inner);
  match POOL.get() {
    Some(pool) if pool.threads != threads => Err(PoolError::AlreadyStarted {
      running: pool.threads,
    }),
    Some(_) => Ok(()),
    None => {
      *requested = Some(threads);
      Ok(())
    }
  }
}

/// The process-wide pool, started on first use. Its threads outlive any one JS environment: every
/// job settles its own environment's promise.
pub fn global() -> Result<&'static Pool, PoolError> {
  if let Some(pool) = POOL.get() {
    return Ok(pool);
  }
  let requested = REQUESTED.lock().unwrap_or_else(PoisonError::into_inner);
  if let Some(pool) = POOL.get() {
    return Ok(pool);
  }
  let threads = match *requested {
    Some(n) => n,
    None => threads_from_env()?,
  };
  let pool = Pool::new(threads, MAX_LANES)?;
  Ok(POOL.get_or_init(|| pool))
}

fn threads_from_env() -> Result<usize, PoolError> {
  match std::env::var("BCRYPT_OFFLOAD_THREADS") {
    Ok(v) => match v.trim().parse::<usize>() {
      Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
      _ => Err(PoolError::BadEnv(v)),
    },
    // std's count honours CPU affinity and cgroup quotas, as Node's os.availableParallelism() does.
    Err(_) => Ok(thread::available_parallelism().map_or(1, usize::from)),
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::format::Setting;
  use std::sync::mpsc;

  #[test]
  fn every_job_settles_with_the_single_lane_answer() {
    let pool = Pool::new(2, MAX_LANES).unwrap();
    let (tx, rx) = mpsc::channel();
    let settings: Vec<Setting> = (4..8u32)
      .flat_map(|cost| {
        (0..9u8).map(move |i| Setting {
          minor: crate::format::Minor::B,
          cost,
          salt: [i; 16],
        })
      })
      .collect();
    for (i, s) in settings.iter().enumerate() {
      let tx = tx.clone();
      let password = format!("password {i}");
      pool.submit(Job {
        input: s.input(password.as_bytes()),
        done: Box::new(move |out| tx.send((i, out.unwrap())).unwrap()),
      });
    }
    drop(tx);
    let mut seen = 0;
    for (i, ctext) in rx {
      let password = format!("password {i}");
      assert_eq!(
        ctext,
        kernel::hash_one(&settings[i].input(password.as_bytes())),
        "job {i}"
      );
      seen += 1;
    }
    assert_eq!(seen, settings.len());
  }
}
