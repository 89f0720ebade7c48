//! Each pool thread's side of the lane driver (`driver::run`): jobs from the scheduler's queue, the
//! counts and histograms kept as they start and settle, the rate measured after every step.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{MutexGuard, PoisonError};
use std::time::Instant;

use super::driver::{self, Host};
use super::queue::{Queue, Ticket, EXPIRED, QUEUED, TAKEN};
use super::{Class, JobFailure, Outcome, Shared};
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
    let class = &self.classes[ticket.spec.class.index()];
    match outcome {
      Ok(_) => self.compute.record(ticket.started_at.elapsed()),
      Err(JobFailure::Panicked) => _ = self.failed.fetch_add(1, Relaxed),
      // A taken job never expires: its deadline is for starting.
      Err(JobFailure::Cancelled | JobFailure::Expired) => _ = self.cancelled.fetch_add(1, Relaxed),
    }
    if matches!(outcome, Ok(_) | Err(JobFailure::Panicked)) {
      class.completed.fetch_add(1, Relaxed);
    }
    class.running.fetch_sub(1, Relaxed);
    self.running.fetch_sub(1, Relaxed);
    self.deliver(ticket, outcome);
  }

  /// Takes up to `n` live jobs from the front of the queue, and the dead ones before them (to be
  /// settled once the lock is released): those cancelled, and those whose deadline has passed,
  /// which are never computed. Jobs count as running from here, under the lock, so that none is
  /// ever out of both counts (which `reserve`'s free lanes and anyone waiting for the pool to drain
  /// rely on).
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
    let _ = catch_unwind(AssertUnwindSafe(|| (ticket.done)(outcome)));
  }
}

impl Host for Shared {
  type Job = Ticket;

  fn width(&self) -> usize {
    self.lanes.load(Relaxed)
  }

  /// This thread's share of the queue: the queue split evenly among the threads that are idle, up
  /// to a full set of lanes. `None` once the pool is dropped and nothing is left to do.
  fn wait_for_jobs(&self) -> Option<Vec<Ticket>> {
    let mut queue = self.lock();
    self.idle.fetch_add(1, Relaxed);
    while queue.is_empty() && !self.closing.load(Relaxed) {
      queue = self.wake.wait(queue).unwrap_or_else(PoisonError::into_inner);
    }
    self.idle.fetch_sub(1, Relaxed);
    if queue.is_empty() {
      return None;
    }
    let other_idle = self.idle.load(Relaxed);
    // At least one: a queue of dead jobs only is drained, not spun on.
    let n = queue.live().div_ceil(other_idle + 1).clamp(1, self.width());
    let (jobs, dead) = self.pop(&mut queue, n);
    let more = queue.live() > 0 && other_idle > 0;
    drop(queue);
    if more {
      self.wake.notify_one();
    }
    self.settle_dead_all(dead);
    Some(jobs)
  }

  /// Only when no thread is idle: an idle thread runs a new job with fewer lanes beside it, so it
  /// finishes sooner there.
  fn take(&self, free: usize) -> Vec<Ticket> {
    if self.queued.load(Relaxed) == 0 || self.idle.load(Relaxed) > 0 {
      return Vec::new();
    }
    let (jobs, dead) = self.pop(&mut self.lock(), free);
    self.settle_dead_all(dead);
    jobs
  }

  fn input<'a>(&'a self, ticket: &'a Ticket) -> &'a Input {
    &ticket.input
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
    self.rate.record(lanes, self.queued.load(Relaxed) > 0);
  }

  fn settle(&self, ticket: Ticket, outcome: Outcome) {
    self.settle_taken(ticket, outcome);
  }
}
