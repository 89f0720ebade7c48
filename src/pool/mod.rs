//! The package's own worker threads, which feed queued jobs to the kernel as lanes.
//!
//! Why not libuv's threadpool (napi's `AsyncTask`): its 4 threads also serve `fs`, `dns`, `zlib` and
//! `crypto`, so a burst of hashes there stalls every file read in the process. Why not rayon: its
//! work-stealing runs closures to completion, while a worker here must keep several hashes in flight
//! and admit a newly queued one between two key-schedule steps (~25 µs apart at one lane), so that a
//! lone hash starts at once and a burst fills every lane.
//!
//! Here: a `Pool`, its `Reservation`s (admission: the class bounds and the deadlines) and what they
//! share. `queue` holds waiting jobs in the scheduler's order (classes, compares first, keys in
//! turn) and the `Handle` through which a caller cancels one; `rate` the pool's measured speed;
//! `driver` the loop each thread runs (admission between steps, panic isolation, retiring), with
//! `worker` the pool's side of it (the queue, the counts, settling); `stats` the counters and
//! histograms; `priority` the OS scheduling class of the threads; `global` the one process-wide
//! pool the bindings use, with its configuration from `configure` and the environment; `memory`
//! the budget that tasks' memory is held to.
//!
//! Beside bcrypt's lanes, a thread runs whole-thread tasks (argon2, scrypt, PBKDF2: `Task`). They
//! are memory-bound, not latency-bound, and their crates compute one from start to end, so there is
//! nothing to interleave: a thread takes a task only when it has no lanes in flight, from
//! `wait_for_jobs`, and runs it to its end. Tasks share the queue with hashes (classes, keys,
//! deadlines, cancellation while queued, stats); when a task's turn comes it is parked until the
//! memory budget holds it and a thread is free of lanes, and while one waits that memory allows,
//! threads with lanes in flight admit no new hashes, so that one of them drains (within one hash)
//! and takes it. The same threads, off libuv's pool, for the same reasons as bcrypt's.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::kernel::{Ciphertext, Input, MAX_LANES};

pub mod driver;
mod global;
mod memory;
mod priority;
mod queue;
mod rate;
mod stats;
#[cfg(test)]
mod task_tests;
mod tuning;
mod worker;

pub use global::{configure, global, global_stats, memory_budget, Config, LanesSource, MAX_THREADS};
pub use priority::Priority;
pub use queue::{Class, Handle, Spec};
pub use stats::{ClassStats, HistogramSnapshot, Stats, BUCKETS_MS};
pub use tuning::Throughput;

use priority::lower_priority;
use queue::{Queue, Ticket, Work, NEW, QUEUED};
use rate::Rate;
use stats::{ClassCounters, Histogram};

/// Why a job has no output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobFailure {
  /// Computing it panicked: a bug, reported instead of taking the process down.
  Panicked,
  /// Its cancellation flag was set before it finished; it was dropped from the queue or its lane.
  Cancelled,
  /// Its deadline passed while it waited for a lane; it was dropped from the queue uncomputed.
  Expired,
}

/// The kernel's output, or why there is none.
pub type Outcome = Result<Ciphertext, JobFailure>;

/// Called on a pool thread once with the job's outcome. It must not block for long: the lanes that
/// share the thread wait for it.
pub type Done = Box<dyn FnOnce(Outcome) + Send>;

/// A whole-thread task's computation: run once, to its end, on a pool thread.
pub type TaskFn = Box<dyn FnOnce() -> Vec<u8> + Send>;

/// A task's output, or why there is none.
pub type TaskOutcome = Result<Vec<u8>, JobFailure>;

/// Called on a pool thread once with the task's outcome.
pub type TaskDone = Box<dyn FnOnce(TaskOutcome) + Send>;

/// A job that takes a thread to itself and holds `memory` bytes while it runs: argon2, scrypt,
/// PBKDF2. Cancelled or expired while it waits, it is dropped uncomputed; once running it runs to
/// its end (its crate cannot be stopped midway), and a cancellation then only drops its output.
pub struct Task {
  pub compute: TaskFn,
  /// Bytes it holds at most while it runs, counted against the pool's memory budget.
  pub memory: usize,
  pub done: TaskDone,
  pub handle: Arc<Handle>,
  pub orphaned: Option<Arc<AtomicBool>>,
}

pub struct Job {
  pub input: Input,
  pub done: Done,
  /// The caller's hold on the job: `Handle::cancel` drops it wherever it is.
  pub handle: Arc<Handle>,
  /// Set when whoever would receive the outcome is gone for good (a torn-down JS environment):
  /// shared by many jobs, checked when the job leaves the queue and between steps.
  pub orphaned: Option<Arc<AtomicBool>>,
}

/// Why `Pool::reserve` refused.
#[derive(Debug, PartialEq)]
pub enum Refusal {
  /// `max_queue` jobs of `class` already wait.
  Full { class: Class, max_queue: usize },
  /// The job could not start before its deadline: about `wait` of work is queued ahead of it at the
  /// pool's measured rate (zero for a deadline already past).
  Late { wait: Duration },
  /// A task needs more memory than the whole budget.
  TooBig { memory: usize, budget: usize },
}

/// Why the pool (or `configure`) refused. Messages are the bindings' business: this carries the
/// facts they are worded from.
#[derive(Debug)]
pub enum PoolError {
  /// An environment variable is set to something it cannot be.
  BadEnv { name: &'static str, value: String },
  /// `configure` asked for 0 threads or more than `MAX_THREADS`.
  BadSize(usize),
  /// `configure` asked for another size after the pool had started.
  AlreadyStarted { running: usize },
  /// The OS refused a thread.
  Spawn(std::io::Error),
}

/// What the pool's threads and its callers share.
struct Shared {
  queue: Mutex<Queue>,
  wake: Condvar,
  /// Set, under the queue's lock, when the pool is dropped: every job it holds is cancelled.
  closing: AtomicBool,
  /// `queue.live()`, readable between steps without taking the lock.
  queued: AtomicUsize,
  /// By class, the most jobs that may wait beyond the free lanes; `usize::MAX` for no bound.
  max_queue: [AtomicUsize; 3],
  /// Worker threads.
  threads: usize,
  /// Hashes each thread interleaves at most; may change while the pool runs (`Pool::set_lanes`).
  lanes: AtomicUsize,
  /// Whether urgent jobs (compares) are taken before the others.
  compare_first: AtomicBool,
  /// Workers blocked waiting for work.
  idle: AtomicUsize,
  /// Jobs taken from the queue and not yet settled, across all threads.
  running: AtomicUsize,
  /// Of those, tasks: each has a thread to itself.
  tasks_running: AtomicUsize,
  /// Bytes the running tasks may hold at most together (see `memory`).
  budget: AtomicUsize,
  /// `queue.memory_in_use` and `queue.parked()`, readable without the lock.
  memory_in_use: AtomicUsize,
  parked: AtomicUsize,
  /// Jobs whose computation panicked. Those computed fine are counted by `compute`, so that
  /// `completed` and the histogram's count are always read from one snapshot and agree.
  failed: AtomicU64,
  rejected: AtomicU64,
  cancelled: AtomicU64,
  expired: AtomicU64,
  /// Time from submission to a lane.
  wait: Histogram,
  /// Time in a lane.
  compute: Histogram,
  /// The same counts by class.
  classes: [ClassCounters; 3],
  /// Lane-steps per millisecond the pool sustains, for deadlines.
  rate: Rate,
}

/// Dropping a pool cancels every job it holds (each settles `Cancelled`) and joins its threads,
/// which stop within one step. The process-wide pool (`global`) is never dropped.
pub struct Pool {
  shared: Arc<Shared>,
  workers: Vec<JoinHandle<()>>,
  priority: Priority,
}

/// A place in the queue, held while the caller builds its job. Dropping it unused gives it back.
pub struct Reservation<'a> {
  shared: &'a Arc<Shared>,
  /// How the job is scheduled: its class, key and deadline, and whether a caller is waiting on it
  /// now (a login's compare, not a registration's hash: while the pool puts compares first,
  /// `Pool::set_compare_first`, the default, it is taken before every job of its class that is
  /// not).
  spec: Spec,
  used: bool,
}

impl Reservation<'_> {
  pub fn submit(self, job: Job) {
    let work = Work::Hash {
      input: Box::new(job.input),
      done: job.done,
    };
    self.enqueue(work, job.handle, job.orphaned);
  }

  pub fn submit_task(self, task: Task) {
    let work = Work::Task {
      compute: task.compute,
      memory: task.memory,
      done: task.done,
    };
    self.enqueue(work, task.handle, task.orphaned);
  }

  fn enqueue(mut self, work: Work, handle: Arc<Handle>, orphaned: Option<Arc<AtomicBool>>) {
    self.used = true;
    let spec = std::mem::take(&mut self.spec);
    let now = Instant::now();
    let ticket = Ticket {
      work,
      handle,
      orphaned,
      spec,
      queued_at: now,
      started_at: now,
    };
    // The handle learns its pool before it can be seen queued, so that a cancellation from then on
    // finds the queue to give its place back to.
    let _ = ticket.handle.shared.set(Arc::downgrade(self.shared));
    let mut queue = self.shared.lock();
    queue.reserved[ticket.spec.class.index()] -= 1;
    if ticket
      .handle
      .state
      .compare_exchange(NEW, QUEUED, Relaxed, Relaxed)
      .is_err()
    {
      // Cancelled before it was queued.
      drop(queue);
      self.shared.settle_dead(ticket);
      return;
    }
    queue.push(ticket);
    self.shared.publish(&queue);
    drop(queue);
    self.shared.wake.notify_one();
  }
}

impl Drop for Reservation<'_> {
  fn drop(&mut self) {
    if !self.used {
      self.shared.lock().reserved[self.spec.class.index()] -= 1;
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
      queue: Mutex::new(Queue::default()),
      closing: AtomicBool::new(false),
      wake: Condvar::new(),
      queued: AtomicUsize::new(0),
      max_queue: std::array::from_fn(|_| AtomicUsize::new(usize::MAX)),
      threads,
      lanes: AtomicUsize::new(lanes),
      compare_first: AtomicBool::new(true),
      idle: AtomicUsize::new(0),
      running: AtomicUsize::new(0),
      tasks_running: AtomicUsize::new(0),
      budget: AtomicUsize::new(usize::MAX),
      memory_in_use: AtomicUsize::new(0),
      parked: AtomicUsize::new(0),
      failed: AtomicU64::new(0),
      rejected: AtomicU64::new(0),
      cancelled: AtomicU64::new(0),
      expired: AtomicU64::new(0),
      wait: Histogram::new(),
      compute: Histogram::new(),
      classes: std::array::from_fn(|_| ClassCounters::new()),
      rate: Rate::new(),
    });
    let mut pool = Pool {
      shared,
      workers: Vec::with_capacity(threads),
      priority,
    };
    for i in 0..threads {
      let shared = pool.shared.clone();
      // Each thread is started only once the one before it is running. A thread's start-up
      // allocates (the C library's thread-local bookkeeping), and an allocation that fails
      // aborts the process; so when the OS refuses a thread for want of address space, every
      // thread already started must be past that point, parked where nothing allocates, ready to
      // be stopped.
      let running = Arc::new(Barrier::new(2));
      let started = running.clone();
      let work = Box::new(move || {
        started.wait();
        if priority == Priority::Idle {
          lower_priority();
        }
        shared.work()
      });
      // On error `pool` drops here, which stops and joins the workers already started.
      let worker = spawn(format!("bcrypt-pool-{i}"), work).map_err(PoolError::Spawn)?;
      pool.workers.push(worker);
      running.wait();
    }
    Ok(pool)
  }

  /// Bounds `class`'s share of the queue: once `max` of its jobs wait for a lane (beyond those that
  /// free lanes are about to take), `reserve` refuses its jobs. `None` removes the bound.
  pub fn set_max_queue(&self, class: Class, max: Option<usize>) {
    self.shared.max_queue[class.index()].store(max.unwrap_or(usize::MAX), Relaxed);
  }

  /// The pool's rate until it has measured its own: lane-steps per millisecond, as the tuner
  /// measured them on one thread (see `rate`).
  pub fn set_rate_hint(&self, lane_steps_per_ms: f64) {
    self
      .shared
      .rate
      .hint(lane_steps_per_ms * self.workers.len() as f64);
  }

  /// Sets how many hashes each thread interleaves at most, from the next admission on: a thread
  /// running more lanes than that lets them finish rather than dropping any.
  pub fn set_lanes(&self, lanes: usize) {
    assert!((1..=MAX_LANES).contains(&lanes));
    self.shared.lanes.store(lanes, Relaxed);
  }

  /// Bounds the bytes running tasks hold together, from the next task on: tasks beyond it wait in
  /// the queue. Those running when it shrinks finish; a task runs alone whatever its size, so that
  /// one queued under a larger budget is not stranded.
  pub fn set_memory_budget(&self, bytes: usize) {
    let queue = self.shared.lock();
    self.shared.budget.store(bytes, Relaxed);
    drop(queue);
    self.shared.wake.notify_all();
  }

  /// Whether compares (urgent jobs) go before hashes, or all jobs in order of arrival.
  pub fn set_compare_first(&self, on: bool) {
    self.shared.compare_first.store(on, Relaxed);
  }

  pub fn stats(&self) -> Stats {
    let s = &self.shared;
    let compute = s.compute.snapshot();
    let bound = |class: Class| {
      let max = s.max_queue[class.index()].load(Relaxed);
      (max != usize::MAX).then_some(max)
    };
    Stats {
      threads: self.workers.len(),
      lanes_per_thread: s.lanes.load(Relaxed),
      queued: s.queued.load(Relaxed),
      running: s.running.load(Relaxed),
      completed: compute.counts.iter().sum::<u64>() + s.failed.load(Relaxed),
      rejected: s.rejected.load(Relaxed),
      cancelled: s.cancelled.load(Relaxed),
      expired: s.expired.load(Relaxed),
      max_queue: bound(Class::Normal),
      wait: s.wait.snapshot(),
      compute,
      compare_first: s.compare_first.load(Relaxed),
      classes: Class::ALL.map(|c| s.classes[c.index()].snapshot(bound(c))),
      rate: s.rate.get(),
      lane_steps: s.rate.steps(),
      tasks_running: s.tasks_running.load(Relaxed),
      memory_budget: s.budget.load(Relaxed),
      memory_in_use: s.memory_in_use.load(Relaxed),
      tasks_waiting_for_memory: s.parked.load(Relaxed),
      ..Stats::default()
    }
  }

  /// A place in the queue for a job of `spec`, or a refusal at once: when `max_queue`
  /// jobs of its class already wait, or when the work queued ahead of it (`Queue::work_ahead`) at
  /// the pool's measured rate would not let it start before its deadline. Callers take the place
  /// before creating anything (a promise, say) that a refusal would leave dangling.
  ///
  /// Constant time whatever the queue holds: cancelled jobs already gave their places back (see
  /// `Handle`), and the work ahead is kept as running sums.
  pub fn reserve(&self, spec: Spec) -> Result<Reservation<'_>, Refusal> {
    let s = &self.shared;
    let class = spec.class;
    let mut queue = s.lock();
    // Jobs that idle lanes will take as soon as their threads wake are not waiting for a lane. A
    // running task holds all its thread's lanes.
    let lanes = s.lanes.load(Relaxed);
    let capacity = s.threads * lanes;
    let busy = s.running.load(Relaxed) + s.tasks_running.load(Relaxed) * (lanes - 1);
    let free_lanes = capacity.saturating_sub(busy);
    let max_queue = s.max_queue[class.index()].load(Relaxed);
    let refusal =
      if queue.live_in(class) + queue.reserved[class.index()] >= max_queue.saturating_add(free_lanes) {
        Some(Refusal::Full { class, max_queue })
      } else if let Some(deadline) = spec.deadline {
        let waiting = queue.live() + queue.reserved.iter().sum::<usize>();
        let wait = match s.rate.get() {
          // Refused whatever is queued: said as a wait of zero.
          _ if deadline <= Instant::now() => Duration::ZERO,
          _ if waiting < free_lanes => Duration::ZERO,
          // Not measured yet: nothing to refuse on but a deadline already past.
          None => Duration::ZERO,
          Some(rate) => {
            let ahead = queue.work_ahead(&spec, s.compare_first.load(Relaxed));
            Duration::from_secs_f64(ahead as f64 / rate / 1e3)
          }
        };
        (Instant::now() + wait >= deadline).then_some(Refusal::Late { wait })
      } else {
        None
      };
    if let Some(refusal) = refusal {
      drop(queue);
      s.rejected.fetch_add(1, Relaxed);
      s.classes[class.index()].rejected.fetch_add(1, Relaxed);
      return Err(refusal);
    }
    queue.reserved[class.index()] += 1;
    Ok(Reservation {
      shared: &self.shared,
      spec,
      used: false,
    })
  }

  /// `reserve` for a task that holds `memory` bytes: refused at once if the whole budget could not
  /// hold it, since it would otherwise wait for ever.
  pub fn reserve_task(&self, spec: Spec, memory: usize) -> Result<Reservation<'_>, Refusal> {
    let budget = self.shared.budget.load(Relaxed);
    if memory > budget {
      self.shared.rejected.fetch_add(1, Relaxed);
      self.shared.classes[spec.class.index()]
        .rejected
        .fetch_add(1, Relaxed);
      return Err(Refusal::TooBig { memory, budget });
    }
    self.reserve(spec)
  }

  /// Queues a task whatever the bounds, its deadline and its size: for tests.
  #[cfg(test)]
  fn submit_task_for_test(&self, task: Task, spec: Spec) {
    self.shared.lock().reserved[spec.class.index()] += 1;
    Reservation {
      shared: &self.shared,
      spec,
      used: false,
    }
    .submit_task(task);
  }

  /// Queues a job, whatever the bounds and its deadline: for callers with nothing to undo.
  pub fn submit(&self, job: Job, spec: Spec) {
    self.shared.lock().reserved[spec.class.index()] += 1;
    Reservation {
      shared: &self.shared,
      spec,
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

#[cfg(test)]
mod tests {
  use super::queue::COMPACT_AT;
  use super::*;
  use crate::format::Setting;
  use crate::kernel;
  use std::sync::mpsc;
  use std::time::Duration;

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
      pool.submit(
        Job {
          input: s.input(password.as_bytes()),
          done: Box::new(move |out| tx.send((i, out.unwrap())).unwrap()),
          handle: Arc::default(),
          orphaned: None,
        },
        Spec::default(),
      );
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

  /// How many of `outcomes` were computed, and how many cancelled.
  fn computed_and_cancelled(outcomes: &[Outcome]) -> (usize, usize) {
    let count = |f: &dyn Fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    (
      count(&Result::is_ok),
      count(&|o| *o == Err(JobFailure::Cancelled)),
    )
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
    // A job that runs until cancelled, then more than the lanes hold, the last one cancelled while
    // it still waits.
    let running = Arc::new(Handle::default());
    pool.submit(job(31, running.clone(), tx.clone()), Spec::default());
    let waiting = Arc::new(Handle::default());
    for _ in 0..MAX_LANES {
      pool.submit(job(4, Arc::default(), tx.clone()), Spec::default());
    }
    pool.submit(job(4, waiting.clone(), tx.clone()), Spec::default());
    waiting.cancel();
    drop(tx);
    // Once the others have settled (their counts first), the first job is alone in its lane.
    let mut outcomes: Vec<Outcome> = rx.iter().take(MAX_LANES + 1).collect();
    let stats = pool.stats();
    assert_eq!((stats.running, stats.queued), (1, 0));
    // Cancelled, it leaves its lane at the next step: its outcome comes before the thread can
    // step twice more (once, if the cancellation lands between a step and its check).
    let steps = stats.lane_steps;
    running.cancel();
    let last = loop {
      if let Ok(outcome) = rx.try_recv() {
        break outcome;
      }
      if pool.stats().lane_steps > steps + 2 {
        // Dropping the pool would wait for that job to leave its lane: fail instead.
        std::mem::forget(pool);
        panic!("a cancelled job kept its lane");
      }
      thread::yield_now();
    };
    assert_eq!(last, Err(JobFailure::Cancelled));
    outcomes.push(last);
    assert_eq!(computed_and_cancelled(&outcomes), (MAX_LANES, 2));
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
    pool.set_max_queue(Class::Normal, Some(0));
    let (tx, rx) = mpsc::channel();
    for _ in 0..3 {
      pool
        .reserve(Spec::default())
        .expect("a lane is free")
        .submit(job(4, Arc::default(), tx.clone()));
    }
    assert!(
      pool.reserve(Spec::default()).is_err(),
      "every lane is taken and no job may wait"
    );
    assert_eq!(rx.iter().take(3).filter(|o| o.is_ok()).count(), 3);
  }

  #[test]
  fn the_queue_bound_refuses_at_once_and_counts_reservations() {
    // The only lane runs a job until it is cancelled.
    let (pool, blocker, _, _) = blocked_pool(2, 0);
    let (tx, rx) = mpsc::channel();
    let first = pool.reserve(Spec::default()).unwrap();
    let second = pool.reserve(Spec::default()).unwrap();
    assert!(pool.reserve(Spec::default()).is_err(), "two places are promised");
    drop(second);
    let third = pool.reserve(Spec::default()).unwrap();
    first.submit(job(4, Arc::default(), tx.clone()));
    third.submit(job(4, Arc::default(), tx.clone()));
    assert!(pool.reserve(Spec::default()).is_err(), "two jobs wait");
    assert_eq!(pool.stats().rejected, 2);
    // A cancelled job gives its place back when the queue is full.
    let handle = Arc::new(Handle::default());
    pool.set_max_queue(Class::Normal, Some(3));
    pool
      .reserve(Spec::default())
      .unwrap()
      .submit(job(4, handle.clone(), tx.clone()));
    assert!(pool.reserve(Spec::default()).is_err());
    handle.cancel();
    drop(pool.reserve(Spec::default()).unwrap());
    pool.set_max_queue(Class::Normal, None);
    pool
      .reserve(Spec::default())
      .unwrap()
      .submit(job(4, Arc::default(), tx));
    blocker.cancel();
    let outcomes: Vec<Outcome> = rx.iter().take(4).collect();
    assert_eq!(computed_and_cancelled(&outcomes), (3, 1));
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
    pool.submit(job(31, blocker.clone(), tx.clone()), Spec::default());
    while pool.stats().running == 0 {
      thread::yield_now();
    }
    let handles: Vec<Arc<Handle>> = (0..waiting).map(|_| Arc::new(Handle::default())).collect();
    for h in &handles {
      pool.submit(job(4, h.clone(), tx.clone()), Spec::default());
    }
    pool.set_max_queue(Class::Normal, Some(max_queue));
    (pool, blocker, handles, rx)
  }

  /// Counts each thread's allocations, so that a test can show a path allocates nothing.
  struct CountingAllocator;

  thread_local! {
    // No destructor, so reading it from inside the allocator allocates nothing.
    static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
  }

  fn allocations() -> u64 {
    ALLOCATIONS.with(|n| n.get())
  }

  // SAFETY: every call goes to the system allocator unchanged; counting only touches a thread-local
  // `Cell`.
  unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
      let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
      std::alloc::System.alloc(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
      let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
      std::alloc::System.realloc(ptr, layout, size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
      std::alloc::System.dealloc(ptr, layout)
    }
  }

  #[global_allocator]
  static ALLOCATOR: CountingAllocator = CountingAllocator;

  #[test]
  fn a_refusal_allocates_nothing_whatever_the_queue_holds() {
    // Each refusal used to re-partition the whole queue into new ones (5.7 ms a refusal with
    // 100,000 queued). A refusal reads the queue's running counts only; the queue's own methods
    // (`live_in`, `live`, `work_ahead`) keep them as sums, so nothing is traversed or built.
    let (pool, blocker, handles, _rx) = blocked_pool(100_000, 100_000);
    // Half of them cancelled: dead jobs that a refusal must not sweep either.
    handles.iter().step_by(2).for_each(|h| h.cancel());
    pool.set_max_queue(Class::Normal, Some(50_000));
    let deadline = Spec {
      deadline: Some(Instant::now()),
      ..Spec::default()
    };
    let before = allocations();
    for _ in 0..1_000 {
      assert!(matches!(pool.reserve(Spec::default()), Err(Refusal::Full { .. })));
      assert!(matches!(
        pool.reserve(deadline.clone()),
        Err(Refusal::Full { .. })
      ));
    }
    pool.set_max_queue(Class::Normal, None);
    pool.shared.rate.hint(1.0);
    for _ in 0..1_000 {
      assert!(matches!(
        pool.reserve(deadline.clone()),
        Err(Refusal::Late { .. })
      ));
    }
    assert_eq!(allocations() - before, 0, "allocations in 3,000 refusals");
    assert_eq!(pool.stats().rejected, 3_000);
    blocker.cancel();
  }

  #[test]
  fn a_cancelled_job_frees_its_place_at_once_and_dead_jobs_are_compacted() {
    let (pool, blocker, handles, rx) = blocked_pool(1_000, 1_000);
    assert!(pool.reserve(Spec::default()).is_err());
    handles[500].cancel();
    handles[500].cancel(); // idempotent: one place, not two
    drop(pool.reserve(Spec::default()).expect("the cancelled job's place"));
    assert_eq!(pool.stats().queued, 999);
    // Cancelling most of the queue shrinks it without waiting for a worker to reach the dead: what
    // stays is the 100 live jobs and fewer dead ones than set off a compaction.
    handles[..900].iter().for_each(|h| h.cancel());
    let left = pool.shared.lock().len();
    assert!(left <= 100 + COMPACT_AT, "{left} jobs left in the queue");
    assert_eq!(pool.stats().queued, 100);
    assert_eq!(
      rx.try_iter().filter(|o| *o == Err(JobFailure::Cancelled)).count(),
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
    assert_eq!(outcomes, vec![Err(JobFailure::Cancelled); 1 + handles.len()]);
  }

  #[test]
  fn compares_go_before_queued_hashes_unless_turned_off() {
    for compare_first in [true, false] {
      let (pool, blocker, _, _) = blocked_pool(100, 0);
      pool.set_compare_first(compare_first);
      let (tx, rx) = mpsc::channel();
      for (i, urgent) in [false, false, false, true, false].into_iter().enumerate() {
        let tx = tx.clone();
        pool.submit(
          Job {
            done: Box::new(move |_| tx.send(i).unwrap()),
            ..job(4, Arc::default(), mpsc::channel().0)
          },
          Spec {
            urgent,
            ..Spec::default()
          },
        );
      }
      blocker.cancel();
      let order: Vec<usize> = rx.iter().take(5).collect();
      match compare_first {
        true => assert_eq!(order, [3, 0, 1, 2, 4]),
        false => assert_eq!(order, [0, 1, 2, 3, 4]),
      }
    }
  }

  /// Queues jobs of `specs` behind a blocked one-lane pool, releases it, and returns the order in
  /// which they settled (indices into `specs`) with each outcome.
  fn run_in_order(specs: Vec<Spec>) -> Vec<(usize, Outcome)> {
    let (pool, blocker, _, _) = blocked_pool(usize::MAX, 0);
    let (tx, rx) = mpsc::channel();
    let n = specs.len();
    for (i, spec) in specs.into_iter().enumerate() {
      let tx = tx.clone();
      pool.submit(
        Job {
          done: Box::new(move |out| tx.send((i, out)).unwrap()),
          ..job(4, Arc::default(), mpsc::channel().0)
        },
        spec,
      );
    }
    blocker.cancel();
    rx.iter().take(n).collect()
  }

  fn order(specs: Vec<Spec>) -> Vec<usize> {
    run_in_order(specs).into_iter().map(|(i, _)| i).collect()
  }

  fn spec(class: Class, urgent: bool, key: Option<&str>) -> Spec {
    Spec {
      class,
      urgent,
      key: key.map(Into::into),
      deadline: None,
    }
  }

  #[test]
  fn a_higher_class_always_starts_first_and_compares_first_holds_inside_a_class() {
    use Class::*;
    let specs = vec![
      spec(Low, true, None),
      spec(Normal, false, None),
      spec(Normal, true, None),
      spec(High, false, None),
      spec(Low, false, None),
      spec(High, true, None),
      spec(Normal, true, None),
    ];
    assert_eq!(order(specs), [5, 3, 2, 6, 1, 0, 4]);
  }

  #[test]
  fn keys_take_turns_inside_a_class_so_one_backlog_starves_no_one() {
    // Six jobs of one key, then one each of two others and one with no key: the others start
    // after at most one of the backlog's jobs each, not after all six.
    let mut specs: Vec<Spec> = (0..6)
      .map(|_| spec(Class::Normal, true, Some("attacker")))
      .collect();
    specs.push(spec(Class::Normal, true, Some("alice")));
    specs.push(spec(Class::Normal, true, Some("bob")));
    specs.push(spec(Class::Normal, true, None));
    assert_eq!(order(specs), [0, 6, 7, 8, 1, 2, 3, 4, 5]);
  }

  #[test]
  fn a_job_still_queued_at_its_deadline_is_dropped_uncomputed() {
    let (pool, blocker, _, blocked) = blocked_pool(usize::MAX, 0);
    let (tx, rx) = mpsc::channel();
    let late = Spec {
      deadline: Some(Instant::now()),
      ..Spec::default()
    };
    pool.submit(job(4, Arc::default(), tx.clone()), late);
    let on_time = Spec {
      deadline: Some(Instant::now() + Duration::from_secs(3600)),
      ..Spec::default()
    };
    pool.submit(job(4, Arc::default(), tx.clone()), on_time);
    blocker.cancel();
    assert_eq!(blocked.recv().unwrap(), Err(JobFailure::Cancelled));
    let outcomes: Vec<Outcome> = rx.iter().take(2).collect();
    assert_eq!(outcomes[0], Err(JobFailure::Expired));
    assert!(outcomes[1].is_ok());
    let stats = pool.stats();
    assert_eq!((stats.expired, stats.classes[1].expired), (1, 1));
    // The blocker was cancelled mid-computation; only the job on time was computed.
    assert_eq!(stats.compute.counts.iter().sum::<u64>(), 1);
  }

  #[test]
  fn expire_drops_a_queued_job_and_leaves_a_running_one_alone() {
    let (pool, blocker, handles, rx) = blocked_pool(usize::MAX, 1);
    assert!(!blocker.expire(), "the running job keeps running");
    assert!(handles[0].expire(), "the queued one is dropped");
    assert!(!handles[0].expire(), "once");
    assert_eq!(pool.stats().queued, 0);
    // The dropped job settles when the worker, free again, skips it.
    blocker.cancel();
    let outcomes: Vec<Outcome> = rx.iter().take(2).collect();
    assert_eq!(outcomes, [Err(JobFailure::Cancelled), Err(JobFailure::Expired)]);
    assert_eq!((pool.stats().expired, pool.stats().cancelled), (1, 1));
  }

  #[test]
  fn a_job_that_cannot_start_in_time_is_refused_at_once() {
    let (pool, blocker, _, _) = blocked_pool(usize::MAX, 0);
    // Ten cost-14 jobs ahead are 327,690 lane-steps: 328 ms at the hinted 1,000 steps per ms, and
    // longer at whatever the blocked lane measures meanwhile (it replaces the hint once a window
    // of queued work has passed).
    pool.shared.rate.hint(1_000.0);
    for _ in 0..10 {
      pool.submit(job(14, Arc::default(), mpsc::channel().0), Spec::default());
    }
    let within = |ms: u64| Spec {
      deadline: Some(Instant::now() + Duration::from_millis(ms)),
      ..Spec::default()
    };
    // The wait foreseen is the work ahead at the rate in force; read around the call until the
    // rate did not change under it (it changes at most once a window).
    let (wait, rate) = loop {
      let rate = pool.shared.rate.get().unwrap();
      let refusal = pool.reserve(within(200));
      if pool.shared.rate.get() == Some(rate) {
        match refusal {
          Err(Refusal::Late { wait }) => break (wait, rate),
          other => panic!("{:?}", other.map(|_| ())),
        }
      }
    };
    let expected = 327_690.0 / rate / 1e3;
    assert!(
      (wait.as_secs_f64() - expected).abs() < 1e-6,
      "{wait:?} against {expected} s"
    );
    assert!(pool.reserve(within(3_600_000)).is_ok());
    // A higher class has nothing ahead of it: the same deadline is met.
    let high = Spec {
      class: Class::High,
      ..within(200)
    };
    assert!(pool.reserve(high).is_ok());
    let stats = pool.stats();
    assert!(stats.rejected >= 1 && stats.rejected == stats.classes[1].rejected);
    assert_eq!(stats.classes[0].rejected, 0);
    blocker.cancel();
  }

  #[test]
  fn each_class_has_its_own_bound() {
    let (pool, blocker, _, _) = blocked_pool(usize::MAX, 0);
    pool.set_max_queue(Class::Normal, Some(1));
    pool.set_max_queue(Class::High, Some(2));
    let normal = Spec::default();
    let high = spec(Class::High, true, None);
    pool
      .reserve(normal.clone())
      .unwrap()
      .submit(job(4, Arc::default(), mpsc::channel().0));
    assert_eq!(
      pool.reserve(normal.clone()).err(),
      Some(Refusal::Full {
        class: Class::Normal,
        max_queue: 1
      })
    );
    for _ in 0..2 {
      pool
        .reserve(high.clone())
        .unwrap()
        .submit(job(4, Arc::default(), mpsc::channel().0));
    }
    assert!(pool.reserve(high.clone()).is_err());
    assert!(
      pool.reserve(spec(Class::Low, false, None)).is_ok(),
      "low is unbounded"
    );
    let stats = pool.stats();
    assert_eq!(
      stats
        .classes
        .each_ref()
        .map(|c| (c.queued, c.rejected, c.max_queue)),
      [(2, 1, Some(2)), (1, 1, Some(1)), (0, 0, None)]
    );
    assert_eq!(
      stats.max_queue,
      Some(1),
      "the top-level bound is the normal class's"
    );
    blocker.cancel();
  }

  #[test]
  fn a_thread_takes_no_more_jobs_than_its_lanes_allow_now() {
    let pool = Pool::new(1, MAX_LANES, Priority::Normal).unwrap();
    pool.set_lanes(2);
    let handles: Vec<Arc<Handle>> = (0..4).map(|_| Arc::new(Handle::default())).collect();
    let (tx, rx) = mpsc::channel();
    for h in &handles {
      pool.submit(job(31, h.clone(), tx.clone()), Spec::default());
    }
    while pool.stats().running < 2 {
      thread::yield_now();
    }
    // A hundred steps of two lanes, each step a chance to admit more: two still run and two wait.
    let steps = pool.stats().lane_steps;
    while pool.stats().lane_steps < steps + 2 * 100 {
      thread::yield_now();
    }
    let stats = pool.stats();
    assert_eq!((stats.running, stats.queued, stats.lanes_per_thread), (2, 2, 2));
    pool.set_lanes(3);
    while pool.stats().running < 3 {
      thread::yield_now();
    }
    handles.iter().for_each(|h| h.cancel());
    assert_eq!(
      rx.iter()
        .take(4)
        .filter(|o| *o == Err(JobFailure::Cancelled))
        .count(),
      4
    );
  }

  /// The policy of the thread that runs a job's completion, which is a pool thread. Read with the
  /// raw syscall, as musl's `sched_getscheduler()` is a stub that fails with ENOSYS.
  #[cfg(target_os = "linux")]
  fn pool_thread_policy(priority: Priority) -> libc::c_long {
    let pool = Pool::new(1, 1, priority).unwrap();
    let (tx, rx) = mpsc::channel();
    pool.submit(
      Job {
        // SAFETY: sched_getscheduler on the calling thread (pid 0) takes no pointer.
        done: Box::new(move |_| {
          tx.send(unsafe { libc::syscall(libc::SYS_sched_getscheduler, 0) })
            .unwrap()
        }),
        ..job(4, Arc::default(), mpsc::channel().0)
      },
      Spec::default(),
    );
    rx.recv().unwrap()
  }

  #[cfg(target_os = "linux")]
  #[test]
  fn pool_threads_run_under_sched_idle_unless_told_otherwise() {
    assert_eq!(
      pool_thread_policy(Priority::Idle),
      libc::SCHED_IDLE as libc::c_long
    );
    // SAFETY: as above, on this test thread.
    let own = unsafe { libc::syscall(libc::SYS_sched_getscheduler, 0) };
    assert_eq!(pool_thread_policy(Priority::Normal), own);
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
      pool.submit(
        Job {
          input: setting.input(password),
          done: Box::new(move |out| tx.send((i, out)).unwrap()),
          handle: Arc::default(),
          orphaned: None,
        },
        Spec::default(),
      );
    }
    drop(tx);
    let mut seen = 0;
    for (i, outcome) in rx {
      if i == 2 {
        assert_eq!(outcome, Err(JobFailure::Panicked));
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
