//! How the kernel's throughput grows with lanes: K hashes at cost 10 run together on one thread by
//! the pool's lane driver; and one lane against the `bcrypt` crate (the kernel of @node-rs/bcrypt),
//! run alternately so that the machine's drift falls on both. `cargo bench --bench lanes [cost]` (or `npm run bench:lanes`).
use std::time::Instant;

use bcrypt_offload::format::{Minor, Setting};
use bcrypt_offload::kernel::{self, MAX_LANES};
use bcrypt_offload::pool::{Job, Pool, Priority};

#[path = "../tests/arrivals/mod.rs"]
mod arrivals;
use arrivals::Arrival;

fn main() {
  let cost = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
  let setting = Setting {
    minor: Minor::B,
    cost,
    salt: [7; 16],
  };
  let expected = setting.hash_string(&kernel::hash_one(&setting.input(b"password")));
  let mut ratios: Vec<f64> = (0..9)
    .map(|_| {
      let t = Instant::now();
      let ours = setting.hash_string(&kernel::hash_one(&setting.input(b"password")));
      let ours_ms = t.elapsed().as_secs_f64();
      let t = Instant::now();
      let theirs = bcrypt::hash_with_salt(b"password", cost, setting.salt)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoB);
      let theirs_ms = t.elapsed().as_secs_f64();
      assert_eq!(ours, theirs);
      ours_ms / theirs_ms
    })
    .collect();
  ratios.sort_by(f64::total_cmp);
  println!(
    "one lane / bcrypt crate, time ratio, median of 9 alternating pairs: {:.3}",
    ratios[4]
  );
  println!("cost {cost}, one thread; median of 7 runs");
  println!("lanes  batch ms  per-hash ms  throughput vs 1 lane");
  let mut one_lane = 0.0;
  for k in 1..=MAX_LANES {
    let mut times: Vec<f64> = (0..7)
      .map(|_| {
        // K jobs at once through the pool's own lane driver, one thread of K lanes.
        let jobs = (0..k)
          .map(|_| Arrival {
            input: setting.input(b"password"),
            at: 0,
            cancel_at: None,
          })
          .collect();
        let t = Instant::now();
        let records = arrivals::run(jobs, k);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        assert!(
          records
            .iter()
            .all(|r| r.outcome.map(|c| setting.hash_string(&c)).as_ref() == Ok(&expected)),
          "lane output differs from one-lane output"
        );
        ms
      })
      .collect();
    times.sort_by(f64::total_cmp);
    let ms = times[3];
    if k == 1 {
      one_lane = ms;
    }
    println!(
      "{k:>5}  {ms:>8.1}  {:>11.1}  {:>6.2}x",
      ms / k as f64,
      one_lane * k as f64 / ms
    );
  }

  pool_throughput(cost);
}

/// 64 jobs through a pool of one thread per core, no Node involved: the ceiling for the async API.
fn pool_throughput(cost: u32) {
  let threads = std::thread::available_parallelism().map_or(1, usize::from);
  let pool = Pool::new(threads, MAX_LANES, Priority::Idle).unwrap();
  let setting = Setting {
    minor: Minor::B,
    cost,
    salt: [7; 16],
  };
  let mut rates: Vec<f64> = (0..5)
    .map(|_| {
      let (tx, rx) = std::sync::mpsc::channel();
      let t = Instant::now();
      for i in 0..64 {
        let tx = tx.clone();
        let input = setting.input(format!("password {i}").as_bytes());
        pool.submit(
          Job {
            input,
            done: Box::new(move |out| tx.send(out.is_ok()).unwrap()),
            handle: Default::default(),
            orphaned: None,
          },
          Default::default(),
        );
      }
      drop(tx);
      assert!(rx.iter().all(|ok| ok));
      64.0 / t.elapsed().as_secs_f64()
    })
    .collect();
  rates.sort_by(f64::total_cmp);
  println!(
    "pool, {threads} threads, 64 jobs at cost {cost}: {:.1} hashes/s (median of 5)",
    rates[2]
  );
}
