//! EksBlowfish, the expensive part of bcrypt, advancing 1..=MAX_LANES independent hashes together.
//!
//! One Blowfish round is four S-box loads whose addresses depend on the previous round, so a single
//! hash spends most of its time waiting on L1 latency while the core's load ports and ALUs sit idle.
//! Hashes that share nothing can fill those gaps: `step` runs the same key-schedule step for K lanes
//! in lockstep, each lane with its own state, key and salt. K is a const generic so that every
//! per-lane loop unrolls and the lanes' loads interleave; tables are `[u32; 256]` indexed by `u8`, so
//! the inner loop carries no bounds checks.
//!
//! Every step is the same shape, `ExpandKey(state, salt, key)`: the one salted expansion at the start
//! and the `2 · 2^cost` unsalted ones (salt all zero) differ only in data. That is what lets lanes at
//! different points of different jobs, even of different costs, share one step.

use zeroize::Zeroize;

include!(concat!(env!("OUT_DIR"), "/blowfish_init.rs"));

/// The most hashes one thread interleaves. Chosen with `bench/lanes.rs` on the 2-core EPYC we build
/// on (cost 10, one thread, three runs): one lane 58 ms; 4 lanes 80–81 ms a batch (2.9x one lane's
/// throughput); 6 lanes 113 ms (3.1x). An earlier build measured 7 and 8 lanes below 6, as registers
/// run out. This machine is shared: in noisy minutes every figure above 1 lane drops, 6 lanes most
/// (its 25 KB of state nearly fills a 32 KB L1). A thread only runs several lanes when jobs are
/// waiting, so a lone hash never pays for the batch.
pub const MAX_LANES: usize = 6;

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

#[derive(Clone)]
struct State {
  p: [u32; 18],
  s: [[u32; 256]; 4],
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
      state: State { p: P_INIT, s: S_INIT },
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
        encrypt::<1>([&self.state], &mut l, &mut r);
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

/// Advances each lane by one key-schedule step. Lanes must not be done.
pub fn step(lanes: &mut [Lane]) {
  #[cfg(feature = "fault-injection")]
  inject_fault(lanes);
  match lanes.len() {
    1 => step_lanes::<1>(lanes.try_into().unwrap()),
    2 => step_lanes::<2>(lanes.try_into().unwrap()),
    3 => step_lanes::<3>(lanes.try_into().unwrap()),
    4 => step_lanes::<4>(lanes.try_into().unwrap()),
    5 => step_lanes::<5>(lanes.try_into().unwrap()),
    6 => step_lanes::<6>(lanes.try_into().unwrap()),
    n => panic!("{n} lanes; the kernel runs 1..={MAX_LANES}"),
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
    step_lanes::<1>(std::array::from_mut(&mut lane));
  }
  lane.output()
}

/// Returns `x` unchanged, in a way the optimiser cannot look through. Without it LLVM reassociates
/// `(y ^ P[i]) ^ F(x)` into `(F(x) ^ P[i]) ^ y`, which puts two XORs instead of one after F on the
/// round's critical path: 1 of ~12 cycles a round. Measured with bench/lanes.rs: one lane's time
/// against the `bcrypt` crate's went from 0.93 to 0.87, and 4 lanes' batch from 89 to 81 ms. With
/// 5 and 6 lanes, which are bound by instruction throughput rather than latency, the pinned order
/// cost registers instead (6 lanes: 113 ms without, 130 ms with), so they go without.
///
/// The template names the 32-bit view of the register, which each architecture spells its own way
/// (`e` on x86, `w` on aarch64). Elsewhere (32-bit ARM, wasm32, …) this is a plain identity: the
/// result is the same, only the x86/aarch64 tuning is missing.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn opaque(mut x: u32) -> u32 {
  // SAFETY: an empty template: no instruction, no memory, no flags; only the register's value
  // passes through, unknown to the optimiser.
  #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
  unsafe {
    core::arch::asm!("/* {0:e} */", inout(reg) x, options(pure, nomem, nostack, preserves_flags))
  };
  // SAFETY: as above.
  #[cfg(target_arch = "aarch64")]
  unsafe {
    core::arch::asm!("/* {0:w} */", inout(reg) x, options(pure, nomem, nostack, preserves_flags))
  };
  x
}

#[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
fn opaque(x: u32) -> u32 {
  x
}

#[inline(always)]
fn f(s: &[[u32; 256]; 4], x: u32) -> u32 {
  let a = s[0][(x >> 24) as usize];
  let b = s[1][(x >> 16) as u8 as usize];
  let c = s[2][(x >> 8) as u8 as usize];
  let d = s[3][x as u8 as usize];
  (a.wrapping_add(b) ^ c).wrapping_add(d)
}

/// Blowfish-encrypts one block per lane, rounds interleaved across lanes. The 16 rounds are written
/// out so that P-array offsets are constants and no loop counter competes for registers.
#[inline(always)]
fn encrypt<const K: usize>(st: [&State; K], l: &mut [u32; K], r: &mut [u32; K]) {
  macro_rules! round {
    ($x:ident, $y:ident, $i:expr) => {
      for k in 0..K {
        let yp = $y[k] ^ st[k].p[$i];
        // See `opaque` for why only up to 4 lanes.
        $y[k] = if K <= 4 { opaque(yp) } else { yp } ^ f(&st[k].s, $x[k]);
      }
    };
  }
  for k in 0..K {
    l[k] ^= st[k].p[0];
  }
  round!(l, r, 1);
  round!(r, l, 2);
  round!(l, r, 3);
  round!(r, l, 4);
  round!(l, r, 5);
  round!(r, l, 6);
  round!(l, r, 7);
  round!(r, l, 8);
  round!(l, r, 9);
  round!(r, l, 10);
  round!(l, r, 11);
  round!(r, l, 12);
  round!(l, r, 13);
  round!(r, l, 14);
  round!(l, r, 15);
  round!(r, l, 16);
  for k in 0..K {
    let t = l[k];
    l[k] = r[k] ^ st[k].p[17];
    r[k] = t;
  }
}

/// The next block of ExpandKey's chain: the previous block XOR this block's salt words, encrypted.
/// The salt is read as a stream of word pairs (0,1), (2,3), (0,1), …, so block n uses pair n % 2.
#[inline(always)]
fn next_block<const K: usize>(
  lanes: &[Lane; K],
  salt: &[[u32; 4]; K],
  block: usize,
  l: &mut [u32; K],
  r: &mut [u32; K],
) {
  let half = (block & 1) * 2;
  for k in 0..K {
    l[k] ^= salt[k][half];
    r[k] ^= salt[k][half + 1];
  }
  encrypt::<K>(lanes.each_ref().map(|lane| &lane.state), l, r);
}

#[inline(always)]
fn step_lanes<const K: usize>(lanes: &mut [Lane; K]) {
  let mut key = [[0u32; 18]; K];
  let mut salt = [[0u32; 4]; K];
  for k in 0..K {
    let lane = &lanes[k];
    debug_assert!(!lane.is_done());
    key[k] = if lane.step.is_multiple_of(2) && lane.step != 0 {
      lane.salt_key
    } else {
      lane.key
    };
    if lane.step == 0 {
      salt[k] = lane.salt;
    }
  }

  for k in 0..K {
    for (p, w) in lanes[k].state.p.iter_mut().zip(key[k]) {
      *p ^= w;
    }
  }

  let (mut l, mut r) = ([0u32; K], [0u32; K]);
  let mut block = 0usize;
  for i in (0..18).step_by(2) {
    next_block(lanes, &salt, block, &mut l, &mut r);
    for k in 0..K {
      lanes[k].state.p[i] = l[k];
      lanes[k].state.p[i + 1] = r[k];
    }
    block += 1;
  }
  for b in 0..4 {
    for j in (0..256).step_by(2) {
      next_block(lanes, &salt, block, &mut l, &mut r);
      for k in 0..K {
        lanes[k].state.s[b][j] = l[k];
        lanes[k].state.s[b][j + 1] = r[k];
      }
      block += 1;
    }
  }

  for lane in lanes.iter_mut() {
    lane.step += 1;
  }
  key.zeroize();
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
    let mut lane = Lane::new(&input);
    step(std::array::from_mut(&mut lane));
    let (mut l, mut r) = ([0u32], [0u32]);
    encrypt::<1>([&lane.state], &mut l, &mut r);
    assert_eq!((l[0], r[0]), (0x4ef9_9745, 0x6198_dd78));
  }
}
