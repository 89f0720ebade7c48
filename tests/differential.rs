//! The kernel against the `bcrypt` crate, an implementation we did not write: every lane count,
//! random passwords (0–100 arbitrary bytes, NULs included), random salts, costs 4–8.
use bcrypt_offload::format::{Minor, Setting};
use bcrypt_offload::kernel::{self, Lane, MAX_LANES};
use proptest::prelude::*;

fn reference(password: &[u8], cost: u32, salt: [u8; 16]) -> String {
  bcrypt::hash_with_salt(password, cost, salt)
    .unwrap()
    .format_for_version(bcrypt::Version::TwoB)
}

/// Runs `jobs` through the multi-lane kernel together, as a pool thread would with that many lanes.
fn run_lanes(jobs: &[(Vec<u8>, u32, [u8; 16])]) -> Vec<String> {
  let settings: Vec<Setting> = jobs
    .iter()
    .map(|(_, cost, salt)| Setting {
      minor: Minor::B,
      cost: *cost,
      salt: *salt,
    })
    .collect();
  let mut lanes: Vec<(usize, Lane)> = jobs
    .iter()
    .zip(&settings)
    .enumerate()
    .map(|(i, ((p, _, _), s))| (i, Lane::new(&s.input(p))))
    .collect();
  let mut out = vec![String::new(); jobs.len()];
  while !lanes.is_empty() {
    let mut batch: Vec<Lane> = Vec::new();
    let mut ids = Vec::new();
    for (i, lane) in lanes.drain(..) {
      ids.push(i);
      batch.push(lane);
    }
    kernel::step(&mut batch);
    for (i, lane) in ids.into_iter().zip(batch) {
      if lane.is_done() {
        out[i] = settings[i].hash_string(&lane.output());
      } else {
        lanes.push((i, lane));
      }
    }
  }
  out
}

fn job() -> impl Strategy<Value = (Vec<u8>, u32, [u8; 16])> {
  (
    proptest::collection::vec(any::<u8>(), 0..=100),
    4u32..=8,
    any::<[u8; 16]>(),
  )
}

proptest! {
  #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

  #[test]
  fn every_lane_count_matches_the_reference(jobs in proptest::collection::vec(job(), 1..=MAX_LANES)) {
    let got = run_lanes(&jobs);
    for ((password, cost, salt), hash) in jobs.iter().zip(got) {
      prop_assert_eq!(hash, reference(password, *cost, *salt));
    }
  }

  #[test]
  fn one_lane_matches_the_reference((password, cost, salt) in job()) {
    let setting = Setting { minor: Minor::Y, cost, salt };
    let hash = setting.hash_string(&kernel::hash_one(&setting.input(&password)));
    prop_assert_eq!(hash, reference(&password, cost, salt).replacen("$2b$", "$2y$", 1));
  }
}
