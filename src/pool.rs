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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::kernel::{self, Input, Lane, MAX_LANES};

/// Why a job has no output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
  /// Computing it panicked: a bug, reported instead of taking the process down.
  Panicked,
  /// Its cancellation flag was set before it finished; it was dropped from the queue or its lane.
  Cancelled,
}

/// The kernel's output, or why there is none.
pub type Outcome = Result<[u8; 23], Failure>;

/// Called on a pool thread once with the job's outcome. It must not block for long: the lanes that
/// share the thread wait for it.
pub type Done = Box<dyn FnOnce(Outcome) + Send>;

pub struct Job {
  pub input: Input,
  pub done: Done,
  /// The caller's hold on the job: `Handle::cancel` drops it wherever it is.
  pub handle: Arc<Handle>,
  /// Set when whoever would receive the outcome is gone for good (a torn-down JS environment):
  /// shared by many jobs, checked when the job leaves the queue and between steps.
  pub orphaned: Option<Arc<AtomicBool>>,
}

/// Where one job is, shared between the pool and its caller, so that a cancellation knows whether it
/// frees a place in the queue. A cancelled job stays in the queue, counted as dead, until a worker
/// skips it or the queue is compacted: refusing a call must cost the same whatever the queue holds.
#[derive(Default)]
pub struct Handle {
  state: AtomicU8,
  /// The pool it was submitted to, once it was.
  shared: OnceLock<Weak<Shared>>,
}

const NEW: u8 = 0;
const QUEUED: u8 = 1;
const TAKEN: u8 = 2;
const CANCELLED: u8 = 3;

impl Handle {
  /// Drops the job: a queued one gives its place back at once and is never computed; a running one
  /// leaves its lane at the next step. Idempotent; a finished job is unaffected.
  pub fn cancel(&self) {
    let Some(shared) = self.shared.get().and_then(Weak::upgrade) else {
      // Not submitted yet: `Reservation::submit` will find it cancelled.
      self.state.store(CANCELLED, Relaxed);
      return;
    };
    // Under the queue's lock, so that the dead count and the queue change together.
    let mut queue = shared.lock();
    if self.state.swap(CANCELLED, Relaxed) != QUEUED {
      return;
    }
    queue.dead += 1;
    shared.queued.store(queue.live(), Relaxed);
    // Compact once dead jobs are most of the queue: each compaction removes at least as many jobs
    // as it keeps, so its cost is paid for by the cancellations it clears.
    let dropped = if queue.dead > COMPACT_AT && 2 * queue.dead > queue.jobs.len() {
      let (kept, gone) = queue.jobs.drain(..).partition(|t: &Ticket| !t.dead());
      queue.jobs = kept;
      queue.dead = 0;
      gone
    } else {
      VecDeque::new()
    };
    drop(queue);
    shared.settle_all(dropped.into());
  }

  fn cancelled(&self) -> bool {
    self.state.load(Relaxed) == CANCELLED
  }
}

/// Dead jobs below this count are left for the workers to skip.
const COMPACT_AT: usize = 64;

/// A job in the queue or a lane. The input stays with it after its lane is built: should a step
/// panic, each job of the batch is replayed alone (see `Shared::isolate`). Boxed so that moving a
/// ticket leaves no copy of the key words behind; the box is zeroed when it drops.
struct Ticket {
  input: Box<Input>,
  done: Done,
  handle: Arc<Handle>,
  orphaned: Option<Arc<AtomicBool>>,
  queued_at: Instant,
  started_at: Instant,
}

impl Ticket {
  /// Whether its outcome is no longer wanted.
  fn cancelled(&self) -> bool {
    self.handle.cancelled() || self.orphaned.as_ref().is_some_and(|o| o.load(Relaxed))
  }

  /// Cancelled while queued: counted in `Queue::dead`.
  fn dead(&self) -> bool {
    self.handle.cancelled()
  }
}

struct Queue {
  jobs: VecDeque<Ticket>,
  /// Jobs in `jobs` cancelled while they waited (see `Handle`).
  dead: usize,
  /// Places promised to callers that are still building their job (see `Pool::reserve`).
  reserved: usize,
}

impl Queue {
  /// Jobs waiting for a lane that someone still wants.
  fn live(&self) -> usize {
    self.jobs.len() - self.dead
  }
}

/// Upper bounds, in milliseconds, of the histograms' buckets; a last bucket takes the rest.
pub const BUCKETS_MS: [f64; 16] = [
  0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];

/// A lock-free histogram of durations.
struct Histogram {
  counts: [AtomicU64; BUCKETS_MS.len() + 1],
  sum_us: AtomicU64,
}

/// Per-bucket (not cumulative) counts, the last one above the largest bound.
#[derive(Clone, Debug, Default)]
pub struct HistogramSnapshot {
  pub counts: Vec<u64>,
  pub sum_ms: f64,
}

impl Histogram {
  fn new() -> Histogram {
    Histogram {
      counts: std::array::from_fn(|_| AtomicU64::new(0)),
      sum_us: AtomicU64::new(0),
    }
  }

  fn record(&self, d: Duration) {
    let ms = d.as_secs_f64() * 1e3;
    let bucket = BUCKETS_MS
      .iter()
      .position(|&bound| ms <= bound)
      .unwrap_or(BUCKETS_MS.len());
    self.counts[bucket].fetch_add(1, Relaxed);
    self.sum_us.fetch_add(d.as_micros() as u64, Relaxed);
  }

  fn snapshot(&self) -> HistogramSnapshot {
    HistogramSnapshot {
      counts: self.counts.iter().map(|c| c.load(Relaxed)).collect(),
      sum_ms: self.sum_us.load(Relaxed) as f64 / 1e3,
    }
  }
}

struct Shared {
  queue: Mutex<Queue>,
  wake: Condvar,
  /// Set, under the queue's lock, when the pool is dropped: every job it holds is cancelled.
  closing: AtomicBool,
  /// `queue.live()`, readable between steps without taking the lock.
  queued: AtomicUsize,
  /// The most jobs that may wait beyond the free lanes; `usize::MAX` for no bound.
  max_queue: AtomicUsize,
  /// Lanes across all threads.
  capacity: usize,
  /// Workers blocked waiting for work.
  idle: AtomicUsize,
  /// Jobs taken from the queue and not yet settled, across all threads.
  running: AtomicUsize,
  /// Jobs whose computation panicked. Those computed fine are counted by `compute`, so that
  /// `completed` and the histogram's count are always read from one snapshot and agree.
  failed: AtomicU64,
  rejected: AtomicU64,
  cancelled: AtomicU64,
  /// Time from submission to a lane.
  wait: Histogram,
  /// Time in a lane.
  compute: Histogram,
  lanes: usize,
}

/// A snapshot of the pool's counters; reading it takes no lock.
#[derive(Clone, Debug, Default)]
pub struct Stats {
  pub threads: usize,
  pub lanes_per_thread: usize,
  pub queued: usize,
  pub running: usize,
  pub completed: u64,
  pub rejected: u64,
  pub cancelled: u64,
  pub max_queue: Option<usize>,
  pub wait: HistogramSnapshot,
  pub compute: HistogramSnapshot,
}

/// `Pool::reserve` found `max_queue` jobs waiting.
#[derive(Debug)]
pub struct QueueFull {
  pub max_queue: usize,
}

/// Dropping a pool cancels every job it holds (each settles `Cancelled`) and joins its threads,
/// which stop within one step. The process-wide pool (`global`) is never dropped.
pub struct Pool {
  shared: Arc<Shared>,
  workers: Vec<JoinHandle<()>>,
}

/// The OS scheduling class of the pool's threads (see `lower_priority`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
  /// SCHED_IDLE on Linux: the event loop and libuv's threads always come first. The default.
  Idle,
  /// The process's own priority, for machines where other CPU-bound work would starve the pool.
  Normal,
}

/// A place in the queue, held while the caller builds its job. Dropping it unused gives it back.
pub struct Reservation<'a> {
  shared: &'a Arc<Shared>,
  used: bool,
}

impl Reservation<'_> {
  pub fn submit(mut self, job: Job) {
    self.used = true;
    let now = Instant::now();
    let ticket = Ticket {
      input: Box::new(job.input),
      done: job.done,
      handle: job.handle,
      orphaned: job.orphaned,
      queued_at: now,
      started_at: now,
    };
    // The handle learns its pool before it can be seen queued, so that a cancellation from then on
    // finds the queue to give its place back to.
    let _ = ticket.handle.shared.set(Arc::downgrade(self.shared));
    let mut queue = self.shared.lock();
    queue.reserved -= 1;
    if ticket
      .handle
      .state
      .compare_exchange(NEW, QUEUED, Relaxed, Relaxed)
      .is_err()
    {
      // Cancelled before it was queued.
      drop(queue);
      self.shared.drop_cancelled(ticket);
      return;
    }
    queue.jobs.push_back(ticket);
    self.shared.queued.store(queue.live(), Relaxed);
    drop(queue);
    self.shared.wake.notify_one();
  }
}

impl Drop for Reservation<'_> {
  fn drop(&mut self) {
    if !self.used {
      self.shared.lock().reserved -= 1;
    }
  }
}

impl Pool {
  pub fn new(threads: usize, lanes: usize, priority: Priority) -> Result<Pool, PoolError> {
    Pool::start(threads, lanes, priority, |name, work| {
      thread::Builder::new().name(name).spawn(work)
    })
  }

  /// Starts `threads` workers through `spawn`. Should one fail to start, those already started are
  /// stopped and joined before the error returns: a failed start holds on to nothing, and a later
  /// one (with fewer threads, say) starts afresh.
  fn start(
    threads: usize,
    lanes: usize,
    priority: Priority,
    mut spawn: impl FnMut(String, Box<dyn FnOnce() + Send>) -> std::io::Result<JoinHandle<()>>,
  ) -> Result<Pool, PoolError> {
    assert!((1..=MAX_LANES).contains(&lanes));
    let shared = Arc::new(Shared {
      queue: Mutex::new(Queue {
        jobs: VecDeque::new(),
        dead: 0,
        reserved: 0,
      }),
      closing: AtomicBool::new(false),
      wake: Condvar::new(),
      queued: AtomicUsize::new(0),
      max_queue: AtomicUsize::new(usize::MAX),
      capacity: threads * lanes,
      idle: AtomicUsize::new(0),
      running: AtomicUsize::new(0),
      failed: AtomicU64::new(0),
      rejected: AtomicU64::new(0),
      cancelled: AtomicU64::new(0),
      wait: Histogram::new(),
      compute: Histogram::new(),
      lanes,
    });
    let mut pool = Pool {
      shared,
      workers: Vec::with_capacity(threads),
    };
    for i in 0..threads {
      let shared = pool.shared.clone();
      let work = Box::new(move || {
        if priority == Priority::Idle {
          lower_priority();
        }
        shared.work()
      });
      // On error `pool` drops here, which stops and joins the workers already started.
      pool
        .workers
        .push(spawn(format!("bcrypt-offload-{i}"), work).map_err(PoolError::Spawn)?);
    }
    Ok(pool)
  }

  /// Bounds the queue: once `max` jobs wait for a lane (beyond those that free lanes are about to
  /// take), `reserve` refuses. `None` removes the bound.
  pub fn set_max_queue(&self, max: Option<usize>) {
    self.shared.max_queue.store(max.unwrap_or(usize::MAX), Relaxed);
  }

  pub fn stats(&self) -> Stats {
    let s = &self.shared;
    let compute = s.compute.snapshot();
    let max_queue = s.max_queue.load(Relaxed);
    Stats {
      threads: self.workers.len(),
      lanes_per_thread: s.lanes,
      queued: s.queued.load(Relaxed),
      running: s.running.load(Relaxed),
      completed: compute.counts.iter().sum::<u64>() + s.failed.load(Relaxed),
      rejected: s.rejected.load(Relaxed),
      cancelled: s.cancelled.load(Relaxed),
      max_queue: (max_queue != usize::MAX).then_some(max_queue),
      wait: s.wait.snapshot(),
      compute,
    }
  }

  /// A place in the queue, or `QueueFull` at once when `max_queue` jobs already wait. Callers take
  /// the place before creating anything (a promise, say) that a refusal would leave dangling.
  pub fn reserve(&self) -> Result<Reservation<'_>, QueueFull> {
    let mut queue = self.shared.lock();
    let max_queue = self.shared.max_queue.load(Relaxed);
    // Jobs that idle lanes will take as soon as their threads wake are not waiting for a lane.
    let free_lanes = self
      .shared
      .capacity
      .saturating_sub(self.shared.running.load(Relaxed));
    let limit = max_queue.saturating_add(free_lanes);
    // Cancelled jobs already gave their places back (see `Handle`): a refusal costs the same
    // whatever the queue holds.
    if queue.live() + queue.reserved >= limit {
      drop(queue);
      self.shared.rejected.fetch_add(1, Relaxed);
      return Err(QueueFull { max_queue });
    }
    queue.reserved += 1;
    Ok(Reservation {
      shared: &self.shared,
      used: false,
    })
  }

  /// Queues a job, whatever the bound: for callers with nothing to undo.
  pub fn submit(&self, job: Job) {
    self.shared.lock().reserved += 1;
    Reservation {
      shared: &self.shared,
      used: false,
    }
    .submit(job);
  }
}

impl Drop for Pool {
  fn drop(&mut self) {
    let queue = self.shared.lock();
    self.shared.closing.store(true, Relaxed);
    drop(queue);
    self.shared.wake.notify_all();
    for worker in self.workers.drain(..) {
      // A worker never panics (every job runs under catch_unwind); if one had, there is nothing
      // left to stop.
      let _ = worker.join();
    }
  }
}

impl Shared {
  fn lock(&self) -> MutexGuard<'_, Queue> {
    // Nothing panics while holding the lock, but a poisoned queue is still a valid queue.
    self.queue.lock().unwrap_or_else(PoisonError::into_inner)
  }

  fn work(&self) {
    let mut lanes: Vec<Lane> = Vec::with_capacity(self.lanes);
    let mut tickets: Vec<Ticket> = Vec::with_capacity(self.lanes);
    loop {
      let admitted = if lanes.is_empty() {
        match self.wait_for_jobs() {
          Some(jobs) => jobs,
          None => return,
        }
      } else if lanes.len() < self.lanes && self.queued.load(Relaxed) > 0 && self.idle.load(Relaxed) == 0 {
        // Only when no thread is idle: an idle thread runs a new job with fewer lanes beside it,
        // so it finishes sooner there.
        self.take(self.lanes - lanes.len())
      } else {
        Vec::new()
      };
      let now = Instant::now();
      for mut ticket in admitted {
        if self.unwanted(&ticket) {
          self.finish(ticket, Err(Failure::Cancelled));
          continue;
        }
        let Ok(lane) = catch_unwind(AssertUnwindSafe(|| Lane::new(&ticket.input))) else {
          self.finish(ticket, Err(Failure::Panicked));
          continue;
        };
        self.wait.record(now - ticket.queued_at);
        ticket.started_at = now;
        lanes.push(lane);
        tickets.push(ticket);
      }
      if lanes.is_empty() {
        continue;
      }

      if catch_unwind(AssertUnwindSafe(|| kernel::step(&mut lanes))).is_err() {
        lanes.clear();
        tickets.drain(..).for_each(|t| self.isolate(t));
        continue;
      }

      let mut i = 0;
      while i < lanes.len() {
        let outcome = if self.unwanted(&tickets[i]) {
          Err(Failure::Cancelled)
        } else if lanes[i].is_done() {
          catch_unwind(AssertUnwindSafe(|| lanes[i].output())).map_err(|_| Failure::Panicked)
        } else {
          i += 1;
          continue;
        };
        lanes.swap_remove(i);
        self.finish(tickets.swap_remove(i), outcome);
      }
    }
  }

  /// Settles a job whose batch panicked mid-step. The lanes' states are lost and the panic could
  /// have come from any of them, so each job runs again from the start, alone: a job that panics by
  /// itself fails, the others of its batch get their right answer late, and each still stops at
  /// the next step once cancelled. Panics are bugs, so this path is for containment, not speed.
  fn isolate(&self, ticket: Ticket) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
      let mut lane = [Lane::new(&ticket.input)];
      while !lane[0].is_done() {
        if self.unwanted(&ticket) {
          return Err(Failure::Cancelled);
        }
        kernel::step(&mut lane);
      }
      Ok(lane[0].output())
    }));
    self.finish(ticket, outcome.unwrap_or(Err(Failure::Panicked)));
  }

  /// Settles a job taken from the queue. The counts change before the caller hears of the outcome,
  /// `running` last: whoever sees a job's answer, or sees nothing running and nothing queued, also
  /// sees every count that goes with it.
  fn finish(&self, ticket: Ticket, outcome: Outcome) {
    match outcome {
      Ok(_) => self.compute.record(ticket.started_at.elapsed()),
      Err(Failure::Panicked) => _ = self.failed.fetch_add(1, Relaxed),
      Err(Failure::Cancelled) => _ = self.cancelled.fetch_add(1, Relaxed),
    }
    self.running.fetch_sub(1, Relaxed);
    self.deliver(ticket, outcome);
  }

  /// Blocks until there is work, then takes this thread's share of it: the queue split evenly
  /// among the threads that are idle, up to a full set of lanes. `None` once the pool is dropped
  /// and nothing is left to do.
  fn wait_for_jobs(&self) -> Option<Vec<Ticket>> {
    let mut queue = self.lock();
    self.idle.fetch_add(1, Relaxed);
    while queue.jobs.is_empty() && !self.closing.load(Relaxed) {
      queue = self.wake.wait(queue).unwrap_or_else(PoisonError::into_inner);
    }
    self.idle.fetch_sub(1, Relaxed);
    if queue.jobs.is_empty() {
      return None;
    }
    let other_idle = self.idle.load(Relaxed);
    // At least one: a queue of dead jobs only is drained, not spun on.
    let n = queue.live().div_ceil(other_idle + 1).clamp(1, self.lanes);
    let (jobs, dead) = self.pop(&mut queue, n);
    let more = queue.live() > 0 && other_idle > 0;
    drop(queue);
    if more {
      self.wake.notify_one();
    }
    self.settle_all(dead);
    Some(jobs)
  }

  fn take(&self, n: usize) -> Vec<Ticket> {
    let (jobs, dead) = self.pop(&mut self.lock(), n);
    self.settle_all(dead);
    jobs
  }

  /// Takes up to `n` live jobs from the front of the queue, and the dead ones before them (to be
  /// settled once the lock is released). Jobs count as running from here, under the lock, so that
  /// none is ever out of both counts (which `reserve`'s free lanes and anyone waiting for the pool
  /// to drain rely on).
  fn pop(&self, queue: &mut Queue, n: usize) -> (Vec<Ticket>, Vec<Ticket>) {
    let (mut jobs, mut dead) = (Vec::with_capacity(n), Vec::new());
    while jobs.len() < n {
      let Some(ticket) = queue.jobs.pop_front() else {
        break;
      };
      if ticket
        .handle
        .state
        .compare_exchange(QUEUED, TAKEN, Relaxed, Relaxed)
        .is_ok()
      {
        jobs.push(ticket);
      } else {
        queue.dead -= 1;
        dead.push(ticket);
      }
    }
    self.running.fetch_add(jobs.len(), Relaxed);
    self.queued.store(queue.live(), Relaxed);
    (jobs, dead)
  }

  /// Whether a taken job is to be dropped rather than computed further.
  fn unwanted(&self, ticket: &Ticket) -> bool {
    ticket.cancelled() || self.closing.load(Relaxed)
  }

  fn settle_all(&self, dead: Vec<Ticket>) {
    dead.into_iter().for_each(|t| self.drop_cancelled(t));
  }

  /// Settles a job cancelled while it was queued.
  fn drop_cancelled(&self, ticket: Ticket) {
    self.cancelled.fetch_add(1, Relaxed);
    self.deliver(ticket, Err(Failure::Cancelled));
  }

  /// A panic in a completion must not take the pool thread (and every lane on it) down with it.
  fn deliver(&self, ticket: Ticket, outcome: Outcome) {
    let _ = catch_unwind(AssertUnwindSafe(|| (ticket.done)(outcome)));
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
  /// An environment variable is set to something it cannot be.
  BadEnv {
    name: &'static str,
    value: String,
    expected: String,
  },
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
      PoolError::BadEnv {
        name,
        value,
        expected,
      } => write!(f, "{name} must be {expected}, got {value:?}"),
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
      _ => Err(PoolError::BadEnv {
        name: NAME,
        value: v,
        expected: format!("a whole number from 1 to {MAX_THREADS}"),
      }),
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
      expected: "\"idle\" or \"normal\"".into(),
    }),
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::format::Setting;
  use std::sync::mpsc;

  #[test]
  fn every_job_settles_with_the_single_lane_answer() {
    let pool = Pool::new(2, MAX_LANES, Priority::Idle).unwrap();
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
        handle: Arc::default(),
        orphaned: None,
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

  fn job(cost: u32, handle: Arc<Handle>, tx: mpsc::Sender<Outcome>) -> Job {
    let setting = Setting {
      minor: crate::format::Minor::B,
      cost,
      salt: [1; 16],
    };
    Job {
      input: setting.input(b"pw"),
      done: Box::new(move |out| tx.send(out).unwrap()),
      handle,
      orphaned: None,
    }
  }

  #[test]
  fn cancelled_jobs_leave_the_queue_and_their_lane() {
    let pool = Pool::new(1, MAX_LANES, Priority::Idle).unwrap();
    let (tx, rx) = mpsc::channel();
    // A long job to cancel while it runs, then more than the lanes hold, the last one cancelled
    // while it still waits.
    let running = Arc::new(Handle::default());
    pool.submit(job(20, running.clone(), tx.clone()));
    let waiting = Arc::new(Handle::default());
    for _ in 0..MAX_LANES {
      pool.submit(job(4, Arc::default(), tx.clone()));
    }
    pool.submit(job(4, waiting.clone(), tx.clone()));
    waiting.cancel();
    std::thread::sleep(Duration::from_millis(50));
    running.cancel();
    drop(tx);
    let outcomes: Vec<Outcome> = rx.iter().collect();
    assert_eq!(
      outcomes.iter().filter(|o| **o == Err(Failure::Cancelled)).count(),
      2
    );
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), MAX_LANES);
    let stats = pool.stats();
    assert_eq!(
      (stats.cancelled, stats.completed, stats.running, stats.queued),
      (2, MAX_LANES as u64, 0, 0)
    );
    assert_eq!(stats.compute.counts.iter().sum::<u64>(), MAX_LANES as u64);
  }

  #[test]
  fn the_queue_bound_does_not_count_jobs_that_free_lanes_will_take() {
    let pool = Pool::new(1, 3, Priority::Idle).unwrap();
    pool.set_max_queue(Some(0));
    let (tx, rx) = mpsc::channel();
    for _ in 0..3 {
      pool
        .reserve()
        .expect("a lane is free")
        .submit(job(4, Arc::default(), tx.clone()));
    }
    assert!(pool.reserve().is_err(), "every lane is taken and no job may wait");
    assert_eq!(rx.iter().take(3).filter(|o| o.is_ok()).count(), 3);
  }

  #[test]
  fn the_queue_bound_refuses_at_once_and_counts_reservations() {
    let pool = Pool::new(1, 1, Priority::Idle).unwrap();
    pool.set_max_queue(Some(2));
    let (tx, rx) = mpsc::channel();
    pool.submit(job(14, Arc::default(), tx.clone())); // occupies the only lane for a while
    std::thread::sleep(Duration::from_millis(20));
    let first = pool.reserve().unwrap();
    let second = pool.reserve().unwrap();
    assert!(pool.reserve().is_err(), "two places are promised");
    drop(second);
    let third = pool.reserve().unwrap();
    first.submit(job(4, Arc::default(), tx.clone()));
    third.submit(job(4, Arc::default(), tx.clone()));
    assert!(pool.reserve().is_err(), "two jobs wait");
    assert_eq!(pool.stats().rejected, 2);
    // A cancelled job gives its place back when the queue is full.
    let handle = Arc::new(Handle::default());
    pool.set_max_queue(Some(3));
    pool.reserve().unwrap().submit(job(4, handle.clone(), tx.clone()));
    assert!(pool.reserve().is_err());
    handle.cancel();
    drop(pool.reserve().unwrap());
    pool.set_max_queue(None);
    pool.reserve().unwrap().submit(job(4, Arc::default(), tx));
    let outcomes: Vec<Outcome> = rx.iter().take(5).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 4);
    assert_eq!(
      outcomes.iter().filter(|o| **o == Err(Failure::Cancelled)).count(),
      1
    );
  }

  /// Occupies a one-lane, one-thread pool with a job that runs until cancelled, queues `waiting`
  /// jobs behind it, and returns the handles.
  fn blocked_pool(
    max_queue: usize,
    waiting: usize,
  ) -> (Pool, Arc<Handle>, Vec<Arc<Handle>>, mpsc::Receiver<Outcome>) {
    let pool = Pool::new(1, 1, Priority::Normal).unwrap();
    let (tx, rx) = mpsc::channel();
    let blocker = Arc::new(Handle::default());
    pool.submit(job(31, blocker.clone(), tx.clone()));
    while pool.stats().running == 0 {
      thread::yield_now();
    }
    let handles: Vec<Arc<Handle>> = (0..waiting).map(|_| Arc::new(Handle::default())).collect();
    for h in &handles {
      pool.submit(job(4, h.clone(), tx.clone()));
    }
    pool.set_max_queue(Some(max_queue));
    (pool, blocker, handles, rx)
  }

  #[test]
  fn a_refusal_costs_the_same_whatever_the_queue_holds() {
    // Each refusal used to re-partition the whole queue. Timed as a ratio between a queue of 100
    // and one of 100,000 (each the best of five tries), not as a threshold: with the old code the
    // ratio was in the hundreds.
    let time_refusals = |waiting: usize| {
      let (pool, blocker, _handles, _rx) = blocked_pool(waiting, waiting);
      let best = (0..5)
        .map(|_| {
          let t = Instant::now();
          for _ in 0..2_000 {
            assert!(pool.reserve().is_err());
          }
          t.elapsed()
        })
        .min()
        .unwrap();
      blocker.cancel();
      best
    };
    let small = time_refusals(100);
    let large = time_refusals(100_000);
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    assert!(
      ratio < 10.0,
      "2,000 refusals: {small:?} with 100 queued, {large:?} with 100,000"
    );
  }

  #[test]
  fn a_cancelled_job_frees_its_place_at_once_and_dead_jobs_are_compacted() {
    let (pool, blocker, handles, rx) = blocked_pool(1_000, 1_000);
    assert!(pool.reserve().is_err());
    handles[500].cancel();
    handles[500].cancel(); // idempotent: one place, not two
    drop(pool.reserve().expect("the cancelled job's place"));
    assert_eq!(pool.stats().queued, 999);
    // Cancelling most of the queue shrinks it without waiting for a worker to reach the dead: what
    // stays is the 100 live jobs and fewer dead ones than set off a compaction.
    handles[..900].iter().for_each(|h| h.cancel());
    let left = pool.shared.lock().jobs.len();
    assert!(left <= 100 + COMPACT_AT, "{left} jobs left in the queue");
    assert_eq!(pool.stats().queued, 100);
    assert_eq!(
      rx.try_iter().filter(|o| *o == Err(Failure::Cancelled)).count(),
      1_000 - left
    );
    blocker.cancel();
    let outcomes: Vec<Outcome> = rx.iter().take(left + 1).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 100);
    assert_eq!(pool.stats().cancelled, 901);
  }

  #[test]
  fn a_failed_start_stops_the_threads_it_started() {
    let live = Arc::new(AtomicUsize::new(0));
    let mut started = 0;
    let result = Pool::start(8, 2, Priority::Idle, |name, work| {
      started += 1;
      if started == 4 {
        return Err(std::io::Error::other("no room for a thread"));
      }
      let live = live.clone();
      live.fetch_add(1, Relaxed);
      thread::Builder::new().name(name).spawn(move || {
        work();
        live.fetch_sub(1, Relaxed);
      })
    });
    assert!(matches!(result, Err(PoolError::Spawn(_))));
    // Joined before the error returned: nothing is left parked.
    assert_eq!(live.load(Relaxed), 0);
  }

  #[test]
  fn dropping_a_pool_cancels_what_it_holds_and_joins_its_threads() {
    let (pool, _blocker, handles, rx) = blocked_pool(10, 10);
    drop(pool);
    let outcomes: Vec<Outcome> = rx.try_iter().collect();
    assert_eq!(outcomes, vec![Err(Failure::Cancelled); 1 + handles.len()]);
  }

  #[cfg(feature = "fault-injection")]
  #[test]
  fn a_job_that_panics_fails_alone_and_the_pool_keeps_serving() {
    let pool = Pool::new(1, MAX_LANES, Priority::Idle).unwrap();
    let setting = Setting {
      minor: crate::format::Minor::B,
      cost: 8,
      salt: [7; 16],
    };
    let passwords: Vec<Vec<u8>> = (0..2 * MAX_LANES)
      .map(|i| match i {
        2 => kernel::FAULT_PASSWORD.to_vec(),
        _ => format!("password {i}").into_bytes(),
      })
      .collect();
    let (tx, rx) = mpsc::channel();
    for (i, password) in passwords.iter().enumerate() {
      let tx = tx.clone();
      pool.submit(Job {
        input: setting.input(password),
        done: Box::new(move |out| tx.send((i, out)).unwrap()),
        handle: Arc::default(),
        orphaned: None,
      });
    }
    drop(tx);
    let mut seen = 0;
    for (i, outcome) in rx {
      if i == 2 {
        assert_eq!(outcome, Err(Failure::Panicked));
      } else {
        assert_eq!(
          outcome,
          Ok(kernel::hash_one(&setting.input(&passwords[i]))),
          "job {i}"
        );
      }
      seen += 1;
    }
    assert_eq!(seen, passwords.len());
    let stats = pool.stats();
    assert_eq!(
      (stats.completed, stats.running, stats.queued),
      (passwords.len() as u64, 0, 0)
    );
  }
}
