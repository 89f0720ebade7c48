//! The lane driver: the loop a pool thread runs. It admits jobs into lanes between key-schedule
//! steps, steps every lane together (`kernel::step`), retires each job as soon as it is done or no
//! longer wanted, and contains a step that panics. What it runs for is a `Host`: the pool's is its
//! queue, counters and rate (`worker.rs`); the differential property test, the `hash_verify` fuzz
//! target and `bench/lanes.rs` each bring one of their own, so that they check and time this
//! code, jobs joining mid-batch included, rather than a copy of it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{JobFailure, Outcome};
use crate::kernel::{self, Input, Lane, MAX_LANES};

/// Where a driver's jobs come from and where they go. Every method is called on the driver's
/// thread, between steps.
pub trait Host {
  type Job;

  /// Lanes to fill at most now, 1..=`MAX_LANES`. Read before each admission: lanes above it that
  /// already run are left to finish.
  fn width(&self) -> usize;

  /// Blocks until there is work, then returns the first jobs, at most `width()` of them (none is
  /// an answer: the pool's may find only jobs that died in the queue); `None` to stop. Called
  /// whenever every lane is empty.
  fn wait_for_jobs(&self) -> Option<Vec<Self::Job>>;

  /// Jobs to join the running ones before the next step, at most `free`; none is an answer.
  /// Called after every step that leaves a lane free.
  fn take(&self, free: usize) -> Vec<Self::Job>;

  fn input<'a>(&'a self, job: &'a Self::Job) -> &'a Input;

  /// Whether the job is to be dropped rather than computed further: asked on admission, after every
  /// step, and between the steps of a replay.
  fn unwanted(&self, job: &Self::Job) -> bool;

  /// The job has a lane and runs from the next step.
  fn started(&self, job: &mut Self::Job);

  /// Every lane advanced one step; `lanes` of them.
  fn stepped(&self, lanes: usize);

  /// The job's outcome; called once for every job the host handed over.
  fn settle(&self, job: Self::Job, outcome: Outcome);
}

/// Runs jobs from `host` until its `wait_for_jobs` says stop.
///
/// Nothing is allocated until the first job arrives: a pool whose start failed for want of address
/// space stops the threads it did start, and those must be able to wait and exit without touching
/// the allocator, since an allocation that fails aborts the process (seen under `ulimit -v`, from a
/// thread's first `Vec`).
pub fn run<H: Host>(host: &H) {
  let mut lanes = Lanes {
    host,
    lanes: Vec::new(),
    jobs: Vec::new(),
  };
  loop {
    let free = host.width().saturating_sub(lanes.lanes.len());
    let admitted = if lanes.lanes.is_empty() {
      match host.wait_for_jobs() {
        Some(jobs) => jobs,
        None => return,
      }
    } else if free > 0 {
      host.take(free)
    } else {
      Vec::new()
    };
    admitted.into_iter().for_each(|job| lanes.admit(job));
    if let Some(stepped) = lanes.step() {
      host.stepped(stepped);
      lanes.retire();
    }
  }
}

/// The jobs in flight on one thread, `lanes[i]` computing `jobs[i]`.
struct Lanes<'h, H: Host> {
  host: &'h H,
  lanes: Vec<Lane>,
  jobs: Vec<H::Job>,
}

impl<H: Host> Lanes<'_, H> {
  /// Gives `job` a lane, or settles it at once: `Cancelled` if it is unwanted, `Panicked` if its
  /// lane could not be built.
  fn admit(&mut self, mut job: H::Job) {
    if self.host.unwanted(&job) {
      self.host.settle(job, Err(JobFailure::Cancelled));
      return;
    }
    let Ok(lane) = catch_unwind(AssertUnwindSafe(|| Lane::new(self.host.input(&job)))) else {
      self.host.settle(job, Err(JobFailure::Panicked));
      return;
    };
    assert!(
      self.lanes.len() < MAX_LANES,
      "a host handed over more jobs than lanes"
    );
    if self.lanes.capacity() == 0 {
      self.lanes.reserve_exact(MAX_LANES);
      self.jobs.reserve_exact(MAX_LANES);
    }
    self.host.started(&mut job);
    self.lanes.push(lane);
    self.jobs.push(job);
  }

  /// Steps every lane once; how many, or `None` if there were none or the step panicked. A step that
  /// panics loses every lane's state, and the panic could have come from any of them: each job of
  /// the batch is settled by `replay` instead.
  fn step(&mut self) -> Option<usize> {
    if self.lanes.is_empty() {
      return None;
    }
    if catch_unwind(AssertUnwindSafe(|| kernel::step(&mut self.lanes))).is_err() {
      self.lanes.clear();
      let host = self.host;
      self.jobs.drain(..).for_each(|job| replay(host, job));
      return None;
    }
    Some(self.lanes.len())
  }

  /// Settles every job that is unwanted or done, in that order of precedence, and keeps the rest.
  fn retire(&mut self) {
    let mut i = 0;
    while i < self.lanes.len() {
      let outcome = if self.host.unwanted(&self.jobs[i]) {
        Err(JobFailure::Cancelled)
      } else if self.lanes[i].is_done() {
        let lane = &self.lanes[i];
        catch_unwind(AssertUnwindSafe(|| lane.output())).map_err(|_| JobFailure::Panicked)
      } else {
        i += 1;
        continue;
      };
      self.lanes.swap_remove(i);
      self.host.settle(self.jobs.swap_remove(i), outcome);
    }
  }
}

/// Settles a job whose batch panicked mid-step by running it again from the start, alone: a job that
/// panics by itself fails, the others of its batch get their right answer late, and each still
/// stops at the next step once unwanted. Panics are bugs, so this path is for containment, not
/// speed.
fn replay<H: Host>(host: &H, job: H::Job) {
  let outcome = catch_unwind(AssertUnwindSafe(|| {
    let mut lane = [Lane::new(host.input(&job))];
    while !lane[0].is_done() {
      if host.unwanted(&job) {
        return Err(JobFailure::Cancelled);
      }
      kernel::step(&mut lane);
    }
    Ok(lane[0].output())
  }));
  host.settle(job, outcome.unwrap_or(Err(JobFailure::Panicked)));
}
