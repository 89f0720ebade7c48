//! Argon2 (RFC 9106) over the `argon2-rust` crate, a pure-Rust port of the reference implementation
//! with SIMD chosen at run time: a job's parameters, checked once, the memory it holds, and its
//! computation. The crate computes the lanes of `p > 1` one after another (its `parallel` feature,
//! which would start threads of its own, is off): a job is one pool thread's work.
//!
//! Why this crate rather than RustCrypto's `argon2` 0.5: the same answers (RFC 9106's vectors, and
//! byte-identical hashes in the tests), in about half the time: 7.0 ms a hash against 13.2 at
//! m=19456, t=2, p=1 (thread CPU time, AVX-512 here); `@node-rs/argon2` uses it too, so the pool
//! can keep level with it. It also maps each job's memory fresh and unmaps it at the end, so the
//! process's RSS follows what the pool's budget counts (RustCrypto's 64-byte-aligned Vec stayed in
//! glibc's heaps: 50 hashes in a row left 1 GB of RSS).

use argon2_rust::params::{Memory, TagLen};
use argon2_rust::{Algorithm, Argon2, Version};
use zeroize::Zeroizing;

/// OWASP's Password Storage Cheat Sheet's first choice: argon2id, 19 MiB, 2 passes, 1 lane.
pub const DEFAULT_MEMORY_COST: u32 = 19 * 1024;
pub const DEFAULT_TIME_COST: u32 = 2;
pub const DEFAULT_PARALLELISM: u32 = 1;
pub const DEFAULT_HASH_LENGTH: u32 = 32;
/// Salt bytes drawn for a new hash: RFC 9106's recommendation.
pub const DEFAULT_SALT_LENGTH: u32 = 16;

/// RFC 9106's limits, as the reference implementation and the crate keep them.
pub const MIN_MEMORY_COST_PER_LANE: u32 = 8;
pub const MIN_TIME_COST: u32 = argon2_rust::params::MIN_TIME;
pub const MIN_PARALLELISM: u32 = argon2_rust::params::MIN_LANES;
pub const MAX_PARALLELISM: u32 = argon2_rust::params::MAX_LANES;
pub const MIN_HASH_LENGTH: u32 = argon2_rust::params::MIN_OUTLEN;
pub const MIN_SALT_LENGTH: u32 = argon2_rust::params::MIN_SALT_LENGTH;

/// The variants, numbered as the `argon2` npm package numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
  D = 0,
  I = 1,
  Id = 2,
}

impl Variant {
  pub fn from_number(n: u32) -> Option<Variant> {
    [Variant::D, Variant::I, Variant::Id].get(n as usize).copied()
  }

  /// Its PHC identifier.
  pub fn name(self) -> &'static str {
    match self {
      Variant::D => "argon2d",
      Variant::I => "argon2i",
      Variant::Id => "argon2id",
    }
  }

  pub fn from_name(name: &str) -> Option<Variant> {
    [Variant::D, Variant::I, Variant::Id]
      .into_iter()
      .find(|v| v.name() == name)
  }

  fn algorithm(self) -> Algorithm {
    match self {
      Variant::D => Algorithm::Argon2d,
      Variant::I => Algorithm::Argon2i,
      Variant::Id => Algorithm::Argon2id,
    }
  }
}

/// What a hash was made with, as its PHC string records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
  pub variant: Variant,
  /// 0x10 or 0x13.
  pub version: u32,
  /// KiB.
  pub memory_cost: u32,
  pub time_cost: u32,
  pub parallelism: u32,
  pub associated_data: Vec<u8>,
}

/// Why a job's parameters were refused: the first limit broken.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
  Version,
  MemoryCost,
  TimeCost,
  Parallelism,
  HashLength,
  SaltLength,
  AssociatedData,
  Secret,
}

/// A checked job: a password and a salt under `params`, `hash_length` bytes out.
pub struct Job {
  params: Params,
  context: Argon2,
  hash_length: usize,
  password: Zeroizing<Vec<u8>>,
  salt: Vec<u8>,
  secret: Zeroizing<Vec<u8>>,
}

impl Job {
  pub fn new(
    params: Params,
    hash_length: u32,
    password: Zeroizing<Vec<u8>>,
    salt: Vec<u8>,
    secret: Zeroizing<Vec<u8>>,
  ) -> Result<Job, Invalid> {
    let version = match params.version {
      0x10 => Version::V0x10,
      0x13 => Version::V0x13,
      _ => return Err(Invalid::Version),
    };
    if !(MIN_PARALLELISM..=MAX_PARALLELISM).contains(&params.parallelism) {
      return Err(Invalid::Parallelism);
    }
    if params.memory_cost < MIN_MEMORY_COST_PER_LANE * params.parallelism {
      return Err(Invalid::MemoryCost);
    }
    if params.time_cost < MIN_TIME_COST {
      return Err(Invalid::TimeCost);
    }
    if hash_length < MIN_HASH_LENGTH {
      return Err(Invalid::HashLength);
    }
    if salt.len() < MIN_SALT_LENGTH as usize || u32::try_from(salt.len()).is_err() {
      return Err(Invalid::SaltLength);
    }
    if u32::try_from(params.associated_data.len()).is_err() {
      return Err(Invalid::AssociatedData);
    }
    if u32::try_from(secret.len()).is_err() {
      return Err(Invalid::Secret);
    }
    let crate_params = argon2_rust::Params::builder()
      .memory(Memory::kib(params.memory_cost.into()))
      .passes(params.time_cost)
      .lanes(params.parallelism)
      .tag_len(TagLen::bytes(hash_length.into()))
      .build()
      // The limits left: memory beyond what this platform can address.
      .map_err(|_| Invalid::MemoryCost)?;
    let context = Argon2::new(params.variant.algorithm(), version, crate_params);
    Ok(Job {
      params,
      context,
      hash_length: hash_length as usize,
      password,
      salt,
      secret,
    })
  }

  pub fn params(&self) -> &Params {
    &self.params
  }

  pub fn salt(&self) -> &[u8] {
    &self.salt
  }

  /// Bytes it holds while it runs: its blocks (`m` rounded down to a multiple of 4p, 1 KiB each).
  pub fn memory(&self) -> usize {
    let lanes = 4 * self.params.parallelism as usize;
    self.params.memory_cost as usize / lanes * lanes * 1024
  }

  /// The raw hash. A failure here is a bug, or the OS refusing the memory: it panics, and the pool
  /// reports it as the job's failure.
  pub fn compute(&self) -> Vec<u8> {
    let mut out = vec![0; self.hash_length];
    self
      .context
      .hash_into_with_ad(
        &self.password,
        &self.salt,
        &self.secret,
        &self.params.associated_data,
        &mut out,
      )
      .expect("checked in Job::new");
    out
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::kdf::tests::hex;

  /// RFC 9106, section 5: password 32 bytes of 0x01, salt 16 of 0x02, secret 8 of 0x03, associated
  /// data 12 of 0x04; m=32, t=3, p=4, version 0x13, 32-byte tags.
  fn rfc_9106(variant: Variant) -> Vec<u8> {
    let params = Params {
      variant,
      version: 0x13,
      memory_cost: 32,
      time_cost: 3,
      parallelism: 4,
      associated_data: vec![4; 12],
    };
    Job::new(
      params,
      32,
      Zeroizing::new(vec![1; 32]),
      vec![2; 16],
      Zeroizing::new(vec![3; 8]),
    )
    .unwrap()
    .compute()
  }

  #[test]
  fn rfc_9106_test_vectors() {
    assert_eq!(
      rfc_9106(Variant::D),
      hex("512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb")
    );
    assert_eq!(
      rfc_9106(Variant::I),
      hex("c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8")
    );
    assert_eq!(
      rfc_9106(Variant::Id),
      hex("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
    );
  }

  #[test]
  fn every_limit_is_refused_by_name() {
    let params = || Params {
      variant: Variant::Id,
      version: 0x13,
      memory_cost: 64,
      time_cost: 1,
      parallelism: 1,
      associated_data: Vec::new(),
    };
    let job = |p: Params, len: u32, salt: usize| {
      Job::new(
        p,
        len,
        Zeroizing::new(b"pw".to_vec()),
        vec![0; salt],
        Zeroizing::new(Vec::new()),
      )
      .map(|_| ())
    };
    assert_eq!(job(params(), 32, 16), Ok(()));
    assert_eq!(
      job(
        Params {
          version: 0x12,
          ..params()
        },
        32,
        16
      ),
      Err(Invalid::Version)
    );
    assert_eq!(
      job(
        Params {
          memory_cost: 7,
          ..params()
        },
        32,
        16
      ),
      Err(Invalid::MemoryCost)
    );
    assert_eq!(
      job(
        Params {
          memory_cost: 15,
          parallelism: 2,
          ..params()
        },
        32,
        16
      ),
      Err(Invalid::MemoryCost)
    );
    assert_eq!(
      job(
        Params {
          time_cost: 0,
          ..params()
        },
        32,
        16
      ),
      Err(Invalid::TimeCost)
    );
    assert_eq!(
      job(
        Params {
          parallelism: 0,
          ..params()
        },
        32,
        16
      ),
      Err(Invalid::Parallelism)
    );
    assert_eq!(job(params(), 3, 16), Err(Invalid::HashLength));
    assert_eq!(job(params(), 32, 7), Err(Invalid::SaltLength));
  }

  #[test]
  fn a_job_holds_its_blocks() {
    let params = Params {
      variant: Variant::Id,
      version: 0x13,
      memory_cost: DEFAULT_MEMORY_COST,
      time_cost: 1,
      parallelism: 3,
      associated_data: Vec::new(),
    };
    let job = Job::new(
      params,
      32,
      Zeroizing::default(),
      vec![0; 16],
      Zeroizing::default(),
    )
    .unwrap();
    // 19456 rounded down to a multiple of 4·3.
    assert_eq!(job.memory(), 19452 * 1024);
  }
}
