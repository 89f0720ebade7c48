//! argon2, PBKDF2 and scrypt for JS: each a pool task (`pool::Task`) or, for the sync forms, the
//! same computation on the calling thread. The facade (`lib/argon2/`, `lib/kdf.js`) checks types
//! and fills in defaults; the parameters' limits are checked here, once, by `kdf` (a breach is
//! `BadOption` naming the option), and every input is copied before the function returns.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use zeroize::Zeroizing;

use super::error::ErrorKind;
use super::submit::{submit_task, Cancellation, Schedule};
use super::{spec_of, Password};
use crate::kdf::argon2::{self, Job, Params, Variant};
use crate::kdf::derive::{self, Derivation};
use crate::kdf::{constant_time_eq, phc};
use crate::pool;

/// OWASP's argon2id defaults (see `kdf::argon2`), for the facade's options.
#[napi]
pub const ARGON2_DEFAULT_MEMORY_COST: u32 = argon2::DEFAULT_MEMORY_COST;
#[napi]
pub const ARGON2_DEFAULT_TIME_COST: u32 = argon2::DEFAULT_TIME_COST;
#[napi]
pub const ARGON2_DEFAULT_PARALLELISM: u32 = argon2::DEFAULT_PARALLELISM;
#[napi]
pub const ARGON2_DEFAULT_HASH_LENGTH: u32 = argon2::DEFAULT_HASH_LENGTH;
#[napi]
pub const ARGON2_DEFAULT_SALT_LENGTH: u32 = argon2::DEFAULT_SALT_LENGTH;
/// The limits `BadOption` is worded from.
#[napi]
pub const ARGON2_MIN_MEMORY_COST_PER_LANE: u32 = argon2::MIN_MEMORY_COST_PER_LANE;
#[napi]
pub const ARGON2_MAX_PARALLELISM: u32 = argon2::MAX_PARALLELISM;
#[napi]
pub const ARGON2_MIN_HASH_LENGTH: u32 = argon2::MIN_HASH_LENGTH;
#[napi]
pub const ARGON2_MIN_SALT_LENGTH: u32 = argon2::MIN_SALT_LENGTH;
#[napi]
pub const KDF_MAX_KEY_LENGTH: u32 = derive::MAX_KEY_LENGTH;

/// An argon2 job's options, as the facade filled them in.
#[napi(object)]
pub struct Argon2Options {
  /// 0 argon2d, 1 argon2i, 2 argon2id.
  pub variant: u32,
  /// 0x10 or 0x13.
  pub version: u32,
  /// KiB.
  pub memory_cost: u32,
  pub time_cost: u32,
  pub parallelism: u32,
  pub hash_length: u32,
  pub salt: Uint8Array,
  pub secret: Option<Uint8Array>,
  pub associated_data: Option<Uint8Array>,
}

/// What a PHC string says it was made with.
#[napi(object)]
pub struct Argon2Info {
  pub variant: u32,
  pub version: u32,
  pub memory_cost: u32,
  pub time_cost: u32,
  pub parallelism: u32,
}

fn password_bytes(password: Password) -> Zeroizing<Vec<u8>> {
  Zeroizing::new(match password {
    Either::A(text) => text.0.as_bytes().to_vec(),
    Either::B(bytes) => bytes.to_vec(),
  })
}

fn secret_bytes(secret: Option<&Uint8Array>) -> Zeroizing<Vec<u8>> {
  Zeroizing::new(secret.map(|s| s.to_vec()).unwrap_or_default())
}

fn option_name(invalid: argon2::Invalid) -> &'static str {
  match invalid {
    argon2::Invalid::Version => "version",
    argon2::Invalid::MemoryCost => "memoryCost",
    argon2::Invalid::TimeCost => "timeCost",
    argon2::Invalid::Parallelism => "parallelism",
    argon2::Invalid::HashLength => "hashLength",
    argon2::Invalid::SaltLength => "salt",
    argon2::Invalid::AssociatedData => "associatedData",
    argon2::Invalid::Secret => "secret",
  }
}

fn job_of(env: &Env, password: Password, options: &Argon2Options) -> Result<Job> {
  let variant = Variant::from_number(options.variant)
    .ok_or_else(|| ErrorKind::BadOption { option: "type" }.throw(env))?;
  let params = Params {
    variant,
    version: options.version,
    memory_cost: options.memory_cost,
    time_cost: options.time_cost,
    parallelism: options.parallelism,
    associated_data: options
      .associated_data
      .as_ref()
      .map(|d| d.to_vec())
      .unwrap_or_default(),
  };
  Job::new(
    params,
    options.hash_length,
    password_bytes(password),
    options.salt.to_vec(),
    secret_bytes(options.secret.as_ref()),
  )
  .map_err(|invalid| {
    ErrorKind::BadOption {
      option: option_name(invalid),
    }
    .throw(env)
  })
}

/// The computation on the calling thread, a panic thrown as `Internal`.
fn here<T>(env: &Env, work: impl FnOnce() -> T + std::panic::UnwindSafe) -> Result<T> {
  std::panic::catch_unwind(work).map_err(|_| ErrorKind::Internal.throw(env))
}

/// The sync forms compute on the caller's thread, outside the pool's queue, but are held to its
/// memory budget all the same: a job past it throws as a queued one is refused, rather than asking
/// the allocator for what a hostile digest names (`m` up to 4 TiB).
fn within_budget(env: &Env, job: &Job) -> Result<()> {
  let (memory, budget) = (job.memory(), pool::memory_budget());
  if memory > budget {
    return Err(ErrorKind::MemoryBudget { memory, budget }.throw(env));
  }
  Ok(())
}

/// argon2 of `password`, encoded as a PHC string, computed on the pool.
#[napi(catch_unwind, ts_return_type = "Promise<string>")]
pub fn argon2_hash<'env>(
  env: &'env Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  options: Argon2Options,
  cancel: Option<&Cancellation>,
  schedule: Option<Schedule>,
) -> Result<Object<'env>> {
  let spec = spec_of(env, schedule.as_ref(), false)?;
  let job = std::sync::Arc::new(job_of(env, password, &options)?);
  let memory = job.memory();
  let done = job.clone();
  submit_task(
    env,
    move || job.compute(),
    memory,
    spec,
    cancel,
    move |hash| phc::encode(&done, &hash),
  )
}

/// argon2 of `password`, the raw bytes, computed on the pool.
#[napi(catch_unwind, ts_return_type = "Promise<Buffer>")]
pub fn argon2_hash_raw<'env>(
  env: &'env Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  options: Argon2Options,
  cancel: Option<&Cancellation>,
  schedule: Option<Schedule>,
) -> Result<Object<'env>> {
  let spec = spec_of(env, schedule.as_ref(), false)?;
  let job = job_of(env, password, &options)?;
  let memory = job.memory();
  submit_task(env, move || job.compute(), memory, spec, cancel, Buffer::from)
}

/// `argon2Hash` on the calling thread.
#[napi(catch_unwind)]
pub fn argon2_hash_sync(
  env: &Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  options: Argon2Options,
) -> Result<String> {
  let job = job_of(env, password, &options)?;
  within_budget(env, &job)?;
  let hash = here(env, || job.compute())?;
  Ok(phc::encode(&job, &hash))
}

/// `argon2HashRaw` on the calling thread.
#[napi(catch_unwind)]
pub fn argon2_hash_raw_sync(
  env: &Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  options: Argon2Options,
) -> Result<Buffer> {
  let job = job_of(env, password, &options)?;
  within_budget(env, &job)?;
  here(env, || job.compute()).map(Buffer::from)
}

/// Whether `password` (with `secret`) matches the PHC string `digest`, computed on the pool. A
/// string that is not a well-formed argon2 hash resolves `false` without queueing anything.
#[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
pub fn argon2_verify<'env>(
  env: &'env Env,
  digest: String,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  secret: Option<Uint8Array>,
  cancel: Option<&Cancellation>,
  schedule: Option<Schedule>,
) -> Result<Object<'env>> {
  // A user is waiting to log in: urgent, as a bcrypt compare.
  let spec = spec_of(env, schedule.as_ref(), true)?;
  let checked = phc::decode(&digest).and_then(|phc| {
    let job = phc.job(password_bytes(password), secret_bytes(secret.as_ref()))?;
    Some((phc.hash, job))
  });
  let Some((expected, job)) = checked else {
    let (deferred, promise) = env.create_deferred::<bool, Box<dyn FnOnce(Env) -> Result<bool>>>()?;
    deferred.resolve(Box::new(|_| Ok(false)));
    return Ok(promise);
  };
  let memory = job.memory();
  submit_task(
    env,
    move || job.compute(),
    memory,
    spec,
    cancel,
    move |hash| constant_time_eq(&hash, &expected),
  )
}

/// `argon2Verify` on the calling thread.
#[napi(catch_unwind)]
pub fn argon2_verify_sync(
  env: &Env,
  digest: String,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  secret: Option<Uint8Array>,
) -> Result<bool> {
  let Some(phc) = phc::decode(&digest) else {
    return Ok(false);
  };
  let Some(job) = phc.job(password_bytes(password), secret_bytes(secret.as_ref())) else {
    return Ok(false);
  };
  within_budget(env, &job)?;
  let hash = here(env, || job.compute())?;
  Ok(constant_time_eq(&hash, &phc.hash))
}

/// What a well-formed argon2 PHC string was made with; `null` for anything else.
#[napi(catch_unwind)]
pub fn argon2_info(digest: String) -> Option<Argon2Info> {
  phc::decode(&digest).map(|phc| Argon2Info {
    variant: phc.params.variant as u32,
    version: phc.params.version,
    memory_cost: phc.params.memory_cost,
    time_cost: phc.params.time_cost,
    parallelism: phc.params.parallelism,
  })
}

fn derive_option(invalid: derive::Invalid) -> ErrorKind {
  ErrorKind::BadOption {
    option: match invalid {
      derive::Invalid::Iterations => "iterations",
      derive::Invalid::KeyLength => "keyLength",
      derive::Invalid::Cost => "N, r, p",
    },
  }
}

fn derive_on_pool<'env>(
  env: &'env Env,
  derivation: std::result::Result<Derivation, derive::Invalid>,
  cancel: Option<&Cancellation>,
  schedule: Option<Schedule>,
) -> Result<Object<'env>> {
  let spec = spec_of(env, schedule.as_ref(), true)?;
  let derivation = derivation.map_err(|e| derive_option(e).throw(env))?;
  let memory = derivation.memory();
  submit_task(
    env,
    move || derivation.compute(),
    memory,
    spec,
    cancel,
    Buffer::from,
  )
}

/// PBKDF2-HMAC-SHA256 of `password`, computed on the pool (urgent: it verifies a stored hash).
#[napi(catch_unwind, ts_return_type = "Promise<Buffer>")]
pub fn pbkdf2_sha256<'env>(
  env: &'env Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  salt: Uint8Array,
  iterations: u32,
  key_length: u32,
  cancel: Option<&Cancellation>,
  schedule: Option<Schedule>,
) -> Result<Object<'env>> {
  let derivation = Derivation::pbkdf2_sha256(password_bytes(password), salt.to_vec(), iterations, key_length);
  derive_on_pool(env, derivation, cancel, schedule)
}

/// scrypt of `password` at cost `n`, block size `r`, parallelism `p`, computed on the pool (urgent:
/// it verifies a stored hash).
#[napi(catch_unwind, ts_return_type = "Promise<Buffer>")]
#[allow(clippy::too_many_arguments)]
pub fn scrypt<'env>(
  env: &'env Env,
  #[napi(ts_arg_type = "string | Uint8Array")] password: Password,
  salt: Uint8Array,
  n: u32,
  r: u32,
  p: u32,
  key_length: u32,
  cancel: Option<&Cancellation>,
  schedule: Option<Schedule>,
) -> Result<Object<'env>> {
  let derivation = Derivation::scrypt(
    password_bytes(password),
    salt.to_vec(),
    n.into(),
    r,
    p,
    key_length,
  );
  derive_on_pool(env, derivation, cancel, schedule)
}
