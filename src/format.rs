//! bcrypt's strings: `$2b$10$` + 22 characters of salt + 31 of hash, in bcrypt's own base64 alphabet,
//! and how a password becomes the key words the kernel reads.
//!
//! Compatibility target: the `bcrypt` npm package (OpenBSD's bcrypt.c). Where it accepts garbage and
//! hashes uninitialised memory (characters outside the alphabet, a cost like `+5`) we refuse instead.

use zeroize::Zeroize;

use crate::kernel::{Ciphertext, Input};

/// bcrypt's base64 alphabet (not RFC 4648's: `./` first, then letters and digits).
pub const ALPHABET: &[u8; 64] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const MIN_COST: u32 = 4;
pub const MAX_COST: u32 = 31;
/// Bytes of password that bcrypt reads; the rest is ignored (with the `$2a$` exception below).
pub const MAX_PASSWORD_BYTES: usize = 72;
const SALT_CHARS: usize = 22;
/// Characters of the encoded ciphertext after the salt.
pub const HASH_CHARS: usize = 31;

/// Why a string is not what a function here reads, one name per failure. `Display` words it for
/// Rust callers; the bindings report their own kinds (`InvalidSalt`, `InvalidHash`) and never show
/// the string, and neither does this: its facts are positions, lengths and costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
  /// It does not start with `$2$` or `$2` + one character + `$`.
  NotBcrypt,
  /// The character after `$2` is not `a`, `b` or `y`.
  UnknownMinor,
  /// The cost is not two digits followed by `$`.
  CostNotTwoDigits,
  /// The cost is outside `MIN_COST..=MAX_COST`.
  CostOutOfRange(u32),
  /// Fewer than 22 characters of salt.
  SaltTooShort,
  /// The salt's character at this index is not in bcrypt's base64 alphabet.
  SaltCharacter(usize),
  /// A stored hash longer or shorter than a hash with its prefix.
  HashLength { expected: usize, found: usize },
  /// No `$`, a version of one or two bytes and `$` before any NUL, where `getRounds` reads.
  NoRounds,
  /// The rounds read as 0 (`atoi`'s answer for no number), which `getRounds` reports as invalid.
  ZeroRounds,
}

impl std::fmt::Display for FormatError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    match self {
      FormatError::NotBcrypt => write!(f, "not a bcrypt string: no $2$ or $2x$ prefix"),
      FormatError::UnknownMinor => write!(f, "the version after $2 is not a, b or y"),
      FormatError::CostNotTwoDigits => write!(f, "the cost is not two digits and $"),
      FormatError::CostOutOfRange(cost) => {
        write!(f, "cost {cost} is outside {MIN_COST}..={MAX_COST}")
      }
      FormatError::SaltTooShort => write!(f, "fewer than {SALT_CHARS} characters of salt"),
      FormatError::SaltCharacter(at) => {
        write!(f, "salt character {at} is not in bcrypt's base64 alphabet")
      }
      FormatError::HashLength { expected, found } => {
        write!(
          f,
          "a hash with this prefix has {expected} characters, not {found}"
        )
      }
      FormatError::NoRounds => write!(f, "no rounds field ($, version, $)"),
      FormatError::ZeroRounds => write!(f, "the rounds read as 0"),
    }
  }
}

impl std::error::Error for FormatError {}

/// The letter after `$2`. They differ only in how a password becomes key bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Minor {
  /// `$2$`, the original, with no letter: no NUL terminator, length taken modulo 256.
  Bare,
  /// `$2a$`: NUL-terminated, length + 1 taken modulo 256 — OpenBSD's pre-2014 wraparound, which the
  /// `bcrypt` npm package keeps (and tests) so old hashes of ≥255-byte passwords still verify.
  A,
  /// `$2b$`: NUL-terminated, capped at 72 bytes.
  B,
  /// `$2y$` (crypt_blowfish, PHP): computes exactly as `$2b$`.
  Y,
}

impl Minor {
  pub fn from_letter(letter: &str) -> Result<Minor, FormatError> {
    match letter {
      "a" => Ok(Minor::A),
      "b" => Ok(Minor::B),
      "y" => Ok(Minor::Y),
      _ => Err(FormatError::UnknownMinor),
    }
  }

  /// The letter after `$2` (`""` for `$2$`).
  pub fn letter(self) -> &'static str {
    match self {
      Minor::Bare => "",
      Minor::A => "a",
      Minor::B => "b",
      Minor::Y => "y",
    }
  }

  fn prefix(self) -> &'static str {
    match self {
      Minor::Bare => "$2$",
      Minor::A => "$2a$",
      Minor::B => "$2b$",
      Minor::Y => "$2y$",
    }
  }
}

/// The parameters a salt string (or the front of a hash) carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
  pub minor: Minor,
  pub cost: u32,
  pub salt: [u8; 16],
}

impl Setting {
  /// Parses what `bcrypt` accepts as a salt: `$2[a|b|y]$NN$` then at least 22 salt characters; any
  /// further characters (the hash part, when a whole hash is passed as the salt) are ignored.
  /// Also returns the length of the canonical `$2x$NN$` + 22-character prefix in `s`.
  pub fn parse(s: &str) -> Result<(Setting, usize), FormatError> {
    let b = s.as_bytes();
    let (minor, rest) = match b {
      [b'$', b'2', b'$', rest @ ..] => (Minor::Bare, rest),
      [b'$', b'2', m, b'$', rest @ ..] => {
        let letter = std::str::from_utf8(std::slice::from_ref(m)).map_err(|_| FormatError::UnknownMinor)?;
        (Minor::from_letter(letter)?, rest)
      }
      _ => return Err(FormatError::NotBcrypt),
    };
    let [d1 @ b'0'..=b'9', d2 @ b'0'..=b'9', b'$', rest @ ..] = rest else {
      return Err(FormatError::CostNotTwoDigits);
    };
    let cost = u32::from(d1 - b'0') * 10 + u32::from(d2 - b'0');
    if !(MIN_COST..=MAX_COST).contains(&cost) {
      return Err(FormatError::CostOutOfRange(cost));
    }
    if rest.len() < SALT_CHARS {
      return Err(FormatError::SaltTooShort);
    }
    let salt = decode_salt(&rest[..SALT_CHARS])?;
    let prefix_len = b.len() - rest.len() + SALT_CHARS;
    Ok((Setting { minor, cost, salt }, prefix_len))
  }

  /// `$2b$10$` + the salt re-encoded. Re-encoding canonicalises the 22nd character, whose low four
  /// bits carry nothing: `bcrypt` does the same.
  pub fn encode(&self) -> String {
    let mut out = format!("{}{:02}$", self.minor.prefix(), self.cost);
    encode_base64(&self.salt, &mut out);
    out
  }

  /// The kernel's input for `password` under this setting.
  pub fn input(&self, password: &[u8]) -> Input {
    let mut salt = [0u32; 4];
    for (w, chunk) in salt.iter_mut().zip(self.salt.chunks_exact(4)) {
      *w = u32::from_be_bytes(chunk.try_into().unwrap());
    }
    Input {
      key: key_words(self.minor, password),
      salt,
      cost: self.cost,
    }
  }

  /// The full hash string for a finished computation.
  pub fn hash_string(&self, ctext: &Ciphertext) -> String {
    let mut out = self.encode();
    encode_base64(ctext, &mut out);
    out
  }

  /// The length of a complete hash with this setting's prefix.
  pub fn hash_len(&self) -> usize {
    self.minor.prefix().len() + 3 + SALT_CHARS + HASH_CHARS
  }
}

/// The 18 words Blowfish's key schedule cycles through, exactly as OpenBSD's `Blowfish_stream2word`
/// reads them from the key bytes bcrypt.c hands it.
pub fn key_words(minor: Minor, password: &[u8]) -> [u32; 18] {
  // bcrypt.c passes the C string (password + NUL) and a key length; the stream cycles through
  // `key_len` bytes, and a key length of 0 makes it read byte 0 forever.
  let len = password.len();
  let key_len = match minor {
    Minor::B | Minor::Y => len.min(MAX_PASSWORD_BYTES) + 1,
    Minor::A => (len + 1) % 256,
    Minor::Bare => len % 256,
  };
  let byte_at = |i: usize| password.get(i).copied().unwrap_or(0);
  let mut words = [0u32; 18];
  let mut j = 0usize;
  for w in words.iter_mut() {
    for _ in 0..4 {
      if j >= key_len {
        j = 0;
      }
      *w = (*w << 8) | u32::from(byte_at(j));
      j += 1;
    }
  }
  words
}

/// Whether `candidate` equals `stored`, in time independent of where they differ.
fn constant_time_eq(candidate: &[u8], stored: &[u8]) -> bool {
  if candidate.len() != stored.len() {
    return false;
  }
  let diff = candidate
    .iter()
    .zip(stored)
    .fold(0u8, |acc, (a, b)| acc | (a ^ b));
  std::hint::black_box(diff) == 0
}

/// The setting of a stored hash, if `stored` is one whole well-formed hash. An error otherwise:
/// `bcrypt` answers `false` for those, and so do we, without computing anything.
pub fn verify_setting(stored: &str) -> Result<Setting, FormatError> {
  let (setting, _) = Setting::parse(stored)?;
  match stored.len() == setting.hash_len() {
    true => Ok(setting),
    false => Err(FormatError::HashLength {
      expected: setting.hash_len(),
      found: stored.len(),
    }),
  }
}

/// Whether a finished computation reproduces `stored`. The whole string must match — `bcrypt`'s
/// `strcmp` stops at a NUL and so accepts `hash\0junk` — and the comparison takes the same time
/// wherever the strings differ.
pub fn verify_result(setting: &Setting, stored: &str, ctext: &Ciphertext) -> bool {
  constant_time_eq(setting.hash_string(ctext).as_bytes(), stored.as_bytes())
}

/// `bcrypt`'s `getRounds`, result for result: its C reads the string up to any NUL, skips `$`, a
/// version of one or two bytes and `$`, and hands the rest to `atoi`, whose `int` it returns as a
/// `u32`; 0 is "invalid hash provided" (`ZeroRounds`). So `" 10"` and `"+10"` read 10, `"-5"` reads
/// 4294967291, and a number past the range of C's `long` saturates before the cast (glibc's `atoi` is
/// `(int) strtol(s, NULL, 10)`).
pub fn get_rounds(hash: &str) -> Result<u32, FormatError> {
  let b = hash.as_bytes();
  let c_string = &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())];
  let rest = match c_string {
    [b'$', _, b'$', rest @ ..] => rest,
    [b'$', _, _, b'$', rest @ ..] => rest,
    _ => return Err(FormatError::NoRounds),
  };
  match atoi(rest) as u32 {
    0 => Err(FormatError::ZeroRounds),
    n => Ok(n),
  }
}

/// C's `atoi` as glibc computes it: leading white space, a sign, digits, saturated to a 64-bit
/// `long`, then cut to a 32-bit `int`.
fn atoi(s: &[u8]) -> i32 {
  let start = s
    .iter()
    .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
    .unwrap_or(s.len());
  let (negative, digits) = match &s[start..] {
    [b'-', rest @ ..] => (true, rest),
    [b'+', rest @ ..] => (false, rest),
    rest => (false, rest),
  };
  let magnitude = digits
    .iter()
    .take_while(|c| c.is_ascii_digit())
    .fold(0i128, |n, d| (n * 10 + i128::from(d - b'0')).min(1 << 64));
  let long = if negative { -magnitude } else { magnitude }.clamp(i64::MIN.into(), i64::MAX.into());
  long as i32
}

/// The salt for `genSalt`: 16 random bytes under the given minor and cost.
pub fn encode_salt(minor: Minor, cost: u32, seed: &[u8; 16]) -> String {
  Setting {
    minor,
    cost,
    salt: *seed,
  }
  .encode()
}

fn encode_base64(data: &[u8], out: &mut String) {
  let mut bits = 0u32;
  let mut nbits = 0;
  for &byte in data {
    bits = (bits << 8) | u32::from(byte);
    nbits += 8;
    while nbits >= 6 {
      nbits -= 6;
      out.push(ALPHABET[((bits >> nbits) & 0x3f) as usize] as char);
    }
  }
  if nbits > 0 {
    out.push(ALPHABET[((bits << (6 - nbits)) & 0x3f) as usize] as char);
  }
}

fn decode_char(c: u8) -> Option<u32> {
  ALPHABET.iter().position(|&a| a == c).map(|i| i as u32)
}

fn decode_salt(chars: &[u8]) -> Result<[u8; 16], FormatError> {
  let mut out = [0u8; 16];
  let mut bits = 0u32;
  let mut nbits = 0;
  let mut n = 0;
  for (at, &c) in chars.iter().enumerate() {
    bits = (bits << 6) | decode_char(c).ok_or(FormatError::SaltCharacter(at))?;
    nbits += 6;
    if nbits >= 8 {
      nbits -= 8;
      if n < out.len() {
        out[n] = (bits >> nbits) as u8;
        n += 1;
      }
    }
  }
  bits.zeroize();
  Ok(out)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn salt_roundtrips_and_canonicalises() {
    let (s, len) = Setting::parse("$2a$05$CCCCCCCCCCCCCCCCCCCCCh").unwrap();
    assert_eq!(len, 29);
    assert_eq!(s.encode(), "$2a$05$CCCCCCCCCCCCCCCCCCCCCe");
    let (s, _) = Setting::parse("$2b$31$......................junk").unwrap();
    assert_eq!((s.minor, s.cost, s.salt), (Minor::B, 31, [0; 16]));
    assert_eq!(
      Setting::parse("$2$04$......................").unwrap().0.minor,
      Minor::Bare
    );
  }

  #[test]
  fn rejects_what_bcrypt_would_hash_garbage_for() {
    use FormatError::*;
    for (bad, why) in [
      ("", NotBcrypt),
      ("$3b$10$CCCCCCCCCCCCCCCCCCCCC.", NotBcrypt),
      ("$2bb$10$CCCCCCCCCCCCCCCCCCCCC.", NotBcrypt),
      ("$2x$10$CCCCCCCCCCCCCCCCCCCCC.", UnknownMinor),
      ("$2é$10$CCCCCCCCCCCCCCCCCCCCC.", NotBcrypt),
      ("$2b$+5$CCCCCCCCCCCCCCCCCCCCC.", CostNotTwoDigits),
      ("$2b$10CCCCCCCCCCCCCCCCCCCCCC.", CostNotTwoDigits),
      ("$2b$03$CCCCCCCCCCCCCCCCCCCCC.", CostOutOfRange(3)),
      ("$2b$32$CCCCCCCCCCCCCCCCCCCCC.", CostOutOfRange(32)),
      ("$2b$10$short", SaltTooShort),
      ("$2b$10$CCCCCCCCCCCCCCCCCCCC!.", SaltCharacter(20)),
    ] {
      assert_eq!(Setting::parse(bad), Err(why), "{bad:?}");
    }
  }

  #[test]
  fn verify_needs_the_whole_hash() {
    let h = "$2b$05$CCCCCCCCCCCCCCCCCCCCC.4vJLJQ6nZ/70INTjjSZWQ0iyUek92tu";
    assert!(verify_setting(h).is_ok());
    let length = |found| Err(FormatError::HashLength { expected: 60, found });
    assert_eq!(verify_setting(&h[..59]), length(59));
    assert_eq!(verify_setting(&format!("{h}\0junk")), length(65));
    assert_eq!(verify_setting(&h[..20]), Err(FormatError::SaltTooShort));
  }

  #[test]
  fn key_words_follow_bcrypt_c() {
    // $2b$: "ab" + NUL, cycled.
    let w = key_words(Minor::B, b"ab");
    assert_eq!(w[0], u32::from_be_bytes([b'a', b'b', 0, b'a']));
    // $2a$ with 255 bytes: key length wraps to 0 and the stream reads byte 0 forever.
    let long: Vec<u8> = (0..255u32).map(|i| b'0' + (i % 10) as u8).collect();
    assert_eq!(key_words(Minor::A, &long), [u32::from_be_bytes([b'0'; 4]); 18]);
    // $2b$ caps at 72 bytes: everything after is ignored.
    let mut p = vec![b'x'; 100];
    let capped = key_words(Minor::B, &p);
    p[80] = b'y';
    assert_eq!(key_words(Minor::B, &p), capped);
  }

  #[test]
  fn get_rounds_reads_like_atoi() {
    use FormatError::{NoRounds, ZeroRounds};
    assert_eq!(get_rounds("$2b$10$whatever"), Ok(10));
    assert_eq!(get_rounds("$2$07$x"), Ok(7));
    assert_eq!(get_rounds(""), Err(NoRounds));
    assert_eq!(get_rounds("$2b$xx$"), Err(ZeroRounds));
    // What node bcrypt 6 answers for each (found by fuzz/fuzz_targets/parse.rs).
    assert_eq!(get_rounds("$2b$0000000010$x"), Ok(10));
    assert_eq!(get_rounds("$2b$ \t10$"), Ok(10));
    assert_eq!(get_rounds("$2b$+10$"), Ok(10));
    assert_eq!(get_rounds("$2b$+-7"), Err(ZeroRounds));
    assert_eq!(get_rounds("$2b$-5$"), Ok(4294967291));
    assert_eq!(get_rounds("$2b$4294967296$"), Err(ZeroRounds));
    assert_eq!(get_rounds("$2b$4294967297$"), Ok(1));
    assert_eq!(get_rounds("$2b$2147483648$"), Ok(2147483648));
    assert_eq!(get_rounds("$2b$99999999999999999999$"), Ok(u32::MAX));
    assert_eq!(get_rounds("$2b$-99999999999999999999$"), Err(ZeroRounds));
    assert_eq!(get_rounds("$\0$11111"), Err(NoRounds));
    assert_eq!(get_rounds("$$$10"), Ok(10));
  }

  #[test]
  fn constant_time_eq_is_equality() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
  }
}
