//! Jobs waiting for a lane, in the order the scheduler serves them, and the handle through which a
//! caller cancels one.
//!
//! The order: by class first (a queued job of a higher class always starts before any of a lower
//! one); inside a class, compares before hashes while the pool puts compares first; inside each of
//! those lines, keys in turn (round robin), each key's jobs first in first out. One key's backlog
//! (an attacker's address, a bulk re-hash) therefore delays another key's next job by at most one
//! job per other key, however long the backlog is. Jobs with no key share one.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use super::{Done, Shared, TaskDone, TaskFn};
use crate::kernel::Input;

/// A job's scheduling class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Class {
  /// Before everything else: a trusted device's login, say.
  High,
  #[default]
  Normal,
  /// Only when nothing else waits: bulk re-hashing.
  Low,
}

impl Class {
  /// In the order they are served.
  pub const ALL: [Class; 3] = [Class::High, Class::Normal, Class::Low];

  pub(super) fn index(self) -> usize {
    self as usize
  }
}

/// Where one job is, shared between the pool and its caller, so that a cancellation knows whether it
/// frees a place in the queue. A cancelled job stays in the queue, counted as dead, until a worker
/// skips it or the queue is compacted: refusing a call must cost the same whatever the queue holds.
#[derive(Default)]
pub struct Handle {
  pub(super) state: AtomicU8,
  /// The pool it was submitted to, once it was.
  pub(super) shared: OnceLock<Weak<Shared>>,
  /// Its line (`Queue::line_of`) and its work (`Ticket::work`), set before it is queued, for the
  /// counts a cancellation corrects.
  line: AtomicU8,
  work: AtomicU64,
}

pub(super) const NEW: u8 = 0;
pub(super) const QUEUED: u8 = 1;
pub(super) const TAKEN: u8 = 2;
pub(super) const CANCELLED: u8 = 3;
/// Dropped from the queue because its deadline passed before a lane was free.
pub(super) const EXPIRED: u8 = 4;

impl Handle {
  /// Drops the job: a queued one gives its place back at once and is never computed; a running one
  /// leaves its lane at the next step. Idempotent; a finished job is unaffected.
  pub fn cancel(&self) {
    self.drop_queued(CANCELLED);
  }

  /// Drops the job if it still waits for a lane, as its deadline has passed: it is never computed.
  /// A job that has started runs to its end. Whether it was dropped now.
  pub fn expire(&self) -> bool {
    self.drop_queued(EXPIRED)
  }

  /// Marks the job `to` (CANCELLED drops a running job too; EXPIRED only a queued one) and, if it
  /// was queued, gives its place back. Whether it was queued.
  fn drop_queued(&self, to: u8) -> bool {
    let Some(shared) = self.shared.get().and_then(Weak::upgrade) else {
      // Not submitted yet: `Reservation::submit` will find it dropped.
      if to == CANCELLED {
        self.state.store(CANCELLED, Relaxed);
      }
      return false;
    };
    // Under the queue's lock, so that the dead count and the queue change together.
    let mut queue = shared.lock();
    let was = match to {
      CANCELLED => self.state.swap(CANCELLED, Relaxed),
      _ => match self.state.compare_exchange(QUEUED, to, Relaxed, Relaxed) {
        Ok(was) | Err(was) => was,
      },
    };
    if was != QUEUED {
      return false;
    }
    let line = self.line.load(Relaxed) as usize;
    queue.forget(line, self.work.load(Relaxed));
    shared.publish(&queue);
    // Compact once dead jobs are most of the queue: each compaction removes at least as many jobs
    // as it keeps, so its cost is paid for by the cancellations it clears.
    let dropped = if queue.dead > COMPACT_AT && 2 * queue.dead > queue.len() {
      queue.compact()
    } else {
      Vec::new()
    };
    drop(queue);
    shared.settle_dead_all(dropped);
    // A parked task dropped may have held back the ones behind it (they start in order): threads
    // that sleep waiting for memory look again.
    if line >= ORDERED {
      shared.wake.notify_all();
    }
    true
  }

  pub(super) fn dropped(&self) -> bool {
    matches!(self.state.load(Relaxed), CANCELLED | EXPIRED)
  }
}

/// Dead jobs below this count are left for the workers to skip.
pub(super) const COMPACT_AT: usize = 64;

/// A job in the queue, a lane or a thread of its own, and its outcome's receiver.
pub(super) struct Ticket {
  pub(super) work: Work,
  pub(super) handle: Arc<Handle>,
  pub(super) orphaned: Option<Arc<AtomicBool>>,
  pub(super) spec: Spec,
  pub(super) queued_at: Instant,
  pub(super) started_at: Instant,
}

/// How a job is scheduled: see `super::Job`.
#[derive(Clone, Debug, Default)]
pub struct Spec {
  pub class: Class,
  /// A caller is waiting on it (a login's compare).
  pub urgent: bool,
  /// Its fair-share key; `None` shares one with every job that has none.
  pub key: Option<Box<str>>,
  /// When it must have started by; it is dropped uncomputed if still queued then.
  pub deadline: Option<Instant>,
}

/// What a ticket computes.
pub(super) enum Work {
  /// A bcrypt hash, in a lane. The input stays with it after its lane is built: should a step
  /// panic, each job of the batch is replayed alone (see `driver::replay`). Boxed so that moving a
  /// ticket leaves no copy of the key words behind; the box is zeroed when it drops.
  Hash { input: Box<Input>, done: Done },
  /// A whole-thread task that holds `memory` bytes while it runs (see `super::Task`).
  Task {
    compute: TaskFn,
    memory: usize,
    done: TaskDone,
  },
}

impl Ticket {
  /// The bytes it holds while it runs: a hash's are a few KiB, counted as none.
  pub(super) fn memory(&self) -> usize {
    match self.work {
      Work::Hash { .. } => 0,
      Work::Task { memory, .. } => memory,
    }
  }

  pub(super) fn is_task(&self) -> bool {
    matches!(self.work, Work::Task { .. })
  }

  /// Whether its outcome is no longer wanted.
  pub(super) fn cancelled(&self) -> bool {
    self.handle.state.load(Relaxed) == CANCELLED || self.orphaned.as_ref().is_some_and(|o| o.load(Relaxed))
  }

  /// Key-schedule steps it takes: its share of the pool's work. A task's is not in those units
  /// and is counted as none: a deadline is judged on the hashes ahead of it only, and tasks show
  /// in the measured rate instead, as the lane-steps their threads did not compute (see `rate`).
  pub(super) fn work(&self) -> u64 {
    match &self.work {
      Work::Hash { input, .. } => work_of(input.cost),
      Work::Task { .. } => 0,
    }
  }
}

/// Key-schedule steps of a hash at `cost` (see `kernel::Lane`).
pub(super) fn work_of(cost: u32) -> u64 {
  1 + (2u64 << cost)
}

/// One line: its jobs grouped by key, the keys served in turn.
#[derive(Default)]
struct FairLine {
  by_key: HashMap<Option<Box<str>>, VecDeque<Ticket>>,
  /// Keys with jobs, in the order they are served next.
  turn: VecDeque<Option<Box<str>>>,
  /// Jobs in the line, dead ones included.
  len: usize,
  /// Of those, cancelled or expired while they waited.
  dead: usize,
  /// Key-schedule steps of its live jobs.
  work: u64,
}

impl FairLine {
  fn push(&mut self, ticket: Ticket) {
    self.len += 1;
    self.work += ticket.work();
    let jobs = self.by_key.entry(ticket.spec.key.clone()).or_default();
    if jobs.is_empty() {
      self.turn.push_back(ticket.spec.key.clone());
    }
    jobs.push_back(ticket);
  }

  /// The job whose turn it is.
  fn front(&self) -> Option<&Ticket> {
    self.turn.front().and_then(|key| self.by_key[key].front())
  }

  fn pop(&mut self) -> Option<Ticket> {
    let key = self.turn.pop_front()?;
    let jobs = self.by_key.get_mut(&key).expect("a key in turn has jobs");
    let ticket = jobs.pop_front().expect("a key in turn has jobs");
    if jobs.is_empty() {
      self.by_key.remove(&key);
    } else {
      self.turn.push_back(key);
    }
    self.len -= 1;
    Some(ticket)
  }

  fn live(&self) -> usize {
    self.len - self.dead
  }

  /// Live jobs that would start before a new one with `key`, about: each other key serves at most
  /// as many jobs as this key has ahead of it, plus one. Constant time, so that refusing a call
  /// costs the same whatever the line holds; dead jobs still in the line are counted as live.
  fn ahead_of(&self, key: &Option<Box<str>>) -> usize {
    let own = self.by_key.get(key).map_or(0, VecDeque::len);
    let others = self.turn.len() - usize::from(own > 0);
    own
      + others
        .saturating_mul(own + 1)
        .min(self.live().saturating_sub(own))
  }

  /// Removes and returns the dead jobs, keeping the live ones' order and the keys' turn.
  fn compact(&mut self) -> Vec<Ticket> {
    let mut gone = Vec::with_capacity(self.dead);
    for jobs in self.by_key.values_mut() {
      let (kept, dead): (VecDeque<_>, VecDeque<_>) = jobs.drain(..).partition(|t| !t.handle.dropped());
      *jobs = kept;
      gone.extend(dead);
    }
    self.by_key.retain(|_, jobs| !jobs.is_empty());
    let by_key = &self.by_key;
    self.turn.retain(|key| by_key.contains_key(key));
    self.len -= gone.len();
    self.dead = 0;
    gone
  }
}

/// Lines the scheduler orders: for each class, its compares and its hashes.
const ORDERED: usize = 6;

/// Every waiting job, in nine lines: for each class, its compares and its hashes, in which every
/// job waits its turn; then, for each class, its tasks whose turn came but that wait for memory or
/// a thread with no lanes in flight (`park`), first in first out inside a class.
#[derive(Default)]
pub(super) struct Queue {
  lines: [FairLine; ORDERED + 3],
  /// Bytes the running tasks hold.
  pub(super) memory_in_use: usize,
  /// Jobs in any line cancelled or expired while they waited (see `Handle`).
  pub(super) dead: usize,
  /// Places promised to callers that are still building their job, by class (see `Pool::reserve`).
  pub(super) reserved: [usize; 3],
}

impl Queue {
  fn line_of(spec: &Spec) -> usize {
    2 * spec.class.index() + usize::from(!spec.urgent)
  }

  pub(super) fn push(&mut self, ticket: Ticket) {
    let line = Queue::line_of(&ticket.spec);
    ticket.handle.line.store(line as u8, Relaxed);
    ticket.handle.work.store(ticket.work(), Relaxed);
    self.lines[line].push(ticket);
  }

  /// The next job: classes in order; inside a class, its oldest compare first while
  /// `compare_first`, else whichever line's next job is older.
  pub(super) fn pop_front(&mut self, compare_first: bool) -> Option<Ticket> {
    for class in self.lines[..ORDERED].chunks_exact_mut(2) {
      let [urgent, normal] = class else { unreachable!() };
      let take_urgent = match (urgent.front(), normal.front()) {
        (Some(_), None) => true,
        (Some(u), Some(n)) => compare_first || u.queued_at <= n.queued_at,
        (None, Some(_)) => false,
        (None, None) => continue,
      };
      let ticket = match take_urgent {
        true => urgent.pop(),
        false => normal.pop(),
      }?;
      if !ticket.handle.dropped() {
        self.lines[Queue::line_of(&ticket.spec)].work -= ticket.work();
      }
      return Some(ticket);
    }
    None
  }

  /// A job of line `line` died while it waited: it leaves the live counts, and stays in the line
  /// until a worker skips it or the queue is compacted.
  fn forget(&mut self, line: usize, work: u64) {
    self.lines[line].dead += 1;
    self.lines[line].work -= work;
    self.dead += 1;
  }

  /// A job `pop_front` or `pop_parked` returned was dead: it leaves the dead counts.
  pub(super) fn popped_dead(&mut self, ticket: &Ticket) {
    self.lines[ticket.handle.line.load(Relaxed) as usize].dead -= 1;
    self.dead -= 1;
  }

  /// A task whose turn came waits here for memory and a thread with no lanes in flight. It stays
  /// queued (cancelling or expiring it gives its place back as before) and keeps its place among
  /// the tasks of its class, so that a large one is not passed for ever by smaller ones.
  pub(super) fn park(&mut self, ticket: Ticket) {
    let line = ORDERED + ticket.spec.class.index();
    ticket.handle.line.store(line as u8, Relaxed);
    self.lines[line].push(ticket);
  }

  /// The parked task to run next: classes in order.
  pub(super) fn parked_front(&self) -> Option<&Ticket> {
    self.lines[ORDERED..].iter().find_map(FairLine::front)
  }

  pub(super) fn pop_parked(&mut self) -> Option<Ticket> {
    self.lines[ORDERED..].iter_mut().find_map(FairLine::pop)
  }

  /// Live tasks parked.
  pub(super) fn parked(&self) -> usize {
    self.lines[ORDERED..].iter().map(FairLine::live).sum()
  }

  /// Jobs, dead ones included, still waiting for their turn.
  pub(super) fn unordered_len(&self) -> usize {
    self.lines[..ORDERED].iter().map(|l| l.len).sum()
  }

  /// Jobs in the queue, dead ones included.
  pub(super) fn len(&self) -> usize {
    self.lines.iter().map(|l| l.len).sum()
  }

  pub(super) fn is_empty(&self) -> bool {
    self.len() == 0
  }

  /// Jobs waiting for a lane that someone still wants.
  pub(super) fn live(&self) -> usize {
    self.len() - self.dead
  }

  /// Live jobs of `class`, parked tasks included.
  pub(super) fn live_in(&self, class: Class) -> usize {
    let i = 2 * class.index();
    self.lines[i].live() + self.lines[i + 1].live() + self.lines[ORDERED + class.index()].live()
  }

  /// Key-schedule steps that would run before a new job of `spec` starts, about (see
  /// `FairLine::ahead_of`): every job of a higher class, and its turn inside its own class.
  pub(super) fn work_ahead(&self, spec: &Spec, compare_first: bool) -> u64 {
    let class = 2 * spec.class.index();
    let mut work: u64 = self.lines[..class].iter().map(|l| l.work).sum();
    let share = |line: &FairLine| {
      let ahead = line.ahead_of(&spec.key) as u64;
      line.work / line.live().max(1) as u64 * ahead
    };
    let (urgent, normal) = (&self.lines[class], &self.lines[class + 1]);
    work += match (compare_first, spec.urgent) {
      (true, true) => share(urgent),
      (true, false) => urgent.work + share(normal),
      (false, _) => share(urgent) + share(normal),
    };
    work
  }

  /// Removes and returns the dead jobs.
  fn compact(&mut self) -> Vec<Ticket> {
    let gone: Vec<Ticket> = self.lines.iter_mut().flat_map(FairLine::compact).collect();
    self.dead = 0;
    gone
  }
}
