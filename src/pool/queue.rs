//! Jobs waiting for a lane, and the handle through which a caller cancels one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use super::{Done, Shared};
use crate::kernel::Input;

/// Where one job is, shared between the pool and its caller, so that a cancellation knows whether it
/// frees a place in the queue. A cancelled job stays in the queue, counted as dead, until a worker
/// skips it or the queue is compacted: refusing a call must cost the same whatever the queue holds.
#[derive(Default)]
pub struct Handle {
  pub(super) state: AtomicU8,
  /// The pool it was submitted to, once it was.
  pub(super) shared: OnceLock<Weak<Shared>>,
}

pub(super) const NEW: u8 = 0;
pub(super) const QUEUED: u8 = 1;
pub(super) const TAKEN: u8 = 2;
pub(super) const CANCELLED: u8 = 3;

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
    let dropped = if queue.dead > COMPACT_AT && 2 * queue.dead > queue.len() {
      queue.compact()
    } else {
      Vec::new()
    };
    drop(queue);
    shared.settle_dead_all(dropped);
  }

  fn cancelled(&self) -> bool {
    self.state.load(Relaxed) == CANCELLED
  }
}

/// Dead jobs below this count are left for the workers to skip.
pub(super) const COMPACT_AT: usize = 64;

/// A job in the queue or a lane. The input stays with it after its lane is built: should a step
/// panic, each job of the batch is replayed alone (see `Shared::isolate`). Boxed so that moving a
/// ticket leaves no copy of the key words behind; the box is zeroed when it drops.
pub(super) struct Ticket {
  pub(super) input: Box<Input>,
  pub(super) done: Done,
  pub(super) handle: Arc<Handle>,
  pub(super) orphaned: Option<Arc<AtomicBool>>,
  /// A caller is waiting on it (a login's `compare`): see `Queue::pop_front`.
  pub(super) urgent: bool,
  pub(super) queued_at: Instant,
  pub(super) started_at: Instant,
}

impl Ticket {
  /// Whether its outcome is no longer wanted.
  pub(super) fn cancelled(&self) -> bool {
    self.handle.cancelled() || self.orphaned.as_ref().is_some_and(|o| o.load(Relaxed))
  }

  /// Cancelled while queued: counted in `Queue::dead`.
  fn dead(&self) -> bool {
    self.handle.cancelled()
  }
}

/// Two lines, each first in first out: urgent jobs (compares, a user waiting to log in) and the
/// rest (hashes: registrations, bulk re-hashing).
#[derive(Default)]
pub(super) struct Queue {
  urgent: VecDeque<Ticket>,
  normal: VecDeque<Ticket>,
  /// Jobs in either line cancelled while they waited (see `Handle`).
  pub(super) dead: usize,
  /// Places promised to callers that are still building their job (see `Pool::reserve`).
  pub(super) reserved: usize,
}

impl Queue {
  pub(super) fn push(&mut self, ticket: Ticket) {
    match ticket.urgent {
      true => self.urgent.push_back(ticket),
      false => self.normal.push_back(ticket),
    }
  }

  /// The next job: the oldest urgent one while `urgent_first`, else the oldest of all.
  pub(super) fn pop_front(&mut self, urgent_first: bool) -> Option<Ticket> {
    let take_urgent = match (self.urgent.front(), self.normal.front()) {
      (Some(_), None) => true,
      (Some(u), Some(n)) => urgent_first || u.queued_at <= n.queued_at,
      (None, _) => false,
    };
    match take_urgent {
      true => self.urgent.pop_front(),
      false => self.normal.pop_front(),
    }
  }

  /// Jobs in the queue, dead ones included.
  pub(super) fn len(&self) -> usize {
    self.urgent.len() + self.normal.len()
  }

  pub(super) fn is_empty(&self) -> bool {
    self.len() == 0
  }

  /// Jobs waiting for a lane that someone still wants.
  pub(super) fn live(&self) -> usize {
    self.len() - self.dead
  }

  /// Removes and returns the dead jobs.
  fn compact(&mut self) -> Vec<Ticket> {
    let mut gone = Vec::with_capacity(self.dead);
    for line in [&mut self.urgent, &mut self.normal] {
      let (kept, dead): (VecDeque<_>, VecDeque<_>) = line.drain(..).partition(|t| !t.dead());
      *line = kept;
      gone.extend(dead);
    }
    self.dead = 0;
    gone
  }
}
