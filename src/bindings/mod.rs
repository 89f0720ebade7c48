//! Node bindings: argument conversion, errors and promise settlement only.
//!
//! Call forms, defaults, every user-facing check and every message live in the facade
//! (`lib/api.js`, `lib/errors.js`); what reaches these functions has been checked there, and every
//! input is copied before the function returns. A failure is reported as a kind with its facts
//! (`error`); jobs go to the pool through `submit`; `stats` is the pool's counters.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use zeroize::Zeroize;

use crate::format::{self, Minor, Setting};
use crate::{calibrate, kernel, pool};

mod error;
mod kdf;
mod stats;
mod submit;

use error::ErrorKind;
use submit::{on_own_thread, submit, Cancellation, Schedule};

type Password<'a> = Either<PasswordText, Uint8ArraySlice<'a>>;

/// A password passed as a JS string: napi's own `String` conversion, into a buffer that is zeroed
/// when it drops. napi converts every argument before the function body runs, so the copy exists
/// on every path out of a call: a later argument that fails to convert, a salt, schedule or hash
/// refused before any hashing, a panic, and the key words made. Each of those drops it here.
/// (A `Uint8Array` password is read in place; JS owns that memory.)
pub struct PasswordText(String);

impl Drop for PasswordText {
  fn drop(&mut self) {
    self.0.zeroize();
  }
}

impl TypeName for PasswordText {
  fn type_name() -> &'static str {
    String::type_name()
  }

  fn value_type() -> ValueType {
    String::value_type()
  }
}

impl ValidateNapiValue for PasswordText {}

impl FromNapiValue for PasswordText {
  unsafe fn from_napi_value(env: napi::sys::napi_env, value: napi::sys::napi_value) -> Result<Self> {
    // SAFETY: the caller's guarantee (a live `env`, and `value` a value of it) is passed on as it
    // was given.
    unsafe { String::from_napi_value(env, value) }.map(PasswordText)
  }
}

/// The version of the contract between this binding and the facade (see `error::API_VERSION`).
#[napi]
pub const API_VERSION: u32 = error::API_VERSION;
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
/// Whether the pool can count the machine's cores by itself. WASI reports one core whatever the
/// host has, so there the facade passes on Node's count.
#[napi]
pub const COUNTS_CORES: bool = cfg!(not(target_family = "wasm"));
/// The most hashes one pool thread interleaves.
#[napi]
pub const MAX_LANES: u32 = kernel::MAX_LANES as u32;

/// The kernel input for `password`, after which no copy of the password itself remains with us
/// (it drops here: see `PasswordText`).
fn input_for(setting: &Setting, password: Password) -> kernel::Input {
  match password {
    Either::A(text) => setting.input(text.0.as_bytes()),
    Either::B(bytes) => setting.input(&bytes),
  }
}

/// The kernel on the calling thread, a panic in it thrown as `Internal` rather than left to napi's
/// generic panic message.
fn hash_here(env: &Env, input: &kernel::Input) -> Result<kernel::Ciphertext> {
  std::panic::catch_unwind(|| kernel::hash_one(input)).map_err(|_| ErrorKind::Internal.throw(env))
}

/// What to hash under: a salt string (or a whole hash, whose salt is used), or a cost and 16 random
/// bytes for a new `$2b$` salt, so that `hash(data, rounds)` crosses into Rust once instead of
/// encoding a salt string first and parsing it back.
#[napi(object)]
pub struct NewSalt {
  pub cost: u32,
  pub seed: Uint8Array,
}

type Salt = Either<String, NewSalt>;

/// The setting for `salt`; a malformed salt string is `InvalidSalt`.
fn setting_of(env: &Env, salt: &Salt) -> Result<Setting> {
  match salt {
    Either::A(salt) => Setting::parse(salt)
      .map(|(setting, _)| setting)
      .map_err(|_| ErrorKind::InvalidSalt.throw(env)),
    Either::B(new) => fresh_setting(env, new.cost, &new.seed),
  }
}

/// A `$2b$` setting at `cost` under the salt `seed`. The facade checks the cost and draws 16 bytes:
/// anything else is `Internal`.
fn fresh_setting(env: &Env, cost: u32, seed: &[u8]) -> Result<Setting> {
  match <[u8; 16]>::try_from(seed) {
    Ok(salt) if (format::MIN_COST..=format::MAX_COST).contains(&cost) => Ok(Setting {
      minor: Minor::B,
      cost,
      salt,
    }),
    _ => Err(ErrorKind::Internal.throw(env)),
  }
}

/// A salt for `minor` (`"a"` or `"b"`) and `cost` (4–31) from 16 random bytes.
#[napi(catch_unwind)]
pub fn encode_salt(env: &Env, minor: String, cost: u32, seed: Uint8ArraySlice) -> Result<String> {
  let minor = Minor::from_letter(&minor).ok().filter(|m| *m != Minor::Y);
  let seed: Option<&[u8; 16]> = seed.as_ref().try_into().ok();
  match (minor, seed) {
    (Some(minor), Some(seed)) if (format::MIN_COST..=format::MAX_COST).contains(&cost) => {
      Ok(format::encode_salt(minor, cost, seed))
    }
    // The facade checks minor and cost, and draws 16 bytes.
    _ => Err(ErrorKind::Internal.throw(env)),
  }
}

/// bcrypt of `password` under `salt`, computed on the calling thread.
#[napi(catch_unwind)]
pub fn hash_sync(
  env: &Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  #[napi(ts_arg_type = "string | NewSalt")] salt: Salt,
) -> Result<String> {
  let setting = setting_of(env, &salt)?;
  let input = input_for(&setting, password);
  Ok(setting.hash_string(&hash_here(env, &input)?))
}

/// The pool's spec for a job scheduled as `schedule` says.
fn spec_of(env: &Env, schedule: Option<&Schedule>, urgent: bool) -> Result<pool::Spec> {
  Schedule::spec(schedule, urgent).map_err(|f| f.throw(env))
}

/// bcrypt of `password` under `salt`, computed on the pool.
#[napi(catch_unwind, ts_return_type = "Promise<string>")]
pub fn hash<'env>(
  env: &'env Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  #[napi(ts_arg_type = "string | NewSalt")] salt: Salt,
  cancel: Option<&Cancellation>,
  schedule: Option<Schedule>,
) -> Result<Object<'env>> {
  let spec = spec_of(env, schedule.as_ref(), false)?;
  let setting = setting_of(env, &salt)?;
  let input = input_for(&setting, password);
  submit(env, input, spec, cancel, move |ctext| setting.hash_string(&ctext))
}

/// Whether `password` matches the stored `hash`, computed on the calling thread.
#[napi(catch_unwind)]
pub fn compare_sync(
  env: &Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  hash: String,
) -> Result<bool> {
  match format::verify_setting(&hash) {
    Ok(setting) => {
      let input = input_for(&setting, password);
      Ok(format::verify_result(&setting, &hash, &hash_here(env, &input)?))
    }
    Err(_) => Ok(false),
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
  schedule: Option<Schedule>,
) -> Result<Object<'env>> {
  // A user is waiting to log in: see `pool::Job::spec`.
  let spec = spec_of(env, schedule.as_ref(), true)?;
  let Ok(setting) = format::verify_setting(&hash) else {
    let (deferred, promise) = env.create_deferred::<bool, Box<dyn FnOnce(Env) -> Result<bool>>>()?;
    deferred.resolve(Box::new(|_| Ok(false)));
    return Ok(promise);
  };
  let input = input_for(&setting, password);
  submit(env, input, spec, cancel, move |ctext| {
    format::verify_result(&setting, &hash, &ctext)
  })
}

/// A compare's work for an account that does not exist: `password` hashed under a new salt (its cost
/// and 16 random bytes), as a compare against a stored hash of that cost would, queued and
/// scheduled as one; resolves `false`. So "no such user" costs what "wrong password" costs.
#[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
pub fn compare_unknown<'env>(
  env: &'env Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  salt: NewSalt,
  cancel: Option<&Cancellation>,
  schedule: Option<Schedule>,
) -> Result<Object<'env>> {
  let spec = spec_of(env, schedule.as_ref(), true)?;
  let setting = fresh_setting(env, salt.cost, &salt.seed)?;
  let input = input_for(&setting, password);
  submit(env, input, spec, cancel, |_| false)
}

/// The cost recorded in a hash, read as `bcrypt` reads it.
#[napi(catch_unwind)]
pub fn get_rounds(env: &Env, hash: String) -> Result<u32> {
  format::get_rounds(&hash).map_err(|_| ErrorKind::InvalidHash.throw(env))
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
  format::verify_setting(&hash).ok().map(|s| HashInfo {
    minor: s.minor.letter().to_string(),
    cost: s.cost,
  })
}

/// The cost whose hash takes about `targetMs` here, timed on the calling thread (see `calibrate`).
#[napi(catch_unwind)]
pub fn calibrate_sync(env: &Env, target_ms: f64) -> Result<u32> {
  std::panic::catch_unwind(|| calibrate::cost_for(target_ms)).map_err(|_| ErrorKind::Internal.throw(env))
}

/// The same, timed on a thread of its own: not the pool, whose queue would be timed too, and not
/// libuv's threadpool.
#[napi(catch_unwind, ts_return_type = "Promise<number>")]
pub fn calibrate(env: &Env, target_ms: f64) -> Result<Object<'_>> {
  on_own_thread(env, "bcrypt-calibrate", move || calibrate::cost_for(target_ms))
}

/// One class's queue bound, for `configure`.
#[napi(object)]
pub struct ClassBound {
  /// 0 high, 1 normal, 2 low.
  pub priority: u32,
  /// The most of its jobs that may wait for a lane; absent for no bound.
  pub max_queue: Option<u32>,
}

/// What `configure` changes, as the facade checked it; an absent field is left as it is.
#[napi(object)]
pub struct PoolConfig {
  /// The pool's size: only before the first async call, unless it is the same count.
  pub threads: Option<u32>,
  /// Lanes per thread to pin, or `"auto"` to let the pool measure the best count.
  #[napi(ts_type = "number | 'auto'")]
  pub lanes: Option<Either<u32, String>>,
  /// Queue bounds of the classes named.
  pub max_queue: Option<Vec<ClassBound>>,
  /// Whether compares go before queued hashes.
  pub compare_first: Option<bool>,
  /// Bytes the pool's running tasks (argon2, scrypt) may hold together.
  pub memory_budget: Option<f64>,
}

/// Configures the pool, all or nothing (see `pool::configure`). What the facade would not send (an
/// unknown class, a lanes string other than "auto", a count out of range) is `Internal`.
#[napi(catch_unwind)]
pub fn configure(env: &Env, config: PoolConfig) -> Result<()> {
  let internal = || ErrorKind::Internal.throw(env);
  let lanes = match config.lanes {
    None => None,
    Some(Either::A(n)) => Some(Some(n as usize)),
    Some(Either::B(auto)) if auto == "auto" => Some(None),
    Some(Either::B(_)) => return Err(internal()),
  };
  let mut max_queue = [None; 3];
  for bound in config.max_queue.unwrap_or_default() {
    let slot = max_queue.get_mut(bound.priority as usize).ok_or_else(internal)?;
    *slot = Some(bound.max_queue.map(|n| n as usize));
  }
  pool::configure(pool::Config {
    threads: config.threads.map(|n| n as usize),
    lanes,
    max_queue,
    compare_first: config.compare_first,
    memory_budget: config.memory_budget.map(|bytes| bytes as usize),
  })
  .map_err(|e| ErrorKind::from(e).throw(env))
}
