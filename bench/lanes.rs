//! How the kernel's throughput grows with lanes, for each kernel variant this CPU runs; K hashes at
//! cost 10 run together on one thread by the pool's lane driver; and one lane against the `bcrypt`
//! crate (the kernel of @node-rs/bcrypt), run alternately so that the machine's drift falls on both.
//! `cargo bench --bench lanes [cost]` (or `npm run bench:lanes`).
//!
//! Cycles are the thread's CPU time times a clock calibrated on a chain of dependent adds (one
//! cycle each on every core we run on): shared VMs expose no cycle counter, and the thread's CPU time
//! leaves out the time other processes had the core.
use std::time::Instant;

use bcrypt_offload::format::{Minor, Setting};
use bcrypt_offload::kernel::{self, Input, Lane, Variant, MAX_LANES};
use bcrypt_offload::pool::{Job, Pool, Priority};

#[path = "../tests/arrivals/mod.rs"]
mod arrivals;
use arrivals::Arrival;

/// Blowfish rounds in one key-schedule step: 521 blocks of 16 rounds.
const ROUNDS_PER_STEP: f64 = 521.0 * 16.0;

fn main() {
  let cost = std::env::args()
    .skip(1)
    .find_map(|a| a.parse().ok())
    .unwrap_or(10);
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
    "one lane ({:?}) / bcrypt crate, time ratio, median of 9 alternating pairs: {:.3}",
    Variant::best(),
    ratios[4]
  );

  variants();

  println!(
    "cost {cost}, one thread, the pool's lane driver ({:?}); median of 7 runs",
    Variant::best()
  );
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

/// Every variant at every width, stepped directly: cycles per Blowfish round per lane and the
/// throughput against one lane of the same variant. Runs interleave every (variant, width) in a
/// rotating order; each figure is the median of its runs.
fn variants() {
  const RUNS: usize = 9;
  const STEPS: usize = 64;
  let cycles_per_ms = clock();
  let variants = Variant::available();
  let pairs: Vec<(Variant, usize)> = variants
    .iter()
    .flat_map(|&v| (1..=MAX_LANES).map(move |k| (v, k)))
    .collect();
  let input = Input {
    key: [0x5a5a_5a5a; 18],
    salt: [0xa5a5_a5a5; 4],
    cost: 31,
  };
  let mut ms = vec![Vec::new(); pairs.len()];
  for run in 0..RUNS {
    for i in 0..pairs.len() {
      let at = (i + run * 5) % pairs.len();
      let (variant, k) = pairs[at];
      let mut lanes: Vec<Lane> = (0..k).map(|_| Lane::new(&input)).collect();
      kernel::step_with(variant, &mut lanes);
      let start = thread_ms();
      for _ in 0..STEPS {
        kernel::step_with(variant, std::hint::black_box(&mut lanes));
      }
      ms[at].push(thread_ms() - start);
    }
  }
  let median = |v: &mut Vec<f64>| {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
  };
  let ms: Vec<f64> = ms.iter_mut().map(median).collect();
  println!(
    "variants, stepped directly ({STEPS} steps a run, median of {RUNS} interleaved runs; \
     clock {:.2} GHz from a chain of dependent adds)",
    cycles_per_ms / 1e6
  );
  println!("variant    lanes  cycles/round/lane  throughput vs its 1 lane");
  for (i, &(variant, k)) in pairs.iter().enumerate() {
    let one = ms[i + 1 - k];
    let cycles = ms[i] * cycles_per_ms / (STEPS * k) as f64 / ROUNDS_PER_STEP;
    println!(
      "{:<9}  {k:>5}  {cycles:>17.2}  {:>6.2}x",
      format!("{variant:?}"),
      one * k as f64 / ms[i]
    );
  }
}

/// Cycles per millisecond of thread CPU time: a chain of dependent adds, best of several.
fn clock() -> f64 {
  const ADDS: u64 = 200_000_000;
  (0..5)
    .map(|_| {
      let start = thread_ms();
      add_chain(ADDS / 8);
      ADDS as f64 / (thread_ms() - start)
    })
    .fold(0.0, f64::max)
}

/// `8 * n` dependent adds, one cycle each. Register to register: Intel's Golden Cove renamer
/// folds chains of add-immediate (this chain with `add x, 1` measured 21 "GHz" on its Xeons).
fn add_chain(n: u64) {
  let mut x = 0u64;
  let mut n = n;
  // SAFETY: registers only; the loop ends when `n` reaches 0.
  #[cfg(target_arch = "x86_64")]
  unsafe {
    std::arch::asm!(
      "2:",
      "add {x}, {y}", "add {x}, {y}", "add {x}, {y}", "add {x}, {y}",
      "add {x}, {y}", "add {x}, {y}", "add {x}, {y}", "add {x}, {y}",
      "dec {n}",
      "jnz 2b",
      x = inout(reg) x,
      y = in(reg) 1u64,
      n = inout(reg) n,
      options(nomem, nostack),
    );
  }
  // SAFETY: as above.
  #[cfg(target_arch = "aarch64")]
  unsafe {
    std::arch::asm!(
      "2:",
      "add {x}, {x}, {y}", "add {x}, {x}, {y}", "add {x}, {x}, {y}", "add {x}, {x}, {y}",
      "add {x}, {x}, {y}", "add {x}, {x}, {y}", "add {x}, {x}, {y}", "add {x}, {x}, {y}",
      "subs {n}, {n}, 1",
      "b.ne 2b",
      x = inout(reg) x,
      y = in(reg) 1u64,
      n = inout(reg) n,
      options(nomem, nostack),
    );
  }
  #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
  while n > 0 {
    x = std::hint::black_box(x + 8);
    n -= 1;
  }
  std::hint::black_box((x, n));
}

/// The calling thread's CPU time in milliseconds.
fn thread_ms() -> f64 {
  let mut ts = libc::timespec {
    tv_sec: 0,
    tv_nsec: 0,
  };
  // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
  unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
  ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
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
