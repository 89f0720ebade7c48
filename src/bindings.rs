//! Node bindings: argument conversion, errors and promise settlement only.
//!
//! Call forms, defaults and bcrypt's own argument checks live in `index.js`; what reaches these
//! functions has the right JS types, and every input is copied before the function returns.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use zeroize::Zeroize;

use crate::format::{self, Minor, Setting};
use crate::{calibrate, kernel, pool};

const INVALID_SALT: &str = "Invalid salt. Salt must be in the form of: $Vers$log2(NumRounds)$saltvalue";
const INTERNAL: &str = "bcrypt-offload: internal error while hashing (a bug: please report it)";
const INTERNAL_CODE: &str = "ERR_BCRYPT_INTERNAL";

type Password<'a> = Either<String, Uint8ArraySlice<'a>>;
type Resolver<T> = Box<dyn FnOnce(Env) -> Result<T>>;

/// The kernel input for `password`, after which no copy of the password itself remains with us.
fn input_for(setting: &Setting, password: Password) -> kernel::Input {
  match password {
    Either::A(mut s) => {
      let input = setting.input(s.as_bytes());
      s.zeroize();
      input
    }
    Either::B(bytes) => setting.input(&bytes),
  }
}

enum Kind {
  Error,
  TypeError,
  RangeError,
}

/// Throws a JS error of `kind` carrying a Node-style `code`, for napi to pass through unchanged.
fn throw(env: &Env, kind: Kind, code: &str, msg: &str) -> Error {
  let thrown = match kind {
    Kind::Error => env.throw_error(msg, Some(code)),
    Kind::TypeError => env.throw_type_error(msg, Some(code)),
    Kind::RangeError => env.throw_range_error(msg, Some(code)),
  };
  match thrown {
    Ok(()) => Error::from_status(Status::PendingException),
    Err(e) => e,
  }
}

/// The kernel on the calling thread, a panic in it thrown as a JS error rather than left to napi's
/// generic panic message.
fn hash_here(env: &Env, input: &kernel::Input) -> Result<[u8; 23]> {
  std::panic::catch_unwind(|| kernel::hash_one(input))
    .map_err(|_| throw(env, Kind::Error, INTERNAL_CODE, INTERNAL))
}

/// Rejects a deferred with the internal error, built on the JS thread, where an error object with
/// a `code` can be made; rejecting with it hands JS that very object.
fn internal_error<T>(env: Env) -> Result<T> {
  let mut err = env.create_error(Error::from_reason(INTERNAL))?;
  err.set_named_property("code", INTERNAL_CODE)?;
  Err(Error::from(err.to_unknown()))
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

fn parse_salt(env: &Env, salt: &str) -> Result<Setting> {
  Setting::parse(salt)
    .map(|(setting, _)| setting)
    .ok_or_else(|| throw(env, Kind::TypeError, "ERR_INVALID_ARG_VALUE", INVALID_SALT))
}

fn pool(env: &Env) -> Result<&'static pool::Pool> {
  pool::global().map_err(|e| pool_error(env, e))
}

fn pool_error(env: &Env, e: pool::PoolError) -> Error {
  let msg = e.to_string();
  match e {
    pool::PoolError::BadEnv { .. } | pool::PoolError::BadSize(_) => {
      throw(env, Kind::RangeError, "ERR_OUT_OF_RANGE", &msg)
    }
    pool::PoolError::AlreadyStarted { .. } => throw(env, Kind::Error, "ERR_BCRYPT_POOL_STARTED", &msg),
    pool::PoolError::Spawn(_) => throw(env, Kind::Error, "ERR_BCRYPT_POOL_SPAWN", &msg),
  }
}

/// The lowest cost bcrypt accepts.
#[napi]
pub const MIN_COST: u32 = format::MIN_COST;
/// The highest cost bcrypt accepts.
#[napi]
pub const MAX_COST: u32 = format::MAX_COST;
/// Bytes of a password that bcrypt reads.
#[napi]
pub const MAX_PASSWORD_BYTES: u32 = format::MAX_PASSWORD_BYTES as u32;
/// The most pool threads `configure` accepts.
#[napi]
pub const MAX_THREADS: u32 = pool::MAX_THREADS as u32;

/// A flag JS sets to drop a queued or running job (see `index.js`, `AbortSignal`).
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
}

/// Queues one computation and returns its promise; `finish` turns the kernel's output into the
/// value the promise resolves to, on the pool thread. A full queue throws before any promise
/// exists, so that nothing is left to settle.
fn submit<'env, T: ToNapiValue + Send + 'static>(
  env: &'env Env,
  input: kernel::Input,
  cancel: Option<&Cancellation>,
  finish: impl FnOnce([u8; 23]) -> T + Send + 'static,
) -> Result<Object<'env>> {
  let place = pool(env)?.reserve().map_err(|full| {
    let msg = format!(
      "bcrypt-offload: {} jobs are already queued (maxQueue)",
      full.max_queue
    );
    throw(env, Kind::Error, "ERR_BCRYPT_QUEUE_FULL", &msg)
  })?;
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
      // index.js has already rejected its own promise with an AbortError; this one is only
      // observed by that wrapper.
      Err(pool::Failure::Cancelled) => deferred.reject(Error::new(Status::Cancelled, "cancelled")),
      Err(pool::Failure::Panicked) => deferred.resolve(Box::new(internal_error)),
    }),
  });
  Ok(promise)
}

/// A salt for `minor` (`"a"` or `"b"`) and `cost` (4–31) from 16 random bytes.
#[napi(catch_unwind)]
pub fn encode_salt(env: &Env, minor: String, cost: u32, seed: Uint8ArraySlice) -> Result<String> {
  let minor = Minor::from_letter(&minor).filter(|m| *m != Minor::Y);
  let seed: Option<&[u8; 16]> = seed.as_ref().try_into().ok();
  match (minor, seed) {
    (Some(minor), Some(seed)) if (format::MIN_COST..=format::MAX_COST).contains(&cost) => {
      Ok(format::encode_salt(minor, cost, seed))
    }
    _ => Err(throw(
      env,
      Kind::TypeError,
      "ERR_INVALID_ARG_VALUE",
      "encodeSalt: minor 'a'|'b', cost 4-31, 16-byte seed",
    )),
  }
}

/// bcrypt of `password` under `salt`, computed on the calling thread.
#[napi(catch_unwind)]
pub fn hash_sync(
  env: &Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  salt: String,
) -> Result<String> {
  let setting = parse_salt(env, &salt)?;
  let input = input_for(&setting, password);
  Ok(setting.hash_string(&hash_here(env, &input)?))
}

/// bcrypt of `password` under `salt`, computed on the pool.
#[napi(catch_unwind, ts_return_type = "Promise<string>")]
pub fn hash<'env>(
  env: &'env Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  salt: String,
  cancel: Option<&Cancellation>,
) -> Result<Object<'env>> {
  let setting = parse_salt(env, &salt)?;
  let input = input_for(&setting, password);
  submit(env, input, cancel, move |ctext| setting.hash_string(&ctext))
}

/// Whether `password` matches the stored `hash`, computed on the calling thread.
#[napi(catch_unwind)]
pub fn compare_sync(
  env: &Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  hash: String,
) -> Result<bool> {
  match format::verify_setting(&hash) {
    Some(setting) => {
      let input = input_for(&setting, password);
      Ok(format::verify_result(&setting, &hash, &hash_here(env, &input)?))
    }
    None => Ok(false),
  }
}

/// Whether `password` matches the stored `hash`, computed on the pool. A string that is not a
/// well-formed hash resolves `false` without queueing anything.
#[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
pub fn compare<'env>(
  env: &'env Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  hash: String,
  cancel: Option<&Cancellation>,
) -> Result<Object<'env>> {
  let Some(setting) = format::verify_setting(&hash) else {
    let (deferred, promise) = env.create_deferred::<bool, Resolver<bool>>()?;
    deferred.resolve(Box::new(|_| Ok(false)));
    return Ok(promise);
  };
  let input = input_for(&setting, password);
  submit(env, input, cancel, move |ctext| {
    format::verify_result(&setting, &hash, &ctext)
  })
}

/// The cost recorded in a hash, read as `bcrypt` reads it.
#[napi(catch_unwind)]
pub fn get_rounds(env: &Env, hash: String) -> Result<u32> {
  format::get_rounds(&hash).ok_or_else(|| {
    throw(
      env,
      Kind::TypeError,
      "ERR_INVALID_ARG_VALUE",
      "invalid hash provided",
    )
  })
}

/// What a well-formed hash was made with.
#[napi(object)]
pub struct HashInfo {
  /// `""` for `$2$`, else `"a"`, `"b"` or `"y"`.
  pub minor: String,
  pub cost: u32,
}

/// The minor version and cost of a complete, well-formed hash; `null` for anything else.
#[napi(catch_unwind)]
pub fn hash_info(hash: String) -> Option<HashInfo> {
  format::verify_setting(&hash).map(|s| HashInfo {
    minor: s.minor.letter().to_string(),
    cost: s.cost,
  })
}

/// The cost whose hash takes about `targetMs` here, timed on the calling thread (see `calibrate`).
#[napi(catch_unwind)]
pub fn calibrate_sync(env: &Env, target_ms: f64) -> Result<u32> {
  std::panic::catch_unwind(|| calibrate::cost_for(target_ms))
    .map_err(|_| throw(env, Kind::Error, INTERNAL_CODE, INTERNAL))
}

/// The same, timed on a thread of its own: not the pool, whose queue would be timed too, and not
/// libuv's threadpool.
#[napi(catch_unwind, ts_return_type = "Promise<number>")]
pub fn calibrate(env: &Env, target_ms: f64) -> Result<Object<'_>> {
  let (deferred, promise) = env.create_deferred::<u32, Resolver<u32>>()?;
  std::thread::Builder::new()
    .name("bcrypt-offload-calibrate".into())
    .spawn(
      move || match std::panic::catch_unwind(|| calibrate::cost_for(target_ms)) {
        Ok(cost) => deferred.resolve(Box::new(move |_| Ok(cost))),
        Err(_) => deferred.resolve(Box::new(internal_error)),
      },
    )
    .map_err(|e| pool_error(env, pool::PoolError::Spawn(e)))?;
  Ok(promise)
}

/// Sets the pool's thread count; only before the first async call, unless it is the same count.
#[napi(catch_unwind)]
pub fn configure_threads(env: &Env, threads: u32) -> Result<()> {
  pool::configure(threads as usize).map_err(|e| pool_error(env, e))
}

/// Bounds how many calls may wait for a lane (`null`: no bound). Takes effect at once.
#[napi(catch_unwind)]
pub fn configure_max_queue(max_queue: Option<u32>) {
  pool::configure_max_queue(max_queue.map(|n| n as usize));
}

/// A histogram of durations: `counts[i]` jobs took at most `bucketsMs[i]` (and more than the bound
/// before); the last count is for everything above the last bound.
#[napi(object)]
pub struct DurationHistogram {
  pub buckets_ms: Vec<f64>,
  pub counts: Vec<f64>,
  pub count: f64,
  pub sum_ms: f64,
}

impl From<pool::HistogramSnapshot> for DurationHistogram {
  fn from(h: pool::HistogramSnapshot) -> Self {
    DurationHistogram {
      buckets_ms: pool::BUCKETS_MS.to_vec(),
      count: h.counts.iter().sum::<u64>() as f64,
      counts: h.counts.into_iter().map(|c| c as f64).collect(),
      sum_ms: h.sum_ms,
    }
  }
}

/// What the pool is doing now.
#[napi(object)]
pub struct PoolStats {
  /// Pool threads.
  pub threads: u32,
  /// Hashes each thread interleaves at most.
  pub lanes_per_thread: u32,
  /// Jobs waiting for a lane.
  pub queued: u32,
  /// Jobs a pool thread has taken and not yet settled.
  pub running: u32,
  /// Jobs computed since the process started.
  pub completed: f64,
  /// Calls refused because the queue was full.
  pub rejected: f64,
  /// Jobs dropped because their signal aborted.
  pub cancelled: f64,
  /// The queue's bound; `null` when there is none.
  pub max_queue: Option<u32>,
  /// Time from the call to a lane.
  pub queue_wait: DurationHistogram,
  /// Time in a lane.
  pub compute: DurationHistogram,
}

/// The pool's counters (zeros, and the size it would start with, before it starts). Reads atomics
/// only: cheap enough per scrape.
#[napi(catch_unwind)]
pub fn pool_stats(env: &Env) -> Result<PoolStats> {
  let s = pool::global_stats().map_err(|e| pool_error(env, e))?;
  Ok(PoolStats {
    threads: s.threads as u32,
    lanes_per_thread: s.lanes_per_thread as u32,
    queued: s.queued as u32,
    running: s.running as u32,
    completed: s.completed as f64,
    rejected: s.rejected as f64,
    cancelled: s.cancelled as f64,
    max_queue: s.max_queue.map(|n| n as u32),
    queue_wait: s.wait.into(),
    compute: s.compute.into(),
  })
}
