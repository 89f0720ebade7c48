//! The loop each pool thread runs: take jobs between steps, step every lane, settle what is done.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{MutexGuard, PoisonError};
use std::time::Instant;

use super::queue::{Queue, Ticket, EXPIRED, QUEUED, TAKEN};
use super::{Class, JobFailure, Outcome, Shared};
use crate::kernel::{self, Lane, MAX_LANES};

impl Shared {
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

  pub(super) fn work(&self) {
    // Nothing is allocated until the first job arrives. A pool whose start failed for want of
    // address space stops the threads it did start, and those must be able to wait and exit
    // without touching the allocator: an allocation that fails aborts the process (seen under
    // `ulimit -v`, from a thread's first `Vec`).
    let mut lanes: Vec<Lane> = Vec::new();
    let mut tickets: Vec<Ticket> = Vec::new();
    loop {
      let width = self.lanes.load(Relaxed);
      let admitted = if lanes.is_empty() {
        match self.wait_for_jobs() {
          Some(jobs) => jobs,
          None => return,
        }
      } else if lanes.len() < width && self.queued.load(Relaxed) > 0 && self.idle.load(Relaxed) == 0 {
        // Only when no thread is idle: an idle thread runs a new job with fewer lanes beside it,
        // so it finishes sooner there.
        self.take(width - lanes.len())
      } else {
        Vec::new()
      };
      if lanes.capacity() == 0 && !admitted.is_empty() {
        lanes.reserve_exact(MAX_LANES);
        tickets.reserve_exact(MAX_LANES);
      }
      let now = Instant::now();
      for mut ticket in admitted {
        if self.unwanted(&ticket) {
          self.settle_taken(ticket, Err(JobFailure::Cancelled));
          continue;
        }
        let Ok(lane) = catch_unwind(AssertUnwindSafe(|| Lane::new(&ticket.input))) else {
          self.settle_taken(ticket, Err(JobFailure::Panicked));
          continue;
        };
        self.wait.record(now - ticket.queued_at);
        self.classes[ticket.spec.class.index()]
          .wait
          .record(now - ticket.queued_at);
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
      self.rate.record(lanes.len(), self.queued.load(Relaxed) > 0);

      let mut i = 0;
      while i < lanes.len() {
        let outcome = if self.unwanted(&tickets[i]) {
          Err(JobFailure::Cancelled)
        } else if lanes[i].is_done() {
          catch_unwind(AssertUnwindSafe(|| lanes[i].output())).map_err(|_| JobFailure::Panicked)
        } else {
          i += 1;
          continue;
        };
        lanes.swap_remove(i);
        self.settle_taken(tickets.swap_remove(i), outcome);
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
          return Err(JobFailure::Cancelled);
        }
        kernel::step(&mut lane);
      }
      Ok(lane[0].output())
    }));
    self.settle_taken(ticket, outcome.unwrap_or(Err(JobFailure::Panicked)));
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

  /// Blocks until there is work, then takes this thread's share of it: the queue split evenly
  /// among the threads that are idle, up to a full set of lanes. `None` once the pool is dropped
  /// and nothing is left to do.
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
    let n = queue
      .live()
      .div_ceil(other_idle + 1)
      .clamp(1, self.lanes.load(Relaxed));
    let (jobs, dead) = self.pop(&mut queue, n);
    let more = queue.live() > 0 && other_idle > 0;
    drop(queue);
    if more {
      self.wake.notify_one();
    }
    self.settle_dead_all(dead);
    Some(jobs)
  }

  fn take(&self, n: usize) -> Vec<Ticket> {
    let (jobs, dead) = self.pop(&mut self.lock(), n);
    self.settle_dead_all(dead);
    jobs
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

  /// Whether a taken job is to be dropped rather than computed further.
  fn unwanted(&self, ticket: &Ticket) -> bool {
    ticket.cancelled() || self.closing.load(Relaxed)
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
