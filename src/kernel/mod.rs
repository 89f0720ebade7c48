//! EksBlowfish, the expensive part of bcrypt, advancing 1..=MAX_LANES independent hashes together.
//!
//! One Blowfish round is four S-box loads whose addresses depend on the previous round, so a single
//! hash spends most of its time waiting on L1 latency while the core's load ports and ALUs sit idle.
//! Hashes that share nothing can fill those gaps: `step` runs the same key-schedule step for K lanes
//! in lockstep, each lane with its own state, key and salt. K is a const generic so that every
//! per-lane loop unrolls; tables are `[u32; 256]` indexed by `u8`, so the inner loop carries no
//! bounds checks.
//!
//! Every step is the same shape, `ExpandKey(state, salt, key)`: the one salted expansion at the start
//! and the `2 · 2^cost` unsalted ones (salt all zero) differ only in data. That is what lets lanes at
//! different points of different jobs, even of different costs, share one step.
//!
//! The step is written once (`schedule`) and compiled per `Variant`; the fastest this CPU runs is
//! picked once at run time, and tests and the fuzzer can force each (`step_with`).

use std::cell::Cell;
use std::sync::OnceLock;

use zeroize::Zeroize;

#[cfg(target_arch = "aarch64")]
mod aarch64;
mod schedule;
#[cfg(target_arch = "x86_64")]
mod x86;

include!(concat!(env!("OUT_DIR"), "/blowfish_init.rs"));

/// The most hashes one thread interleaves: where the round loop would start spilling lane state
/// to the stack. x86_64: 6 (`x86`'s comment counts the registers). aarch64: 4, as it has no
/// base+index+displacement address and each lane keeps its four S-box bases in registers of their
/// own (llvm-mca on the aarch64 build: 131-475 stack references per block at 4-6 lanes with the lanes
/// interleaved; Neoverse N1 is best at 3 lanes, V1/V2 at 4). Other targets (wasm32, 32-bit ARM) run
/// the portable Rust and keep x86_64's count. The pool's tuner measures which count up to this one
/// is fastest (`pool::tuning`).
#[cfg(not(target_arch = "aarch64"))]
pub const MAX_LANES: usize = 6;
#[cfg(target_arch = "aarch64")]
pub const MAX_LANES: usize = 4;

/// A compiled form of the step. All compute the same thing; tests run every one this CPU has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
  /// Plain Rust, as LLVM schedules it: every target (wasm32, armv7, …) and the reference.
  Portable,
  /// x86_64's assembly rounds with baseline instructions (`x86`).
  #[cfg(target_arch = "x86_64")]
  Plain,
  /// x86_64's assembly rounds with BMI1's `bextr` and BMI2's `rorx`: CPUs that have both.
  #[cfg(target_arch = "x86_64")]
  Bmi,
  /// aarch64's assembly rounds, each lane's S-box bases in registers (`aarch64`).
  #[cfg(target_arch = "aarch64")]
  Aarch64,
}

impl Variant {
  /// Every variant this CPU can run, fastest last.
  pub fn available() -> Vec<Variant> {
    let all = [
      Variant::Portable,
      #[cfg(target_arch = "x86_64")]
      Variant::Plain,
      #[cfg(target_arch = "x86_64")]
      Variant::Bmi,
      #[cfg(target_arch = "aarch64")]
      Variant::Aarch64,
    ];
    all.into_iter().filter(|v| v.runs_here()).collect()
  }

  /// Whether this CPU has the instructions the variant needs.
  fn runs_here(self) -> bool {
    match self {
      #[cfg(target_arch = "x86_64")]
      Variant::Bmi => x86::has_bmi(),
      _ => true,
    }
  }

  /// The variant `step` runs: the fastest available, looked up once.
  pub fn best() -> Variant {
    static BEST: OnceLock<Variant> = OnceLock::new();
    *BEST.get_or_init(|| *Variant::available().last().unwrap())
  }
}

/// bcrypt's fixed plaintext, "OrpheanBeholderScryDoubt", as big-endian words.
const CTEXT: [u32; 6] = [
  0x4f72_7068,
  0x6561_6e42,
  0x6568_6f6c,
  0x6465_7253,
  0x6372_7944,
  0x6f75_6274,
];

/// The 23 bytes of ciphertext a bcrypt hash encodes (the last of the 24 is dropped).
pub type Ciphertext = [u8; 23];

/// The inputs of one bcrypt computation, already reduced to what the key schedule reads.
pub struct Input {
  /// The password as the 18 key words Blowfish cycles through (see `format::key_words`).
  pub key: [u32; 18],
  /// The 16-byte salt as four big-endian words.
  pub salt: [u32; 4],
  /// log2 of the iteration count, 4..=31.
  pub cost: u32,
}

impl Drop for Input {
  fn drop(&mut self) {
    self.key.zeroize();
  }
}

/// `repr(C)`, P after the S-boxes: aarch64's rounds read P at a small positive offset from S-box 0
/// (`aarch64::parray`).
#[derive(Clone)]
#[repr(C)]
struct State {
  s: [[u32; 256]; 4],
  p: [u32; 18],
}

/// One hash in progress: its Blowfish state and where it is in the key schedule.
pub struct Lane {
  state: State,
  key: [u32; 18],
  /// The salt cycled to 18 words, for the steps that use the salt as the key.
  salt_key: [u32; 18],
  salt: [u32; 4],
  step: u64,
  steps: u64,
}

impl Lane {
  pub fn new(input: &Input) -> Lane {
    let mut salt_key = [0u32; 18];
    for (i, w) in salt_key.iter_mut().enumerate() {
      *w = input.salt[i % 4];
    }
    Lane {
      state: State { s: S_INIT, p: P_INIT },
      key: input.key,
      salt_key,
      salt: input.salt,
      step: 0,
      // One salted expansion, then 2^cost rounds of (key, salt).
      steps: 1 + (2u64 << input.cost),
    }
  }

  pub fn is_done(&self) -> bool {
    self.step == self.steps
  }

  /// The 23 bytes of ciphertext that bcrypt encodes; only meaningful once `is_done`.
  pub fn output(&self) -> Ciphertext {
    let mut c = CTEXT;
    for _ in 0..64 {
      for pair in c.chunks_exact_mut(2) {
        let (mut l, mut r) = ([pair[0]], [pair[1]]);
        schedule::encrypt::<1>([&self.state], &mut l, &mut r);
        pair[0] = l[0];
        pair[1] = r[0];
      }
    }
    let mut out = [0u8; 24];
    for (chunk, w) in out.chunks_exact_mut(4).zip(c) {
      chunk.copy_from_slice(&w.to_be_bytes());
    }
    let mut ctext = Ciphertext::default();
    ctext.copy_from_slice(&out[..23]);
    out.zeroize();
    ctext
  }
}

impl Drop for Lane {
  fn drop(&mut self) {
    self.state.p.zeroize();
    self.state.s.iter_mut().for_each(Zeroize::zeroize);
    self.key.zeroize();
  }
}

thread_local! {
  /// The variant `with_variant` set for this thread, if any.
  static FORCED: Cell<Option<Variant>> = const { Cell::new(None) };
}

/// Runs `f` with `step` and `hash_one` on this thread using `variant` instead of the best: how the
/// differential test and the fuzzer run the pool's own lane driver over each variant. Panics if this
/// CPU lacks it (see `Variant::available`).
pub fn with_variant<R>(variant: Variant, f: impl FnOnce() -> R) -> R {
  assert!(
    Variant::available().contains(&variant),
    "this CPU cannot run {variant:?}"
  );
  struct Restore(Option<Variant>);
  impl Drop for Restore {
    fn drop(&mut self) {
      FORCED.set(self.0);
    }
  }
  let _restore = Restore(FORCED.replace(Some(variant)));
  f()
}

/// The variant `step` runs on this thread.
fn current() -> Variant {
  FORCED.get().unwrap_or_else(Variant::best)
}

/// Advances each lane by one key-schedule step. Lanes must not be done.
pub fn step(lanes: &mut [Lane]) {
  #[cfg(feature = "fault-injection")]
  inject_fault(lanes);
  step_with(current(), lanes);
}

/// `step` with the given variant, for tests, the fuzzer and the benchmark. Panics if this CPU lacks
/// it (see `Variant::available`) or on more than `MAX_LANES` lanes.
pub fn step_with(variant: Variant, lanes: &mut [Lane]) {
  macro_rules! widths {
    ($run:ident) => {
      match lanes.len() {
        1 => $run::<1>(lanes.try_into().unwrap()),
        2 => $run::<2>(lanes.try_into().unwrap()),
        3 => $run::<3>(lanes.try_into().unwrap()),
        4 => $run::<4>(lanes.try_into().unwrap()),
        #[cfg(not(target_arch = "aarch64"))]
        5 => $run::<5>(lanes.try_into().unwrap()),
        #[cfg(not(target_arch = "aarch64"))]
        6 => $run::<6>(lanes.try_into().unwrap()),
        n => panic!("{n} lanes; the kernel runs 1..={MAX_LANES}"),
      }
    };
  }
  fn portable<const K: usize>(lanes: &mut [Lane; K]) {
    schedule::step_lanes::<K, schedule::Portable>(lanes);
  }
  #[cfg(target_arch = "x86_64")]
  fn plain<const K: usize>(lanes: &mut [Lane; K]) {
    schedule::step_lanes::<K, x86::Plain>(lanes);
  }
  #[cfg(target_arch = "x86_64")]
  fn bmi<const K: usize>(lanes: &mut [Lane; K]) {
    assert!(x86::has_bmi(), "this CPU lacks BMI1 or BMI2");
    // SAFETY: the CPU has BMI1 and BMI2, checked just above: the features `step_bmi` is compiled
    // with.
    unsafe { x86::step_bmi::<K>(lanes) }
  }
  #[cfg(target_arch = "aarch64")]
  fn aarch64<const K: usize>(lanes: &mut [Lane; K]) {
    schedule::step_lanes::<K, aarch64::Bases>(lanes);
  }
  match variant {
    Variant::Portable => widths!(portable),
    #[cfg(target_arch = "x86_64")]
    Variant::Plain => widths!(plain),
    #[cfg(target_arch = "x86_64")]
    Variant::Bmi => widths!(bmi),
    #[cfg(target_arch = "aarch64")]
    Variant::Aarch64 => widths!(aarch64),
  }
}

/// Test builds only (`--features fault-injection`): a lane whose password starts with
/// `FAULT_PASSWORD` panics halfway through its key schedule, so that tests can follow a panic out of
/// the kernel through the pool and the bindings. Other builds have no such check.
#[cfg(feature = "fault-injection")]
pub const FAULT_PASSWORD: &[u8; 8] = b"!panic!!";

#[cfg(feature = "fault-injection")]
fn inject_fault(lanes: &[Lane]) {
  let prefix = [
    u32::from_be_bytes(FAULT_PASSWORD[..4].try_into().unwrap()),
    u32::from_be_bytes(FAULT_PASSWORD[4..].try_into().unwrap()),
  ];
  if lanes
    .iter()
    .any(|lane| lane.key[..2] == prefix && lane.step == lane.steps / 2)
  {
    panic!("fault injected by the fault-injection feature");
  }
}

/// The whole computation on one lane, on the calling thread (the sync API).
pub fn hash_one(input: &Input) -> Ciphertext {
  let mut lane = Lane::new(input);
  while !lane.is_done() {
    #[cfg(feature = "fault-injection")]
    inject_fault(std::slice::from_ref(&lane));
    step_with(current(), std::slice::from_mut(&mut lane));
  }
  lane.output()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn initial_state_is_pi() {
    // The published Blowfish tables (Schneier, 1993): first and last words of P and of each S-box.
    assert_eq!(P_INIT[0], 0x243f_6a88);
    assert_eq!(P_INIT[1], 0x85a3_08d3);
    assert_eq!(P_INIT[17], 0x8979_fb1b);
    assert_eq!(S_INIT[0][0], 0xd131_0ba6);
    assert_eq!(S_INIT[0][255], 0x6e85_076a);
    assert_eq!(S_INIT[1][0], 0x4b7a_70e9);
    assert_eq!(S_INIT[2][0], 0xe93d_5a68);
    assert_eq!(S_INIT[3][0], 0x3a39_ce37);
    assert_eq!(S_INIT[3][255], 0x3ac3_72e6);
  }

  #[test]
  fn blowfish_zero_key_vector() {
    // Eric Young's Blowfish ECB vectors: key 00…00, plaintext 00…00 → 4EF997456198DD78.
    // With an all-zero key and no salt, one ExpandKey is exactly the standard Blowfish key setup.
    let input = Input {
      key: [0; 18],
      salt: [0; 4],
      cost: 4,
    };
    for variant in Variant::available() {
      let mut lane = Lane::new(&input);
      step_with(variant, std::array::from_mut(&mut lane));
      let (mut l, mut r) = ([0u32], [0u32]);
      schedule::encrypt::<1>([&lane.state], &mut l, &mut r);
      assert_eq!((l[0], r[0]), (0x4ef9_9745, 0x6198_dd78), "{variant:?}");
    }
  }

  #[test]
  fn every_variant_computes_the_same_state_at_every_width() {
    // Lanes at different steps (one salted, the others not) and with different keys, stepped side
    // by side: each variant must leave every lane exactly as the portable one does.
    let inputs: Vec<Input> = (0..MAX_LANES as u32)
      .map(|i| Input {
        key: [0x0101_0101 * (i + 1); 18],
        salt: [0x2468_ace0 ^ i; 4],
        cost: 4,
      })
      .collect();
    let run = |variant: Variant, width: usize| {
      let mut lanes: Vec<Lane> = inputs[..width].iter().map(Lane::new).collect();
      for (k, lane) in lanes.iter_mut().enumerate().skip(1) {
        for _ in 0..k {
          step_with(Variant::Portable, std::slice::from_mut(lane));
        }
      }
      for _ in 0..3 {
        step_with(variant, &mut lanes);
      }
      lanes
        .iter()
        .map(|lane| (lane.state.p, lane.state.s))
        .collect::<Vec<_>>()
    };
    for width in 1..=MAX_LANES {
      let expected = run(Variant::Portable, width);
      for variant in Variant::available() {
        assert!(run(variant, width) == expected, "{variant:?} at {width} lanes");
      }
    }
  }
}
