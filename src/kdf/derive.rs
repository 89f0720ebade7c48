//! PBKDF2-HMAC-SHA256 and scrypt (RustCrypto's `pbkdf2` and `scrypt`): the KDFs other systems store
//! passwords with (Django's `pbkdf2_sha256`, Better Auth's scrypt), computed here only to verify
//! those hashes, as pool tasks.

use zeroize::Zeroizing;

/// The longest key either derives here: far beyond any stored hash's, and a bound on what a caller
/// can make a pool thread write.
pub const MAX_KEY_LENGTH: u32 = 1024;

/// Why a derivation's parameters were refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Invalid {
  Iterations,
  KeyLength,
  /// N is not a power of two above 1, or N, r and p break scrypt's own bounds.
  Cost,
}

fn key_length(n: u32) -> Result<usize, Invalid> {
  match n {
    1..=MAX_KEY_LENGTH => Ok(n as usize),
    _ => Err(Invalid::KeyLength),
  }
}

/// A checked derivation: its memory, for the pool's budget, and its computation.
pub struct Derivation {
  kind: Kind,
  password: Zeroizing<Vec<u8>>,
  salt: Vec<u8>,
  key_length: usize,
}

enum Kind {
  Pbkdf2Sha256 { iterations: u32 },
  Scrypt(scrypt::Params),
}

impl Derivation {
  pub fn pbkdf2_sha256(
    password: Zeroizing<Vec<u8>>,
    salt: Vec<u8>,
    iterations: u32,
    key_length: u32,
  ) -> Result<Derivation, Invalid> {
    if iterations == 0 {
      return Err(Invalid::Iterations);
    }
    Ok(Derivation {
      kind: Kind::Pbkdf2Sha256 { iterations },
      password,
      salt,
      key_length: self::key_length(key_length)?,
    })
  }

  /// scrypt with cost `n` (a power of two), block size `r` and parallelism `p`.
  pub fn scrypt(
    password: Zeroizing<Vec<u8>>,
    salt: Vec<u8>,
    n: u64,
    r: u32,
    p: u32,
    key_length: u32,
  ) -> Result<Derivation, Invalid> {
    if n < 2 || !n.is_power_of_two() {
      return Err(Invalid::Cost);
    }
    // The crate's `len` is for its PHC strings only; `scrypt::scrypt` writes what it is given.
    let params = scrypt::Params::new(n.trailing_zeros() as u8, r, p, scrypt::Params::RECOMMENDED_LEN)
      .map_err(|_| Invalid::Cost)?;
    let key_length = self::key_length(key_length)?;
    let derivation = Derivation {
      kind: Kind::Scrypt(params),
      password,
      salt,
      key_length,
    };
    // So that `memory` cannot overflow.
    u64::try_from(derivation.memory()).map_err(|_| Invalid::Cost)?;
    Ok(derivation)
  }

  /// Bytes it holds while it runs: scrypt's V (128·r·N), B (128·r·p) and a block of scratch.
  pub fn memory(&self) -> usize {
    match &self.kind {
      Kind::Pbkdf2Sha256 { .. } => 0,
      Kind::Scrypt(p) => {
        let r = 128 * p.r() as usize;
        r.saturating_mul(
          (1usize << p.log_n())
            .saturating_add(p.p() as usize)
            .saturating_add(1),
        )
      }
    }
  }

  pub fn compute(&self) -> Vec<u8> {
    let mut out = vec![0; self.key_length];
    match &self.kind {
      Kind::Pbkdf2Sha256 { iterations } => {
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&self.password, &self.salt, *iterations, &mut out)
      }
      Kind::Scrypt(params) => {
        scrypt::scrypt(&self.password, &self.salt, params, &mut out).expect("a key length within bounds")
      }
    }
    out
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::kdf::tests::hex;

  fn pw(s: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(s.to_vec())
  }

  #[test]
  fn pbkdf2_sha256_matches_rfc_7914() {
    // RFC 7914, section 11: PBKDF2-HMAC-SHA256 ("passwd", "salt", c=1, 64 bytes).
    let d = Derivation::pbkdf2_sha256(pw(b"passwd"), b"salt".to_vec(), 1, 64).unwrap();
    assert_eq!(
      d.compute(),
      hex(concat!(
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc",
        "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
      ))
    );
    assert_eq!(d.memory(), 0);
  }

  #[test]
  fn scrypt_matches_rfc_7914() {
    // RFC 7914, section 12: ("password", "NaCl", N=1024, r=8, p=16, 64 bytes).
    let d = Derivation::scrypt(pw(b"password"), b"NaCl".to_vec(), 1024, 8, 16, 64).unwrap();
    assert_eq!(
      d.compute(),
      hex(concat!(
        "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162",
        "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
      ))
    );
    assert_eq!(d.memory(), 128 * 8 * (1024 + 16 + 1));
  }

  #[test]
  fn bad_parameters_are_refused_by_name() {
    let p = || pw(b"p");
    assert_eq!(
      Derivation::pbkdf2_sha256(p(), vec![], 0, 32).err(),
      Some(Invalid::Iterations)
    );
    assert_eq!(
      Derivation::pbkdf2_sha256(p(), vec![], 1, 0).err(),
      Some(Invalid::KeyLength)
    );
    assert_eq!(
      Derivation::pbkdf2_sha256(p(), vec![], 1, 1025).err(),
      Some(Invalid::KeyLength)
    );
    assert_eq!(
      Derivation::scrypt(p(), vec![], 1000, 8, 1, 32).err(),
      Some(Invalid::Cost)
    );
    assert_eq!(
      Derivation::scrypt(p(), vec![], 1, 8, 1, 32).err(),
      Some(Invalid::Cost)
    );
    assert_eq!(
      Derivation::scrypt(p(), vec![], 16, 0, 1, 32).err(),
      Some(Invalid::Cost)
    );
    assert_eq!(
      Derivation::scrypt(p(), vec![], 16, 8, 0, 32).err(),
      Some(Invalid::Cost)
    );
    assert_eq!(
      Derivation::scrypt(p(), vec![], 16, 8, 1, 0).err(),
      Some(Invalid::KeyLength)
    );
  }
}
