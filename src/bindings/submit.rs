//! Jobs handed to the pool from JS: the cancellation handle, the environment's teardown flag, and
//! the promise each job settles from a pool thread.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::error::ErrorKind;
use crate::kernel::{self, Ciphertext};
use crate::pool;

type Resolver<T> = Box<dyn FnOnce(Env) -> Result<T>>;

/// A handle JS holds to drop a queued or running job (see `lib/api.js`, `AbortSignal`).
#[napi]
pub struct Cancellation {
  handle: Arc<pool::Handle>,
}

#[napi]
impl Cancellation {
  #[napi(constructor)]
  #[allow(clippy::new_without_default)]
  pub fn new() -> Self {
    Cancellation {
      handle: Arc::default(),
    }
  }

  /// Drops the job: from the queue if it waits, from its lane at the next step if it runs.
  #[napi]
  pub fn cancel(&self) {
    self.handle.cancel();
  }

  /// Drops the job if it still waits for a lane (its deadline passed); a job already started runs
  /// to its end. Whether it was dropped.
  #[napi]
  pub fn expire(&self) -> bool {
    self.handle.expire()
  }
}

/// How a job is scheduled, as the facade checked it (`lib/api.js`, `scheduleOf`).
#[napi(object)]
pub struct Schedule {
  /// 0 high, 1 normal, 2 low.
  pub class: u32,
  /// The fair-share key; none shares one with every call that has none.
  pub key: Option<String>,
  /// Milliseconds from now by which it must have started.
  pub timeout_ms: Option<f64>,
}

impl Schedule {
  /// The pool's spec; `urgent` for a compare. A class or timeout the facade would not send is
  /// `Internal`.
  pub fn spec(schedule: Option<&Schedule>, urgent: bool) -> std::result::Result<pool::Spec, ErrorKind> {
    let Some(s) = schedule else {
      return Ok(pool::Spec {
        urgent,
        ..Default::default()
      });
    };
    let class = *pool::Class::ALL
      .get(s.class as usize)
      .ok_or(ErrorKind::Internal)?;
    let deadline = match s.timeout_ms {
      Some(ms) if ms.is_finite() && ms >= 0.0 => {
        Some(std::time::Instant::now() + std::time::Duration::from_secs_f64(ms / 1e3))
      }
      Some(_) => return Err(ErrorKind::Internal),
      None => None,
    };
    Ok(pool::Spec {
      class,
      urgent,
      key: s.key.as_deref().map(Into::into),
      deadline,
    })
  }
}

/// This JS environment's (the main thread's or a worker's) one piece of instance data: a flag set
/// when it is torn down, so that its jobs still queued or running are dropped instead of computing
/// answers no one can receive.
struct Teardown(Arc<AtomicBool>);

fn teardown_flag(env: &Env) -> Result<Arc<AtomicBool>> {
  if let Some(Teardown(flag)) = env.get_instance_data::<Teardown>()? {
    return Ok(flag.clone());
  }
  let flag = Arc::new(AtomicBool::new(false));
  env.set_instance_data(Teardown(flag.clone()), (), |gone| {
    gone.value.0.store(true, Relaxed)
  })?;
  Ok(flag)
}

/// The process-wide pool, started on first use.
pub fn pool(env: &Env) -> Result<&'static pool::Pool> {
  pool::global().map_err(|e| ErrorKind::from(e).throw(env))
}

/// Queues one computation and returns its promise; `finish` turns the kernel's output into the
/// value the promise resolves to, on the pool thread. A refusal (a full class, a deadline that
/// cannot be met) throws before any promise exists, so that nothing is left to settle.
pub fn submit<'env, T: ToNapiValue + Send + 'static>(
  env: &'env Env,
  input: kernel::Input,
  spec: pool::Spec,
  cancel: Option<&Cancellation>,
  finish: impl FnOnce(Ciphertext) -> T + Send + 'static,
) -> Result<Object<'env>> {
  let place = pool(env)?
    .reserve(spec)
    .map_err(|refusal| ErrorKind::from(refusal).throw(env))?;
  let orphaned = Some(teardown_flag(env)?);
  let handle = cancel.map_or_else(Default::default, |c| c.handle.clone());
  let (deferred, promise) = env.create_deferred::<T, Resolver<T>>()?;
  place.submit(pool::Job {
    input,
    handle,
    orphaned,
    done: Box::new(move |outcome| match outcome {
      Ok(ctext) => {
        let value = finish(ctext);
        deferred.resolve(Box::new(move |_| Ok(value)));
      }
      Err(failure) => settle_failure(deferred, failure),
    }),
  });
  Ok(promise)
}

/// Queues a whole-thread task that holds `memory` bytes (see `pool::Task`) and returns its
/// promise, as `submit` does for a hash; a task no memory budget could hold throws `MemoryBudget`.
pub fn submit_task<'env, T: ToNapiValue + Send + 'static>(
  env: &'env Env,
  compute: impl FnOnce() -> Vec<u8> + Send + 'static,
  memory: usize,
  spec: pool::Spec,
  cancel: Option<&Cancellation>,
  finish: impl FnOnce(Vec<u8>) -> T + Send + 'static,
) -> Result<Object<'env>> {
  let place = pool(env)?
    .reserve_task(spec, memory)
    .map_err(|refusal| ErrorKind::from(refusal).throw(env))?;
  let orphaned = Some(teardown_flag(env)?);
  let handle = cancel.map_or_else(Default::default, |c| c.handle.clone());
  let (deferred, promise) = env.create_deferred::<T, Resolver<T>>()?;
  place.submit_task(pool::Task {
    compute: Box::new(compute),
    memory,
    handle,
    orphaned,
    done: Box::new(move |outcome| match outcome {
      Ok(bytes) => {
        let value = finish(bytes);
        deferred.resolve(Box::new(move |_| Ok(value)));
      }
      Err(failure) => settle_failure(deferred, failure),
    }),
  });
  Ok(promise)
}

/// Settles a job's promise with why it has no output.
fn settle_failure<T: ToNapiValue + 'static>(
  deferred: napi::JsDeferred<T, Resolver<T>>,
  failure: pool::JobFailure,
) {
  match failure {
    // The facade has already rejected its own promise with an AbortError; this one is only
    // observed by that wrapper.
    pool::JobFailure::Cancelled => deferred.reject(Error::new(Status::Cancelled, "cancelled")),
    pool::JobFailure::Panicked => deferred.resolve(Box::new(ErrorKind::Internal.reject())),
    // The facade may have rejected already, from its own timer (see `Cancellation::expire`).
    pool::JobFailure::Expired => deferred.resolve(Box::new(ErrorKind::Deadline { wait_ms: None }.reject())),
  }
}

/// A promise settled by `work` on a thread of its own: for the rare job that must not queue behind
/// the pool (calibration). A panic rejects it as `Internal`.
pub fn on_own_thread<'env, T: ToNapiValue + Send + 'static>(
  env: &'env Env,
  name: &str,
  work: impl FnOnce() -> T + Send + std::panic::UnwindSafe + 'static,
) -> Result<Object<'env>> {
  let (deferred, promise) = env.create_deferred::<T, Resolver<T>>()?;
  std::thread::Builder::new()
    .name(name.into())
    .spawn(move || match std::panic::catch_unwind(work) {
      Ok(value) => deferred.resolve(Box::new(move |_| Ok(value))),
      Err(_) => deferred.resolve(Box::new(ErrorKind::Internal.reject())),
    })
    .map_err(|e| {
      ErrorKind::PoolSpawn {
        reason: e.to_string(),
      }
      .throw(env)
    })?;
  Ok(promise)
}
