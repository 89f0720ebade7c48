//! The password KDFs that run as whole-thread pool tasks (`pool::Task`), each a pure-Rust crate:
//! argon2 (`argon2`, over `argon2-rust`; its PHC strings in `phc`, over RustCrypto's `base64ct`), and
//! PBKDF2-HMAC-SHA256 and scrypt (`derive`, RustCrypto's `pbkdf2` and `scrypt`), which
//! the package computes only to read hashes other systems stored. Here are their parameters, the
//! memory each job holds (what the pool's budget counts), and their formats; no Node.

pub mod argon2;
pub mod derive;
pub mod phc;

/// Whether `a` and `b` are equal, in a time that depends on their lengths only: a verify must not
/// tell how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
  a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
pub(crate) mod tests {
  /// Bytes from hex, for the published vectors the KDFs' tests check.
  pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
      .step_by(2)
      .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
      .collect()
  }
}
