//! One pool thread whose jobs arrive at given steps, run by the pool's own lane driver
//! (`pool::driver::run`), and what must hold whatever the jobs: each job settles once; every lane
//! steps together and never more than the width; a free lane is offered the queue after every step,
//! so a job joins mid-batch as soon as it has arrived; a job leaves at the step it is done, or at the
//! first check after it is cancelled. Time is counted in steps. What the answers must be is the
//! includer's: tests/differential.rs (the `bcrypt` crate), fuzz/fuzz_targets/hash_verify.rs (one
//! lane) and bench/lanes.rs (the first lane), each of which includes this file.

use std::cell::{Cell, RefCell};

use bcrypt_offload::kernel::Input;
use bcrypt_offload::pool::driver::{self, Host};
use bcrypt_offload::pool::{JobFailure, Outcome};

/// A job for the thread.
pub struct Arrival {
  pub input: Input,
  /// Steps the thread has run when the job is queued.
  pub at: u64,
  /// Steps the thread has run when the job is cancelled, if it is.
  pub cancel_at: Option<u64>,
}

/// What became of a job.
#[derive(Debug)]
pub struct Record {
  /// Steps run when the driver took it from the queue.
  pub taken: u64,
  /// Steps run when it settled.
  pub settled: u64,
  pub outcome: Outcome,
}

/// Runs `jobs` on one thread of `width` lanes until every one has settled, checks the rules above,
/// and returns what became of each, in the order given. Jobs queue in the order they arrive (ties in
/// the order given). A thread with every lane empty takes the next job at once, whenever it
/// arrives: the pool's thread would be blocked until then, with no steps to count.
pub fn run(jobs: Vec<Arrival>, width: usize) -> Vec<Record> {
  let mut queue: Vec<usize> = (0..jobs.len()).collect();
  queue.sort_by_key(|&i| jobs[i].at);
  let thread = Thread {
    queue,
    next: Cell::new(0),
    width,
    now: Cell::new(0),
    running: Cell::new(0),
    offered: Cell::new(false),
    taken: RefCell::new(vec![None; jobs.len()]),
    in_lane: RefCell::new(vec![false; jobs.len()]),
    records: RefCell::new((0..jobs.len()).map(|_| None).collect()),
    jobs,
  };
  driver::run(&thread);
  let records: Vec<Record> = thread
    .records
    .into_inner()
    .into_iter()
    .enumerate()
    .map(|(i, r)| r.unwrap_or_else(|| panic!("job {i} never settled")))
    .collect();
  // A step that panics settles its batch early, each job replayed alone; only then may a job that
  // computed fine settle before its last step, and then some job has failed for it.
  let panicked = records.iter().any(|r| r.outcome == Err(JobFailure::Panicked));
  for (i, (job, r)) in thread.jobs.iter().zip(&records).enumerate() {
    let last_step = r.taken + work(job.input.cost);
    assert!(r.taken >= job.at, "job {i} taken before it arrived: {r:?}");
    match (&r.outcome, job.cancel_at) {
      (Ok(_), cancel_at) => {
        assert!(
          cancel_at.is_none_or(|c| c > r.settled),
          "job {i} computed once cancelled: {r:?}"
        );
        match panicked {
          false => assert_eq!(r.settled, last_step, "job {i} left late or early"),
          true => assert!(r.settled <= last_step, "job {i} left late"),
        }
      }
      (Err(JobFailure::Cancelled), Some(c)) => {
        assert!(c <= last_step, "job {i} cancelled after its last step: {r:?}");
        assert_eq!(
          r.settled,
          c.max(r.taken),
          "job {i} not dropped at the first check after its cancellation"
        );
      }
      (Err(JobFailure::Panicked), _) => {}
      (outcome, _) => panic!("job {i}: {outcome:?} for {r:?}"),
    }
  }
  records
}

/// Key-schedule steps of a hash at `cost`: one salted expansion, then 2^cost rounds of two.
fn work(cost: u32) -> u64 {
  1 + (2u64 << cost)
}

struct Thread {
  jobs: Vec<Arrival>,
  /// Indices into `jobs`, in the order they queue; those before `next` have been taken.
  queue: Vec<usize>,
  next: Cell<usize>,
  width: usize,
  /// Steps run.
  now: Cell<u64>,
  /// Jobs in a lane.
  running: Cell<usize>,
  /// Whether the driver asked for jobs since the last step.
  offered: Cell<bool>,
  taken: RefCell<Vec<Option<u64>>>,
  in_lane: RefCell<Vec<bool>>,
  records: RefCell<Vec<Option<Record>>>,
}

impl Thread {
  /// Takes from the queue, in order, up to `n` jobs that have arrived.
  fn arrived(&self, n: usize) -> Vec<usize> {
    self.offered.set(true);
    let mut jobs = Vec::new();
    while let Some(&i) = self.queue.get(self.next.get()) {
      if jobs.len() == n || self.jobs[i].at > self.now.get() {
        break;
      }
      self.taken.borrow_mut()[i] = Some(self.now.get());
      self.next.set(self.next.get() + 1);
      jobs.push(i);
    }
    jobs
  }
}

impl Host for Thread {
  type Job = usize;

  fn width(&self) -> usize {
    self.width
  }

  fn wait_for_jobs(&self) -> Option<Vec<usize>> {
    assert_eq!(self.running.get(), 0, "waited for jobs with lanes running");
    let &i = self.queue.get(self.next.get())?;
    self.now.set(self.now.get().max(self.jobs[i].at));
    Some(self.arrived(self.width))
  }

  fn take(&self, free: usize) -> Vec<usize> {
    assert_eq!(
      free,
      self.width - self.running.get(),
      "offered the wrong number of lanes"
    );
    self.arrived(free)
  }

  fn input<'a>(&'a self, job: &'a usize) -> &'a Input {
    &self.jobs[*job].input
  }

  fn unwanted(&self, &job: &usize) -> bool {
    self.jobs[job].cancel_at.is_some_and(|c| c <= self.now.get())
  }

  fn started(&self, &mut job: &mut usize) {
    self.in_lane.borrow_mut()[job] = true;
    self.running.set(self.running.get() + 1);
  }

  fn stepped(&self, lanes: usize) {
    assert_eq!(lanes, self.running.get(), "a lane was left out of the step");
    assert!(lanes <= self.width, "{lanes} lanes at width {}", self.width);
    assert!(
      lanes == self.width || self.offered.get(),
      "a lane was free and no job was offered it"
    );
    self.offered.set(false);
    self.now.set(self.now.get() + 1);
  }

  fn settle(&self, job: usize, outcome: Outcome) {
    if std::mem::take(&mut self.in_lane.borrow_mut()[job]) {
      self.running.set(self.running.get() - 1);
    }
    let taken = self.taken.borrow()[job].expect("settled a job it was not handed");
    let record = Record {
      taken,
      settled: self.now.get(),
      outcome,
    };
    let slot = &mut self.records.borrow_mut()[job];
    assert!(
      slot.is_none(),
      "job {job} settled twice: {slot:?}, then {record:?}"
    );
    *slot = Some(record);
  }
}
