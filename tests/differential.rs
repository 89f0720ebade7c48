//! The kernel against the `bcrypt` crate, an implementation we did not write: random passwords
//! (0–100 arbitrary bytes, NULs included), random salts, costs 4–8 on one lane; and the pool's own
//! lane driver at every width, with jobs arriving while others are mid-schedule, some cancelled and
//! (with `fault-injection`) some panicking. Every case runs on each kernel variant this CPU has
//! (`kernel::with_variant`), not only the one it would pick.
use bcrypt_offload::format::{Minor, Setting};
use bcrypt_offload::kernel::{self, Variant, MAX_LANES};
use bcrypt_offload::pool::JobFailure;
use proptest::prelude::*;

mod arrivals;
use arrivals::Arrival;

fn reference(password: &[u8], cost: u32, salt: [u8; 16]) -> String {
  bcrypt::hash_with_salt(password, cost, salt)
    .unwrap()
    .format_for_version(bcrypt::Version::TwoB)
}

#[derive(Clone, Debug)]
struct Job {
  password: Vec<u8>,
  cost: u32,
  salt: [u8; 16],
  /// Steps after the job before it that this one is queued.
  gap: u64,
  /// Steps after it is queued that it is cancelled, if it is.
  cancel_after: Option<u64>,
}

impl Job {
  fn setting(&self) -> Setting {
    Setting {
      minor: Minor::B,
      cost: self.cost,
      salt: self.salt,
    }
  }

  /// Whether the kernel panics on it (`kernel::FAULT_PASSWORD`).
  fn faulty(&self) -> bool {
    #[cfg(feature = "fault-injection")]
    return self.password.starts_with(kernel::FAULT_PASSWORD);
    #[cfg(not(feature = "fault-injection"))]
    false
  }
}

fn password() -> impl Strategy<Value = Vec<u8>> {
  let random = proptest::collection::vec(any::<u8>(), 0..=100);
  #[cfg(feature = "fault-injection")]
  return prop_oneof![
    9 => random.clone(),
    1 => random.prop_map(|p| [kernel::FAULT_PASSWORD.as_slice(), &p].concat()),
  ];
  #[cfg(not(feature = "fault-injection"))]
  random
}

/// Costs 4–6 (33 to 129 steps) and gaps up to 40 steps: most jobs arrive while others run.
fn job() -> impl Strategy<Value = Job> {
  (
    password(),
    4u32..=6,
    any::<[u8; 16]>(),
    0u64..=40,
    prop_oneof![3 => Just(None), 1 => (0u64..=140).prop_map(Some)],
  )
    .prop_map(|(password, cost, salt, gap, cancel_after)| Job {
      password,
      cost,
      salt,
      gap,
      cancel_after,
    })
}

fn arrivals_of(jobs: &[Job]) -> Vec<Arrival> {
  let mut at = 0;
  jobs
    .iter()
    .map(|job| {
      at += job.gap;
      Arrival {
        input: job.setting().input(&job.password),
        at,
        cancel_at: job.cancel_after.map(|c| at + c),
      }
    })
    .collect()
}

/// Silences the panic message of an injected fault, which the driver contains; others still print.
fn quiet_injected_faults() {
  static ONCE: std::sync::Once = std::sync::Once::new();
  ONCE.call_once(|| {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
      if info.payload().downcast_ref::<&str>() != Some(&"fault injected by the fault-injection feature") {
        default(info);
      }
    }));
  });
}

proptest! {
  #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

  #[test]
  fn the_lane_driver_matches_the_reference_with_jobs_joining_mid_batch(
    jobs in proptest::collection::vec(job(), 1..=2 * MAX_LANES),
    width in 1..=MAX_LANES,
  ) {
    quiet_injected_faults();
    for variant in Variant::available() {
      let records = kernel::with_variant(variant, || arrivals::run(arrivals_of(&jobs), width));
      for (job, record) in jobs.iter().zip(records) {
        match record.outcome {
          Ok(ctext) => {
            prop_assert!(!job.faulty());
            prop_assert_eq!(
              job.setting().hash_string(&ctext),
              reference(&job.password, job.cost, job.salt),
              "{:?}", variant
            );
          }
          Err(JobFailure::Panicked) => prop_assert!(job.faulty()),
          // When it may be cancelled is `arrivals::run`'s to check.
          Err(_) => prop_assert!(job.cancel_after.is_some()),
        }
      }
    }
  }

  #[test]
  fn one_lane_matches_the_reference(
    (password, cost, salt) in (proptest::collection::vec(any::<u8>(), 0..=100), 4u32..=8, any::<[u8; 16]>())
  ) {
    let setting = Setting { minor: Minor::Y, cost, salt };
    let expected = reference(&password, cost, salt).replacen("$2b$", "$2y$", 1);
    for variant in Variant::available() {
      let ctext = kernel::with_variant(variant, || kernel::hash_one(&setting.input(&password)));
      prop_assert_eq!(setting.hash_string(&ctext), expected.clone(), "{:?}", variant);
    }
  }
}

/// A job queued while another is mid-schedule joins it at the next step and leaves at its own last
/// step, with the answer it would have had alone: the case the property test covers at random,
/// pinned.
#[test]
fn a_job_joining_mid_batch_gets_the_reference_answer() {
  let jobs: Vec<Job> = [(4, 0), (5, 10), (4, 20)]
    .into_iter()
    .map(|(cost, gap)| Job {
      password: format!("password {gap}").into_bytes(),
      cost,
      salt: [gap as u8; 16],
      gap,
      cancel_after: None,
    })
    .collect();
  let records = arrivals::run(arrivals_of(&jobs), 2);
  // Cost 4 is 33 steps, cost 5 is 65: the second job joins the first at step 10; the third waits
  // for the first's lane, free from step 33.
  let steps: Vec<(u64, u64)> = records.iter().map(|r| (r.taken, r.settled)).collect();
  assert_eq!(steps, [(0, 33), (10, 75), (33, 66)]);
  for (job, record) in jobs.iter().zip(records) {
    let hash = job.setting().hash_string(&record.outcome.unwrap());
    assert_eq!(hash, reference(&job.password, job.cost, job.salt));
  }
}
