//! Argon2's PHC strings, as the `argon2` npm package (through `@phc/format`) and `@node-rs/argon2`
//! (through the `password-hash` crate) write them:
//! `$argon2id$v=19$m=19456,t=2,p=1[,data=<b64>]$<salt b64>$<hash b64>`, base64 without padding.
//!
//! Read strictly: the fields in that order, decimal numbers without leading zeros that fit u32,
//! canonical base64, parameters the hash could have been made with. Anything else is not an argon2
//! hash and verifies as `false`. A missing `v=` means 0x10, as the `argon2` package reads it.

use base64ct::{Base64Unpadded, Encoding};

use super::argon2::{Job, Params, Variant, MIN_HASH_LENGTH};
use zeroize::Zeroizing;

/// A well-formed hash: its parameters, salt and raw hash.
#[derive(Debug, PartialEq, Eq)]
pub struct Phc {
  pub params: Params,
  pub salt: Vec<u8>,
  pub hash: Vec<u8>,
}

/// The PHC string of `hash`, computed by `job`.
pub fn encode(job: &Job, hash: &[u8]) -> String {
  let p = job.params();
  let mut s = format!(
    "${}$v={}$m={},t={},p={}",
    p.variant.name(),
    p.version,
    p.memory_cost,
    p.time_cost,
    p.parallelism
  );
  if !p.associated_data.is_empty() {
    s.push_str(",data=");
    s.push_str(&Base64Unpadded::encode_string(&p.associated_data));
  }
  s.push('$');
  s.push_str(&Base64Unpadded::encode_string(job.salt()));
  s.push('$');
  s.push_str(&Base64Unpadded::encode_string(hash));
  s
}

/// A decimal number as PHC writes one: digits, no leading zero, within u32.
fn number(s: &str) -> Option<u32> {
  let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
  ok.then(|| s.parse().ok()).flatten()
}

fn field<'a>(s: &'a str, name: &str) -> Option<&'a str> {
  s.strip_prefix(name)?.strip_prefix('=')
}

fn base64(s: &str) -> Option<Vec<u8>> {
  Base64Unpadded::decode_vec(s).ok()
}

/// `s` as a PHC string, if it is a well-formed argon2 hash that a job could check.
pub fn decode(s: &str) -> Option<Phc> {
  let mut parts = s.split('$');
  if !parts.next()?.is_empty() {
    return None;
  }
  let variant = Variant::from_name(parts.next()?)?;
  let mut next = parts.next()?;
  let version = match field(next, "v") {
    Some(v) => {
      next = parts.next()?;
      number(v)?
    }
    None => 0x10,
  };
  let mut params = next.split(',');
  let memory_cost = number(field(params.next()?, "m")?)?;
  let time_cost = number(field(params.next()?, "t")?)?;
  let parallelism = number(field(params.next()?, "p")?)?;
  let associated_data = match params.next() {
    Some(data) => base64(field(data, "data")?)?,
    None => Vec::new(),
  };
  let (salt, hash) = (base64(parts.next()?)?, base64(parts.next()?)?);
  if params.next().is_some() || parts.next().is_some() {
    return None;
  }
  let phc = Phc {
    params: Params {
      variant,
      version,
      memory_cost,
      time_cost,
      parallelism,
      associated_data,
    },
    salt,
    hash,
  };
  phc.job(Zeroizing::default(), Zeroizing::default()).map(|_| phc)
}

impl Phc {
  /// The job that checks `password` against it; `None` if no job could (a salt or hash too short,
  /// parameters out of range).
  pub fn job(&self, password: Zeroizing<Vec<u8>>, secret: Zeroizing<Vec<u8>>) -> Option<Job> {
    let length = u32::try_from(self.hash.len())
      .ok()
      .filter(|&n| n >= MIN_HASH_LENGTH)?;
    Job::new(self.params.clone(), length, password, self.salt.clone(), secret).ok()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  /// Written by the `argon2` npm package 0.44.0: `hash("password", { salt: Buffer.alloc(16, 1),
  /// memoryCost: 64, timeCost: 1, parallelism: 1, associatedData: Buffer.from("ad") })`.
  const NODE_ARGON2_WITH_DATA: &str =
    "$argon2id$v=19$m=64,t=1,p=1,data=YWQ$AQEBAQEBAQEBAQEBAQEBAQ$HbTsyVbd4UpQnEACHItlh0CwmrHb6+WoelAI+L/nCgI";
  const SALT_ONES: &str = "AQEBAQEBAQEBAQEBAQEBAQ";

  fn job(data: &[u8]) -> Job {
    let params = Params {
      variant: Variant::Id,
      version: 0x13,
      memory_cost: 64,
      time_cost: 1,
      parallelism: 1,
      associated_data: data.to_vec(),
    };
    Job::new(
      params,
      32,
      Zeroizing::new(b"password".to_vec()),
      vec![1; 16],
      Zeroizing::default(),
    )
    .unwrap()
  }

  #[test]
  fn encodes_and_decodes_both_ways() {
    for data in [&b""[..], b"ad"] {
      let job = job(data);
      let hash = job.compute();
      let s = encode(&job, &hash);
      assert!(s.contains(SALT_ONES));
      if !data.is_empty() {
        assert_eq!(s, NODE_ARGON2_WITH_DATA);
      }
      let phc = decode(&s).unwrap();
      assert_eq!(
        (&phc.params, &phc.salt, &phc.hash),
        (job.params(), &vec![1; 16], &hash)
      );
    }
  }

  #[test]
  fn malformed_strings_are_not_hashes() {
    let good = encode(&job(b""), &[7; 32]);
    assert!(decode(&good).is_some());
    let bad = [
      String::new(),
      "$argon2id".into(),
      good.replacen("argon2id", "argon2x", 1),
      good.replacen("m=64", "m=064", 1),
      good.replacen("m=64", "m=4294967296", 1),
      good.replacen("m=64", "m=7", 1),
      good.replacen("p=1", "p=0", 1),
      good.replacen("t=1", "t=0", 1),
      good.replacen("v=19", "v=18", 1),
      good.replacen("m=64,t=1", "t=1,m=64", 1),
      good.replacen("p=1", "p=1,keyid=AA", 1),
      good.replacen(SALT_ONES, "AQEBAQEBAQ", 1),
      format!("{good}="),
      format!("{good}$"),
      format!("{good}!"),
      format!("x{good}"),
      good[..good.len() - 40].to_string(),
    ];
    for s in bad {
      assert_eq!(decode(&s), None, "{s}");
    }
    // No version: 0x10, as the `argon2` package reads it.
    let old = decode(&good.replacen("v=19$", "", 1)).unwrap();
    assert_eq!(old.params.version, 0x10);
  }
}
