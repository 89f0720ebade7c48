//! Arbitrary passwords and salts hashed at low cost, one lane and several: the hashes must verify,
//! parse back, match the `bcrypt` crate, and not depend on how the pool's lane driver batched them,
//! jobs joining, leaving and cancelled mid-batch; on each kernel variant this CPU has
//! (`kernel::with_variant`), not only the one it would pick.
#![no_main]

use arbitrary::Arbitrary;
use bcrypt_offload::format::{
  get_rounds, key_words, verify_result, verify_setting, Minor, Setting, ALPHABET,
};
use bcrypt_offload::kernel::{hash_one, with_variant, Ciphertext, Variant, MAX_LANES};
use bcrypt_offload::pool::JobFailure;
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/arrivals/mod.rs"]
mod arrivals;
use arrivals::Arrival;

/// Past `$2a$`'s length wraparound at 255 as well as `$2b$`'s 72-byte cap.
const MAX_PASSWORD: usize = 300;

#[derive(Arbitrary, Debug)]
struct Job {
  minor: u8,
  /// Cost 5 rather than 4: lanes of different lengths in one batch.
  slow: bool,
  salt: [u8; 16],
  /// Steps the thread has run before this job is queued.
  arrival: u8,
  /// Steps after it is queued that it is cancelled, if it is.
  cancel: Option<u8>,
  /// The password is `bytes` repeated to this length, so that long ones (past 72, past 255) come as
  /// often as short ones: left to `arbitrary`, a length takes as many input bytes.
  length: u16,
  bytes: Vec<u8>,
}

impl Job {
  fn setting(&self) -> Setting {
    Setting {
      minor: [Minor::Bare, Minor::A, Minor::B, Minor::Y][usize::from(self.minor % 4)],
      cost: 4 + u32::from(self.slow),
      salt: self.salt,
    }
  }

  fn password(&self) -> Vec<u8> {
    let length = usize::from(self.length) % (MAX_PASSWORD + 1);
    self.bytes.iter().copied().cycle().take(length).collect()
  }
}

/// A second password close to the first, so that it often lands on the same key words (a change past
/// byte 72, a length that wraps) as well as on different ones.
#[derive(Arbitrary, Debug)]
enum Edit {
  Set(u16, u8),
  Push(u8),
  Truncate(u16),
}

#[derive(Arbitrary, Debug)]
struct Case {
  job: Job,
  edit: Edit,
  lanes: u8,
  queue: Vec<Job>,
}

fuzz_target!(|case: Case| {
  check_one(&case.job, &case.edit);
  let queue = &case.queue[..case.queue.len().min(MAX_LANES + 2)];
  for variant in Variant::available() {
    with_variant(variant, || check_lanes(queue, 1 + usize::from(case.lanes) % MAX_LANES));
  }
});

fn check_one(job: &Job, edit: &Edit) {
  let (setting, password) = (job.setting(), job.password());
  let ctext = hash_one(&setting.input(&password));
  let hash = setting.hash_string(&ctext);
  let prefix = setting.encode();
  assert_eq!(hash.len(), setting.hash_len());
  assert!(hash.starts_with(&prefix));
  assert!(
    hash[prefix.len()..].bytes().all(|c| ALPHABET.contains(&c)),
    "{hash}"
  );
  assert_eq!(verify_setting(&hash), Ok(setting));
  assert_eq!(get_rounds(&hash), Ok(setting.cost));
  assert!(verify_result(&setting, &hash, &ctext));

  assert_eq!(ctext, reference(&setting, &password), "{job:?}");
  for variant in Variant::available() {
    let theirs = with_variant(variant, || hash_one(&setting.input(&password)));
    assert_eq!(ctext, theirs, "{variant:?} for {job:?}");
  }
  // The crate's own password handling (NUL appended, cut to 72 bytes) is ours except for `$2a$`
  // passwords of 255 bytes and more, and it has no `$2$`.
  let version = match setting.minor {
    Minor::B => Some(bcrypt::Version::TwoB),
    Minor::Y => Some(bcrypt::Version::TwoY),
    Minor::A if password.len() < 255 => Some(bcrypt::Version::TwoA),
    _ => None,
  };
  if let Some(version) = version {
    let theirs = bcrypt::hash_with_salt(&password, setting.cost, setting.salt).unwrap();
    assert_eq!(hash, theirs.format_for_version(version), "{job:?}");
  }

  let other = edited(&password, edit);
  let same_key = key_words(setting.minor, &other) == key_words(setting.minor, &password);
  let other_ctext = hash_one(&setting.input(&other));
  assert_eq!(
    verify_result(&setting, &hash, &other_ctext),
    same_key,
    "{other:?} against {job:?}"
  );
}

fn edited(password: &[u8], edit: &Edit) -> Vec<u8> {
  let mut p = password.to_vec();
  match *edit {
    Edit::Set(i, b) if !p.is_empty() => {
      let i = usize::from(i) % p.len();
      p[i] = b;
    }
    Edit::Set(_, b) | Edit::Push(b) => p.push(b),
    Edit::Truncate(n) => p.truncate(usize::from(n) % (p.len() + 1)),
  }
  p
}

/// The ciphertext by the `bcrypt` crate's raw EksBlowfish, given the key bytes OpenBSD's bcrypt.c
/// would pass: the first `key_len` bytes of the C string (password and NUL), read cyclically, where a
/// `key_len` of 0 reads byte 0 forever. The schedule reads 72 bytes, so a longer key is cut there.
fn reference(setting: &Setting, password: &[u8]) -> Ciphertext {
  let len = password.len();
  let key_len = match setting.minor {
    Minor::B | Minor::Y => len.min(72) + 1,
    Minor::A => usize::from((len + 1) as u8),
    Minor::Bare => usize::from(len as u8),
  };
  let c_string = [password, &[0]].concat();
  let out = bcrypt::bcrypt(setting.cost, setting.salt, &c_string[..key_len.clamp(1, 72)]);
  out[..23].try_into().unwrap()
}

/// Runs `jobs` through the pool's lane driver on one thread of `width` lanes, as they arrive: each
/// that is not cancelled must give the one-lane answer (when it may be cancelled, and when each job
/// joins and leaves, is `arrivals::run`'s to check).
fn check_lanes(jobs: &[Job], width: usize) {
  let arrivals = jobs
    .iter()
    .map(|job| Arrival {
      input: job.setting().input(&job.password()),
      at: u64::from(job.arrival),
      cancel_at: job.cancel.map(|c| u64::from(job.arrival) + u64::from(c)),
    })
    .collect();
  for (job, record) in jobs.iter().zip(arrivals::run(arrivals, width)) {
    match record.outcome {
      Ok(ctext) => {
        // Alone, on the portable kernel: the variants are checked against each other too.
        let alone = with_variant(Variant::Portable, || hash_one(&job.setting().input(&job.password())));
        assert_eq!(ctext, alone, "{job:?} in lanes of {width}, queue {jobs:?}");
      }
      Err(JobFailure::Cancelled) if job.cancel.is_some() => {}
      Err(failure) => panic!("{failure:?} for {job:?} in lanes of {width}, queue {jobs:?}"),
    }
  }
}
