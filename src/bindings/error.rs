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
pub const API_VERSION: u32 = 2;

pub enum Failure {
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
  /// A bug: a panic, or an invariant the facade guarantees did not hold.
  Internal,
}

impl Failure {
  fn kind(&self) -> &'static str {
    match self {
      Failure::InvalidSalt => "InvalidSalt",
      Failure::InvalidHash => "InvalidHash",
      Failure::QueueFull { .. } => "QueueFull",
      Failure::Deadline { .. } => "Deadline",
      Failure::PoolStarted { .. } => "PoolStarted",
      Failure::PoolSpawn { .. } => "PoolSpawn",
      Failure::BadEnv { .. } => "BadEnv",
      Failure::Internal => "Internal",
    }
  }

  /// The error object, built on the JS thread.
  pub fn to_js<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
    let mut err = env.create_error(Error::from_reason(self.kind()))?;
    err.set_named_property("code", self.kind())?;
    match self {
      Failure::QueueFull { class, max_queue } => {
        err.set_named_property("priority", class_name(*class))?;
        err.set_named_property("maxQueue", *max_queue as f64)?;
      }
      Failure::Deadline { wait_ms } => match wait_ms {
        Some(ms) => err.set_named_property("waitMs", *ms)?,
        None => err.set_named_property("waitMs", Null)?,
      },
      Failure::PoolStarted { running } => err.set_named_property("running", *running as u32)?,
      Failure::PoolSpawn { reason } => err.set_named_property("reason", reason.as_str())?,
      Failure::BadEnv { variable, value } => {
        err.set_named_property("variable", *variable)?;
        err.set_named_property("value", value.as_str())?;
      }
      Failure::InvalidSalt | Failure::InvalidHash | Failure::Internal => {}
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

impl From<Refusal> for Failure {
  fn from(refusal: Refusal) -> Failure {
    match refusal {
      Refusal::Full { class, max_queue } => Failure::QueueFull { class, max_queue },
      Refusal::Late { wait } => Failure::Deadline {
        wait_ms: Some(wait.as_secs_f64() * 1e3),
      },
    }
  }
}

impl From<PoolError> for Failure {
  fn from(e: PoolError) -> Failure {
    match e {
      PoolError::BadEnv { name, value } => Failure::BadEnv {
        variable: name,
        value,
      },
      PoolError::AlreadyStarted { running } => Failure::PoolStarted { running },
      PoolError::Spawn(e) => Failure::PoolSpawn {
        reason: e.to_string(),
      },
      // The facade checks the size before it gets here.
      PoolError::BadSize(_) => Failure::Internal,
    }
  }
}
