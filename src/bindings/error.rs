//! What the bindings report to JS when something fails: a kind and its facts, never a message.
//!
//! Every user-facing message, class and Node-style `code` is worded once, in `lib/errors.js`: the
//! messages are bcrypt's, word for word, and the three forms that deliver them (throw, reject,
//! callback) are JS conventions, so the facade owns them all. Here a failure becomes a plain `Error`
//! whose `code` names its kind (`InvalidSalt`, `QueueFull`, …) and whose properties carry the facts
//! the message is made from; the facade's `fromNative` turns it into the error the user sees. A
//! call that breaks an invariant the facade guarantees (a cost out of range, say) is `Internal`.

use napi::bindgen_prelude::*;

use crate::pool::{Class, PoolError, Refusal};

/// Bumped whenever a kind, a fact or a function's contract changes, so that a facade and a binding
/// from different builds refuse to work together rather than misreport.
pub const API_VERSION: u32 = 3;

/// A failure as JS hears of it: its kind, which becomes the error's `code`, and its facts.
pub enum ErrorKind {
  /// A salt that is not `$2x$NN$` and 22 characters of bcrypt's base64.
  InvalidSalt,
  /// A string with no cost where `getRounds` looks for one.
  InvalidHash,
  /// `max_queue` jobs of `class` already wait for a lane.
  QueueFull { class: Class, max_queue: usize },
  /// The job's deadline passed while it waited (`wait_ms` `None`), or it was refused because about
  /// `wait_ms` of work was queued ahead of it.
  Deadline { wait_ms: Option<f64> },
  /// `configure` asked for another size once the pool runs `running` threads.
  PoolStarted { running: usize },
  /// The OS refused a thread; `reason` is its own wording.
  PoolSpawn { reason: String },
  /// An environment variable holds what it cannot.
  BadEnv { variable: &'static str, value: String },
  /// An argon2, PBKDF2 or scrypt option out of its range; `option` names it as the facade does.
  BadOption { option: &'static str },
  /// A task needs `memory` bytes, more than the pool's whole memory `budget`.
  MemoryBudget { memory: usize, budget: usize },
  /// A bug: a panic, or an invariant the facade guarantees did not hold.
  Internal,
}

impl ErrorKind {
  /// The kind's name: the error's `code`, and its message until the facade words one.
  fn code(&self) -> &'static str {
    match self {
      ErrorKind::InvalidSalt => "InvalidSalt",
      ErrorKind::InvalidHash => "InvalidHash",
      ErrorKind::QueueFull { .. } => "QueueFull",
      ErrorKind::Deadline { .. } => "Deadline",
      ErrorKind::PoolStarted { .. } => "PoolStarted",
      ErrorKind::PoolSpawn { .. } => "PoolSpawn",
      ErrorKind::BadEnv { .. } => "BadEnv",
      ErrorKind::BadOption { .. } => "BadOption",
      ErrorKind::MemoryBudget { .. } => "MemoryBudget",
      ErrorKind::Internal => "Internal",
    }
  }

  /// The error object, built on the JS thread.
  pub fn to_js<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
    let mut err = env.create_error(Error::from_reason(self.code()))?;
    err.set_named_property("code", self.code())?;
    match self {
      ErrorKind::QueueFull { class, max_queue } => {
        err.set_named_property("priority", class_name(*class))?;
        err.set_named_property("maxQueue", *max_queue as f64)?;
      }
      ErrorKind::Deadline { wait_ms } => match wait_ms {
        Some(ms) => err.set_named_property("waitMs", *ms)?,
        None => err.set_named_property("waitMs", Null)?,
      },
      ErrorKind::PoolStarted { running } => err.set_named_property("running", *running as u32)?,
      ErrorKind::PoolSpawn { reason } => err.set_named_property("reason", reason.as_str())?,
      ErrorKind::BadEnv { variable, value } => {
        err.set_named_property("variable", *variable)?;
        err.set_named_property("value", value.as_str())?;
      }
      ErrorKind::BadOption { option } => err.set_named_property("option", *option)?,
      ErrorKind::MemoryBudget { memory, budget } => {
        err.set_named_property("memory", *memory as f64)?;
        err.set_named_property("budget", *budget as f64)?;
      }
      ErrorKind::InvalidSalt | ErrorKind::InvalidHash | ErrorKind::Internal => {}
    }
    Ok(err.to_unknown())
  }

  /// Throws it: napi passes the pending exception through unchanged.
  pub fn throw(self, env: &Env) -> Error {
    match self.to_js(env).and_then(|err| env.throw(err)) {
      Ok(()) => Error::from_status(Status::PendingException),
      Err(e) => e,
    }
  }

  /// Rejects a deferred with it (the closure runs on the JS thread, where the object can be made).
  pub fn reject<T>(self) -> impl FnOnce(Env) -> Result<T> {
    move |env| Err(Error::from(self.to_js(&env)?))
  }
}

/// The name the facade gives a class (`lib/api.js`, `options.priority`).
pub fn class_name(class: Class) -> &'static str {
  match class {
    Class::High => "high",
    Class::Normal => "normal",
    Class::Low => "low",
  }
}

impl From<Refusal> for ErrorKind {
  fn from(refusal: Refusal) -> ErrorKind {
    match refusal {
      Refusal::Full { class, max_queue } => ErrorKind::QueueFull { class, max_queue },
      Refusal::Late { wait } => ErrorKind::Deadline {
        wait_ms: Some(wait.as_secs_f64() * 1e3),
      },
      Refusal::TooBig { memory, budget } => ErrorKind::MemoryBudget { memory, budget },
    }
  }
}

impl From<PoolError> for ErrorKind {
  fn from(e: PoolError) -> ErrorKind {
    match e {
      PoolError::BadEnv { name, value } => ErrorKind::BadEnv {
        variable: name,
        value,
      },
      PoolError::AlreadyStarted { running } => ErrorKind::PoolStarted { running },
      PoolError::Spawn(e) => ErrorKind::PoolSpawn {
        reason: e.to_string(),
      },
      // The facade checks the size before it gets here.
      PoolError::BadSize(_) => ErrorKind::Internal,
    }
  }
}
