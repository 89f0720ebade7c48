//! Arbitrary strings through everything that reads a salt or a stored hash: nothing may panic, what
//! parses must round-trip, what does not must fail for the same reason everywhere, and `get_rounds`
//! must agree with node bcrypt's C.
#![no_main]

use bcrypt_offload::format::{
  get_rounds, verify_result, verify_setting, FormatError, Setting, ALPHABET, HASH_CHARS, MAX_COST, MIN_COST,
};
use bcrypt_offload::kernel::Ciphertext;
use libfuzzer_sys::fuzz_target;
use std::num::IntErrorKind;

fuzz_target!(|data: &[u8]| {
  // The input's last 23 bytes double as a ciphertext, so verify_result sees arbitrary ones.
  let mut ctext = Ciphertext::default();
  let tail = &data[data.len().saturating_sub(ctext.len())..];
  ctext[..tail.len()].copy_from_slice(tail);
  match std::str::from_utf8(data) {
    Ok(s) => check(s, &ctext),
    Err(_) => check(&String::from_utf8_lossy(data), &ctext),
  }
});

fn check(s: &str, ctext: &Ciphertext) {
  let rounds = match rounds_field(s.as_bytes()).map(c_atoi) {
    None => Err(FormatError::NoRounds),
    Some(0) => Err(FormatError::ZeroRounds),
    Some(n) => Ok(n),
  };
  assert_eq!(get_rounds(s), rounds, "get_rounds({s:?})");

  let parsed = Setting::parse(s);
  let verified = verify_setting(s);
  let Ok((setting, used)) = parsed else {
    assert_eq!(verified, parsed.map(|(setting, _)| setting), "the same reason");
    return;
  };
  assert!((MIN_COST..=MAX_COST).contains(&setting.cost));
  assert!(used <= s.len() && s.is_char_boundary(used) && s[..used].is_ascii());
  assert_eq!(
    Setting::parse(&s[..used]),
    parsed,
    "what follows the prefix must not matter"
  );
  assert_eq!(get_rounds(s), Ok(setting.cost));

  let encoded = setting.encode();
  assert_eq!(Setting::parse(&encoded), parsed);
  // encode() is the prefix itself, except that the 22nd salt character keeps only its top two bits:
  // the other four lie beyond the salt's 128.
  let last = used - 1;
  assert_eq!(encoded[..last], s[..last]);
  assert_eq!(
    sextet(encoded.as_bytes()[last]),
    sextet(s.as_bytes()[last]) & 0x30
  );

  assert_eq!(setting.hash_len(), used + HASH_CHARS);
  let length = FormatError::HashLength {
    expected: setting.hash_len(),
    found: s.len(),
  };
  assert_eq!(
    verified,
    (s.len() == setting.hash_len()).then_some(setting).ok_or(length)
  );

  let hash = setting.hash_string(ctext);
  assert_eq!(hash.len(), setting.hash_len());
  assert!(hash.starts_with(&encoded));
  assert!(hash[used..].bytes().all(|c| ALPHABET.contains(&c)));
  assert_eq!(verify_setting(&hash), Ok(setting));
  assert!(verify_result(&setting, &hash, ctext));
  assert_eq!(verify_result(&setting, s, ctext), hash == s);
}

/// What node bcrypt's `bcrypt_get_rounds` hands to `atoi`: in the C string (up to the first NUL),
/// the rest after `$`, a version of one or two bytes, and `$`. `None` without that.
fn rounds_field(s: &[u8]) -> Option<&[u8]> {
  let c = s.split(|&b| b == 0).next().unwrap_or_default();
  let [b'$', _, rest @ ..] = c else { return None };
  match rest {
    [b'$', after @ ..] | [_, b'$', after @ ..] => Some(after),
    _ => None,
  }
}

/// glibc's `atoi` returned through a `u32`, as node bcrypt does: `(int) strtol(s, NULL, 10)`, here by
/// way of Rust's own integer parser and its overflow kinds.
fn c_atoi(s: &[u8]) -> u32 {
  let t = &s[s.iter().take_while(|c| b" \t\n\x0b\x0c\r".contains(c)).count()..];
  let sign = usize::from(matches!(t.first(), Some(b'+' | b'-')));
  let digits = t[sign..].iter().take_while(|c| c.is_ascii_digit()).count();
  let text = std::str::from_utf8(&t[..sign + digits]).unwrap();
  let long = match text.parse::<i64>() {
    Ok(n) => n,
    Err(e) => match e.kind() {
      IntErrorKind::PosOverflow => i64::MAX,
      IntErrorKind::NegOverflow => i64::MIN,
      _ => 0,
    },
  };
  long as i32 as u32
}

fn sextet(c: u8) -> usize {
  ALPHABET.iter().position(|&a| a == c).unwrap()
}
