//! Tests of whole-thread tasks beside bcrypt's lanes: the memory budget, their turn in the queue,
//! cancellation, refusal.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::*;
use crate::format::{Minor, Setting};

/// A task that holds `memory` bytes and runs until `release` is set, recording how many such
/// tasks run at once and the most memory they held together.
struct Probe {
  release: Arc<AtomicBool>,
  running: Arc<AtomicUsize>,
  held: Arc<AtomicUsize>,
  peak_held: Arc<AtomicUsize>,
}

impl Probe {
  fn new() -> Probe {
    Probe {
      release: Arc::default(),
      running: Arc::default(),
      held: Arc::default(),
      peak_held: Arc::default(),
    }
  }

  fn task(&self, memory: usize, handle: Arc<Handle>, tx: mpsc::Sender<TaskOutcome>) -> Task {
    let (release, running, held, peak) = (
      self.release.clone(),
      self.running.clone(),
      self.held.clone(),
      self.peak_held.clone(),
    );
    Task {
      compute: Box::new(move || {
        running.fetch_add(1, SeqCst);
        let now = held.fetch_add(memory, SeqCst) + memory;
        peak.fetch_max(now, SeqCst);
        while !release.load(SeqCst) {
          thread::sleep(Duration::from_millis(1));
        }
        held.fetch_sub(memory, SeqCst);
        running.fetch_sub(1, SeqCst);
        vec![memory as u8]
      }),
      memory,
      done: Box::new(move |out| tx.send(out).unwrap()),
      handle,
      orphaned: None,
    }
  }
}

/// Whether `f` comes to hold within 30 s (polled).
fn eventually(f: impl Fn() -> bool) -> bool {
  let start = std::time::Instant::now();
  while !f() {
    if start.elapsed() >= Duration::from_secs(30) {
      return false;
    }
    thread::sleep(Duration::from_millis(1));
  }
  true
}

fn wait_until(what: &str, f: impl Fn() -> bool) {
  assert!(eventually(f), "never: {what}");
}

fn hash_job(tx: mpsc::Sender<Outcome>) -> Job {
  hash_job_at(4, tx)
}

fn hash_job_at(cost: u32, tx: mpsc::Sender<Outcome>) -> Job {
  let setting = Setting {
    minor: Minor::B,
    cost,
    salt: [3; 16],
  };
  Job {
    input: setting.input(b"pw"),
    done: Box::new(move |out| tx.send(out).unwrap()),
    handle: Arc::default(),
    orphaned: None,
  }
}

#[test]
fn tasks_past_the_budget_wait_and_hashes_pass_them() {
  let pool = Pool::new(3, 2, Priority::Normal).unwrap();
  pool.set_memory_budget(100);
  let probe = Probe::new();
  let (tx, rx) = mpsc::channel();
  for _ in 0..6 {
    pool
      .reserve_task(Spec::default(), 40)
      .expect("waits, not refused")
      .submit_task(probe.task(40, Arc::default(), tx.clone()));
  }
  // Two fit in 100 bytes; the third thread stays free for hashes.
  wait_until("two tasks run", || probe.running.load(SeqCst) == 2);
  let stats = pool.stats();
  assert_eq!(
    (stats.tasks_running, stats.memory_in_use, stats.memory_budget),
    (2, 80, 100)
  );
  assert_eq!(stats.queued, 4);
  let (htx, hrx) = mpsc::channel();
  for _ in 0..5 {
    pool.submit(hash_job(htx.clone()), Spec::default());
  }
  assert_eq!(
    hrx.iter().take(5).filter(|o| o.is_ok()).count(),
    5,
    "hashes pass waiting tasks"
  );
  assert_eq!(probe.running.load(SeqCst), 2);
  probe.release.store(true, SeqCst);
  let outcomes: Vec<TaskOutcome> = rx.iter().take(6).collect();
  assert!(outcomes.iter().all(|o| o.as_deref() == Ok(&[40][..])));
  assert_eq!(probe.peak_held.load(SeqCst), 80, "never past the budget");
  let stats = pool.stats();
  assert_eq!(
    (
      stats.tasks_running,
      stats.memory_in_use,
      stats.queued,
      stats.running
    ),
    (0, 0, 0, 0)
  );
  assert_eq!(stats.completed, 11);
}

#[test]
fn a_task_no_budget_holds_is_refused_at_once() {
  let pool = Pool::new(1, 1, Priority::Normal).unwrap();
  pool.set_memory_budget(100);
  assert_eq!(
    pool.reserve_task(Spec::default(), 101).err(),
    Some(Refusal::TooBig {
      memory: 101,
      budget: 100
    })
  );
  assert_eq!(pool.stats().rejected, 1);
}

#[test]
fn a_queued_task_cancelled_or_expired_is_never_computed() {
  let pool = Pool::new(1, 1, Priority::Normal).unwrap();
  pool.set_memory_budget(10);
  let probe = Probe::new();
  let (tx, rx) = mpsc::channel();
  pool.submit_task_for_test(probe.task(10, Arc::default(), tx.clone()), Spec::default());
  wait_until("the first task runs", || probe.running.load(SeqCst) == 1);
  let cancelled = Arc::new(Handle::default());
  let expired = Arc::new(Handle::default());
  pool.submit_task_for_test(probe.task(10, cancelled.clone(), tx.clone()), Spec::default());
  pool.submit_task_for_test(probe.task(10, expired.clone(), tx.clone()), Spec::default());
  // Parked or still in line: either way queued, and given back.
  cancelled.cancel();
  assert!(expired.expire());
  assert_eq!(pool.stats().queued, 0);
  probe.release.store(true, SeqCst);
  let outcomes: Vec<TaskOutcome> = rx.iter().take(3).collect();
  assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
  assert!(outcomes.contains(&Err(JobFailure::Cancelled)));
  assert!(outcomes.contains(&Err(JobFailure::Expired)));
  assert_eq!(probe.peak_held.load(SeqCst), 10);
}

#[test]
fn a_task_waits_for_a_thread_with_no_lanes_and_a_flow_of_hashes_does_not_starve_it() {
  // One thread: it must drain its lanes to run the task, while hashes keep coming.
  let pool = Pool::new(1, 4, Priority::Normal).unwrap();
  let probe = Probe::new();
  probe.release.store(true, SeqCst);
  let (htx, hrx) = mpsc::channel();
  let (tx, rx) = mpsc::channel();
  let stop = Arc::new(AtomicBool::new(false));
  for _ in 0..4 {
    pool.submit(hash_job(htx.clone()), Spec::default());
  }
  pool.submit_task_for_test(probe.task(1, Arc::default(), tx), Spec::default());
  // Keep the queue fed with hashes until the task has run.
  thread::scope(|s| {
    s.spawn(|| {
      while !stop.load(SeqCst) {
        pool.submit(hash_job(htx.clone()), Spec::default());
        thread::sleep(Duration::from_micros(200));
      }
    });
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)), Ok(Ok(vec![1])));
    stop.store(true, SeqCst);
  });
  drop(htx);
  assert!(hrx.iter().all(|o| o.is_ok()));
}

#[test]
fn a_task_runs_alone_after_the_budget_shrank_below_it() {
  let pool = Pool::new(2, 1, Priority::Normal).unwrap();
  pool.set_memory_budget(100);
  let probe = Probe::new();
  let (tx, rx) = mpsc::channel();
  pool.submit_task_for_test(probe.task(60, Arc::default(), tx.clone()), Spec::default());
  wait_until("the first task runs", || probe.running.load(SeqCst) == 1);
  pool.submit_task_for_test(probe.task(60, Arc::default(), tx.clone()), Spec::default());
  pool.set_memory_budget(10);
  probe.release.store(true, SeqCst);
  let outcomes: Vec<TaskOutcome> = rx.iter().take(2).collect();
  assert!(outcomes.iter().all(Result::is_ok));
  assert_eq!(probe.peak_held.load(SeqCst), 60, "one at a time");
}

#[test]
fn a_task_that_panics_fails_alone() {
  let pool = Pool::new(1, 1, Priority::Normal).unwrap();
  let (tx, rx) = mpsc::channel();
  let tx2 = tx.clone();
  pool.submit_task_for_test(
    Task {
      compute: Box::new(|| panic!("a bug")),
      memory: 1,
      done: Box::new(move |out| tx2.send(out).unwrap()),
      handle: Arc::default(),
      orphaned: None,
    },
    Spec::default(),
  );
  assert_eq!(rx.recv().unwrap(), Err(JobFailure::Panicked));
  let probe = Probe::new();
  probe.release.store(true, SeqCst);
  pool.submit_task_for_test(probe.task(1, Arc::default(), tx), Spec::default());
  assert_eq!(rx.recv().unwrap(), Ok(vec![1]));
  let stats = pool.stats();
  assert_eq!((stats.completed, stats.memory_in_use), (2, 0));
}

#[test]
fn dropping_a_pool_cancels_its_parked_tasks() {
  let pool = Pool::new(1, 1, Priority::Normal).unwrap();
  pool.set_memory_budget(10);
  let probe = Probe::new();
  let (tx, rx) = mpsc::channel();
  pool.submit_task_for_test(probe.task(10, Arc::default(), tx.clone()), Spec::default());
  wait_until("the first task runs", || probe.running.load(SeqCst) == 1);
  for _ in 0..3 {
    pool.submit_task_for_test(probe.task(10, Arc::default(), tx.clone()), Spec::default());
  }
  let release = probe.release.clone();
  let dropper = thread::spawn(move || drop(pool));
  thread::sleep(Duration::from_millis(20));
  release.store(true, SeqCst);
  dropper.join().unwrap();
  let outcomes: Vec<TaskOutcome> = rx.iter().take(4).collect();
  assert_eq!(
    outcomes
      .iter()
      .filter(|o| **o == Err(JobFailure::Cancelled))
      .count(),
    3
  );
}

#[test]
fn cancelling_a_parked_task_wakes_threads_for_the_tasks_behind_it() {
  let pool = Pool::new(2, 2, Priority::Normal).unwrap();
  pool.set_memory_budget(100);
  let probe = Probe::new();
  let (tx, _rx) = mpsc::channel();
  pool.submit_task_for_test(probe.task(60, Arc::default(), tx.clone()), Spec::default());
  wait_until("the first task runs", || probe.running.load(SeqCst) == 1);
  // 60 more does not fit beside the first; 30 would, but waits its turn behind the 60.
  let blocked = Arc::new(Handle::default());
  pool.submit_task_for_test(probe.task(60, blocked.clone(), tx.clone()), Spec::default());
  pool.submit_task_for_test(probe.task(30, Arc::default(), tx.clone()), Spec::default());
  wait_until("both parked", || pool.stats().tasks_waiting_for_memory == 2);
  blocked.cancel();
  // The idle thread starts the 30 while the first still runs (it runs until released). Released
  // before asserting, so that a failure fails rather than hangs the pool's drop.
  let started = eventually(|| probe.running.load(SeqCst) == 2);
  probe.release.store(true, SeqCst);
  assert!(started, "the task behind the cancelled one never started");
}

#[test]
fn a_task_waiting_for_memory_is_not_a_hash_waiting_for_a_lane() {
  let pool = Pool::new(2, MAX_LANES, Priority::Normal).unwrap();
  pool.set_memory_budget(100);
  pool.shared.rate.hint(1e9);
  let probe = Probe::new();
  let (tx, _rx) = mpsc::channel();
  pool.submit_task_for_test(probe.task(100, Arc::default(), tx.clone()), Spec::default());
  wait_until("the first task runs", || probe.running.load(SeqCst) == 1);
  pool.submit_task_for_test(probe.task(100, Arc::default(), tx.clone()), Spec::default());
  wait_until("the second parked", || pool.stats().tasks_waiting_for_memory == 1);
  // One hash, long enough to span several of the rate's windows, alone on the other thread.
  let (htx, hrx) = mpsc::channel();
  pool.submit(hash_job_at(13, htx), Spec::default());
  hrx.recv().unwrap().unwrap();
  let rate = pool.stats().rate.unwrap();
  probe.release.store(true, SeqCst);
  // No hash ever waited for a lane: nothing was sampled, and the hint stands.
  assert_eq!(rate, 1e9);
}
