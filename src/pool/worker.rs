//! Each pool thread's side of the lane driver (`driver::run`): jobs from the scheduler's queue, the
//! counts and histograms kept as they start and settle, the rate measured after every step, and
//! the tasks a thread runs whole between two batches of lanes (see the module doc of `pool`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{MutexGuard, PoisonError};
use std::time::Instant;

use super::driver::{self, Host};
use super::queue::{Queue, Ticket, Work, EXPIRED, QUEUED, TAKEN};
use super::{Class, JobFailure, Outcome, Shared, TaskOutcome};
use crate::kernel::Input;

impl Shared {
  pub(super) fn work(&self) {
    driver::run(self);
  }

  pub(super) fn lock(&self) -> MutexGuard<'_, Queue> {
    // Nothing panics while holding the lock, but a poisoned queue is still a valid queue.
    self.queue.lock().unwrap_or_else(PoisonError::into_inner)
  }

  /// Makes the queue's live counts readable without the lock.
  pub(super) fn publish(&self, queue: &Queue) {
    self.queued.store(queue.live(), Relaxed);
    self.parked.store(queue.parked(), Relaxed);
    self.memory_in_use.store(queue.memory_in_use, Relaxed);
    for class in Class::ALL {
      self.classes[class.index()]
        .queued
        .store(queue.live_in(class), Relaxed);
    }
  }

  /// Settles a job taken from the queue. The counts change before the caller hears of the outcome,
  /// `running` last: whoever sees a job's answer, or sees nothing running and nothing queued, also
  /// sees every count that goes with it.
  fn settle_taken(&self, ticket: Ticket, outcome: Outcome) {
    let counted = outcome.as_ref().map(|_| ()).map_err(|e| *e);
    self.count_settled(ticket.spec.class, ticket.started_at, counted);
    self.deliver(ticket, outcome);
  }

  fn count_settled(&self, class: Class, started_at: Instant, outcome: Result<(), JobFailure>) {
    let class = &self.classes[class.index()];
    match outcome {
      Ok(_) => self.compute.record(started_at.elapsed()),
      Err(JobFailure::Panicked) => _ = self.failed.fetch_add(1, Relaxed),
      // A taken job never expires: its deadline is for starting.
      Err(JobFailure::Cancelled | JobFailure::Expired) => _ = self.cancelled.fetch_add(1, Relaxed),
    }
    if matches!(outcome, Ok(_) | Err(JobFailure::Panicked)) {
      class.completed.fetch_add(1, Relaxed);
    }
    class.running.fetch_sub(1, Relaxed);
    self.running.fetch_sub(1, Relaxed);
  }

  /// Runs a task taken by `take_parked` to its end (or drops it unwanted), gives its memory back
  /// and settles it: counts and memory first, as for a hash, then its receiver.
  fn run_task(&self, mut ticket: Ticket) {
    let unwanted = self.unwanted(&ticket);
    if !unwanted {
      self.started(&mut ticket);
    }
    let Work::Task {
      compute,
      memory,
      done,
    } = ticket.work
    else {
      unreachable!("take_parked takes tasks only")
    };
    let outcome: TaskOutcome = match unwanted {
      true => Err(JobFailure::Cancelled),
      false => catch_unwind(AssertUnwindSafe(compute)).map_err(|_| JobFailure::Panicked),
    };
    let mut queue = self.lock();
    queue.memory_in_use -= memory;
    self.tasks_running.fetch_sub(1, Relaxed);
    self.publish(&queue);
    drop(queue);
    // The memory freed may let parked tasks start on threads that wait for it.
    self.wake.notify_all();
    self.count_settled(
      ticket.spec.class,
      ticket.started_at,
      outcome.as_ref().map(|_| ()).map_err(|e| *e),
    );
    let _ = catch_unwind(AssertUnwindSafe(|| done(outcome)));
  }

  /// Whether the budget holds `ticket` beside the running tasks. A task runs alone whatever its
  /// size: the budget may have shrunk below it after it was queued.
  fn fits(&self, queue: &Queue, ticket: &Ticket) -> bool {
    queue.memory_in_use == 0
      || queue.memory_in_use.saturating_add(ticket.memory()) <= self.budget.load(Relaxed)
  }

  /// Whether a thread with no lanes in flight has something to do now: a job still to be ordered,
  /// or a parked task that is dead, that memory allows, or that the pool's closing drops.
  fn runnable(&self, queue: &Queue) -> bool {
    queue.unordered_len() > 0
      || queue
        .parked_front()
        .is_some_and(|t| t.handle.dropped() || self.closing.load(Relaxed) || self.fits(queue, t))
  }

  /// The next parked task if it may start now, counted as running with its memory held; the dead
  /// ones before it, to be settled once the lock is released.
  fn take_parked(&self, queue: &mut Queue) -> (Option<Ticket>, Vec<Ticket>) {
    let mut dead = Vec::new();
    let now = Instant::now();
    while let Some(front) = queue.parked_front() {
      let dropped = front.handle.dropped();
      if !dropped && !self.closing.load(Relaxed) && !self.fits(queue, front) {
        break;
      }
      let ticket = queue.pop_parked().expect("it has a front");
      let to = match ticket.spec.deadline {
        Some(deadline) if deadline <= now => EXPIRED,
        _ => TAKEN,
      };
      match ticket.handle.state.compare_exchange(QUEUED, to, Relaxed, Relaxed) {
        Ok(_) if to == TAKEN => {
          queue.memory_in_use += ticket.memory();
          self.classes[ticket.spec.class.index()]
            .running
            .fetch_add(1, Relaxed);
          self.running.fetch_add(1, Relaxed);
          self.tasks_running.fetch_add(1, Relaxed);
          self.publish(queue);
          return (Some(ticket), dead);
        }
        Ok(_) => dead.push(ticket),
        Err(_) => {
          queue.popped_dead(&ticket);
          dead.push(ticket);
        }
      }
    }
    self.publish(queue);
    (None, dead)
  }

  /// Takes up to `n` live jobs from the front of the queue, and the dead ones before them (to be
  /// settled once the lock is released): those cancelled, and those whose deadline has passed,
  /// which are never computed. Jobs count as running from here, under the lock, so that none is
  /// ever out of both counts (which `reserve`'s free lanes and anyone waiting for the pool to drain
  /// rely on). A live task whose turn comes is parked (`Queue::park`), still queued.
  fn pop(&self, queue: &mut Queue, n: usize) -> (Vec<Ticket>, Vec<Ticket>) {
    let (mut jobs, mut dead) = (Vec::with_capacity(n), Vec::new());
    let now = Instant::now();
    while jobs.len() < n {
      let Some(ticket) = queue.pop_front(self.compare_first.load(Relaxed)) else {
        break;
      };
      let to = match ticket.spec.deadline {
        Some(deadline) if deadline <= now => EXPIRED,
        _ => TAKEN,
      };
      if ticket.is_task() && to == TAKEN && !ticket.handle.dropped() {
        queue.park(ticket);
        continue;
      }
      match ticket.handle.state.compare_exchange(QUEUED, to, Relaxed, Relaxed) {
        Ok(_) if to == TAKEN => {
          self.classes[ticket.spec.class.index()]
            .running
            .fetch_add(1, Relaxed);
          jobs.push(ticket);
        }
        Ok(_) => dead.push(ticket),
        Err(_) => {
          queue.popped_dead(&ticket);
          dead.push(ticket);
        }
      }
    }
    self.running.fetch_add(jobs.len(), Relaxed);
    self.publish(queue);
    (jobs, dead)
  }

  pub(super) fn settle_dead_all(&self, dead: Vec<Ticket>) {
    dead.into_iter().for_each(|t| self.settle_dead(t));
  }

  /// Settles a job dropped while it was queued: cancelled, or expired.
  pub(super) fn settle_dead(&self, ticket: Ticket) {
    let failure = match ticket.handle.state.load(Relaxed) {
      EXPIRED => {
        self.classes[ticket.spec.class.index()]
          .expired
          .fetch_add(1, Relaxed);
        self.expired.fetch_add(1, Relaxed);
        JobFailure::Expired
      }
      _ => {
        self.cancelled.fetch_add(1, Relaxed);
        JobFailure::Cancelled
      }
    };
    self.deliver(ticket, Err(failure));
  }

  /// A panic in a completion must not take the pool thread (and every lane on it) down with it.
  fn deliver(&self, ticket: Ticket, outcome: Outcome) {
    let _ = catch_unwind(AssertUnwindSafe(|| match ticket.work {
      Work::Hash { done, .. } => done(outcome),
      // A task reaches here only dead (`settle_dead`): its outcome is a failure.
      Work::Task { done, .. } => done(outcome.map(|_| Vec::new())),
    }));
  }
}

impl Host for Shared {
  type Job = Ticket;

  fn width(&self) -> usize {
    self.lanes.load(Relaxed)
  }

  /// A parked task that may start, run here to its end (this thread has no lanes in flight), or
  /// else this thread's share of the queue: the queue split evenly among the threads that are
  /// idle, up to a full set of lanes. `None` once the pool is dropped and nothing is left to do.
  fn wait_for_jobs(&self) -> Option<Vec<Ticket>> {
    let mut queue = self.lock();
    self.idle.fetch_add(1, Relaxed);
    while !self.runnable(&queue) && !self.closing.load(Relaxed) {
      queue = self.wake.wait(queue).unwrap_or_else(PoisonError::into_inner);
    }
    self.idle.fetch_sub(1, Relaxed);
    if queue.is_empty() {
      return None;
    }
    let other_idle = self.idle.load(Relaxed);
    let (task, dead) = self.take_parked(&mut queue);
    if let Some(task) = task {
      let more = self.runnable(&queue) && other_idle > 0;
      drop(queue);
      if more {
        self.wake.notify_one();
      }
      self.settle_dead_all(dead);
      self.run_task(task);
      return Some(Vec::new());
    }
    // At least one: a queue of dead jobs only is drained, not spun on.
    let n = queue.live().div_ceil(other_idle + 1).clamp(1, self.width());
    let (jobs, more_dead) = self.pop(&mut queue, n);
    let more = self.runnable(&queue) && other_idle > 0;
    drop(queue);
    if more {
      self.wake.notify_one();
    }
    self.settle_dead_all(dead);
    self.settle_dead_all(more_dead);
    Some(jobs)
  }

  /// Only when no thread is idle: an idle thread runs a new job with fewer lanes beside it, so it
  /// finishes sooner there. Nothing either while a parked task could start: this thread's lanes
  /// then drain, and it takes the task from `wait_for_jobs`, so that a steady flow of hashes never
  /// keeps a task waiting longer than one hash.
  fn take(&self, free: usize) -> Vec<Ticket> {
    if self.queued.load(Relaxed) == 0 || self.idle.load(Relaxed) > 0 {
      return Vec::new();
    }
    let mut queue = self.lock();
    if queue.parked_front().is_some_and(|t| self.fits(&queue, t)) {
      return Vec::new();
    }
    let (jobs, dead) = self.pop(&mut queue, free);
    drop(queue);
    self.settle_dead_all(dead);
    jobs
  }

  fn input<'a>(&'a self, ticket: &'a Ticket) -> &'a Input {
    match &ticket.work {
      Work::Hash { input, .. } => input,
      Work::Task { .. } => unreachable!("tasks are parked, never handed to the driver"),
    }
  }

  fn unwanted(&self, ticket: &Ticket) -> bool {
    ticket.cancelled() || self.closing.load(Relaxed)
  }

  fn started(&self, ticket: &mut Ticket) {
    let now = Instant::now();
    self.wait.record(now - ticket.queued_at);
    self.classes[ticket.spec.class.index()]
      .wait
      .record(now - ticket.queued_at);
    ticket.started_at = now;
  }

  fn stepped(&self, lanes: usize) {
    // Saturated: a job waits for a lane. Parked tasks wait for memory or a thread free of lanes,
    // not for a lane, so they do not count (else the rate falls to what the busy lanes do).
    self
      .rate
      .record(lanes, self.queued.load(Relaxed) > self.parked.load(Relaxed));
  }

  fn settle(&self, ticket: Ticket, outcome: Outcome) {
    self.settle_taken(ticket, outcome);
  }
}
