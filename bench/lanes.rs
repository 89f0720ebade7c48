//! How the kernel's throughput grows with lanes: K hashes at cost 10 run together on one thread.
//! `cargo bench --bench lanes` (or `npm run bench:lanes`). Prints the median of 7 runs per K.
use std::time::Instant;

use bcrypt_offload::format::{Minor, Setting};
use bcrypt_offload::kernel::{self, Lane, MAX_LANES};

fn main() {
  let cost = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
  let setting = Setting {
    minor: Minor::B,
    cost,
    salt: [7; 16],
  };
  let expected = setting.hash_string(&kernel::hash_one(&setting.input(b"password")));
  println!("cost {cost}, one thread; median of 7 runs");
  println!("lanes  batch ms  per-hash ms  throughput vs 1 lane");
  let mut one_lane = 0.0;
  for k in 1..=MAX_LANES {
    let mut times: Vec<f64> = (0..7)
      .map(|_| {
        let input = setting.input(b"password");
        let mut lanes: Vec<Lane> = (0..k).map(|_| Lane::new(&input)).collect();
        let t = Instant::now();
        while !lanes[0].is_done() {
          kernel::step(&mut lanes);
        }
        let out: Vec<_> = lanes.iter().map(|l| setting.hash_string(&l.output())).collect();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        assert!(
          out.iter().all(|h| *h == expected),
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
}
