//! One key-schedule step over K lanes, written once; what differs between variants is how a block
//! is encrypted (`Rounds`): the Rust rounds below, or the assembly ones (`x86`, `aarch64`).
//!
//! The unsalted steps (all but the first of a hash) XOR no salt into the chain; the salted step,
//! once a hash, keeps the salt words. The S-box loop encrypts two blocks per iteration, so the
//! swap of L and R at the end of a block lands back in the same registers and costs no move.

use super::{Lane, State};

/// How a variant Blowfish-encrypts one block per lane.
pub(super) trait Rounds {
  fn encrypt<const K: usize>(lanes: &[Lane; K], l: &mut [u32; K], r: &mut [u32; K]);
}

/// Plain Rust for every target, as LLVM schedules it: interleaving the lanes' loads freely, which
/// from 4 lanes up spills lane state to the stack (release build of this code, per S-box loop
/// iteration of two blocks: x86_64 355 stack references at 6 lanes, aarch64 162 at 4), hence `x86`
/// and `aarch64`.
pub(super) struct Portable;

impl Rounds for Portable {
  #[inline(always)]
  fn encrypt<const K: usize>(lanes: &[Lane; K], l: &mut [u32; K], r: &mut [u32; K]) {
    encrypt::<K>(lanes.each_ref().map(|lane| &lane.state), l, r);
  }
}

/// Returns `x` unchanged, in a way the optimiser cannot look through. Without it LLVM reassociates
/// `(y ^ P[i]) ^ F(x)` into `(F(x) ^ P[i]) ^ y`, which puts two XORs instead of one after F on the
/// round's critical path: 1 of ~12 cycles a round. Measured with bench/lanes.rs: one lane's time
/// against the `bcrypt` crate's went from 0.93 to 0.87, and 4 lanes' batch from 89 to 81 ms. With
/// 5 and 6 lanes, which are bound by instruction throughput rather than latency, the pinned order
/// cost registers instead (6 lanes: 113 ms without, 130 ms with), so they go without. Other targets
/// than x86/aarch64 get a plain identity.
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
#[inline(always)]
fn opaque(mut x: u32) -> u32 {
  // SAFETY: an empty template: no instruction, no memory, no flags; only the register's value
  // passes through, unknown to the optimiser. The template names the 32-bit view of the register.
  #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
  unsafe {
    core::arch::asm!("/* {0:e} */", inout(reg) x, options(pure, nomem, nostack, preserves_flags))
  };
  // SAFETY: as above (`w` is aarch64's 32-bit view).
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

/// Blowfish-encrypts one block per lane in Rust, rounds interleaved across lanes. The 16 rounds are
/// written out so that P-array offsets are constants and no loop counter competes for registers.
#[inline(always)]
pub(super) fn encrypt<const K: usize>(st: [&State; K], l: &mut [u32; K], r: &mut [u32; K]) {
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

/// Advances each lane by one key-schedule step, `ExpandKey(state, salt, key)`: the key XORed into
/// P, then the chain of encryptions that overwrites P and the S-boxes. Lanes must not be done.
#[inline(always)]
pub(super) fn step_lanes<const K: usize, X: Rounds>(lanes: &mut [Lane; K]) {
  for lane in lanes.iter_mut() {
    debug_assert!(!lane.is_done());
    // Step 0 is the salted expansion with the key; then odd steps use the key, even ones the salt.
    let key = if lane.step.is_multiple_of(2) && lane.step != 0 {
      &lane.salt_key
    } else {
      &lane.key
    };
    for (p, w) in lane.state.p.iter_mut().zip(key) {
      *p ^= w;
    }
  }
  if lanes.iter().any(|lane| lane.step == 0) {
    expand::<K, X, true>(lanes);
  } else {
    expand::<K, X, false>(lanes);
  }
  for lane in lanes.iter_mut() {
    lane.step += 1;
  }
}

/// The chain of ExpandKey: each block is the previous one XOR the salt's next word pair (pairs
/// (0,1), (2,3), (0,1), …, so block n uses pair n % 2), encrypted, and written over P then S.
/// `SALTED`: some lane is at its first step (the others XOR zeros); otherwise no salt at all.
#[inline(always)]
fn expand<const K: usize, X: Rounds, const SALTED: bool>(lanes: &mut [Lane; K]) {
  let salt: [[u32; 4]; K] = if SALTED {
    lanes
      .each_ref()
      .map(|lane| if lane.step == 0 { lane.salt } else { [0; 4] })
  } else {
    [[0; 4]; K]
  };
  let (mut l, mut r) = ([0u32; K], [0u32; K]);
  for i in 0..9 {
    block::<K, X, SALTED>(lanes, &salt, i % 2, &mut l, &mut r);
    for k in 0..K {
      lanes[k].state.p[2 * i] = l[k];
      lanes[k].state.p[2 * i + 1] = r[k];
    }
  }
  // The S-boxes as one run of 1024 words, 512 blocks from block 9: odd blocks take pair 1. The
  // loop's counter stays in memory, read where a store needs it (`black_box`): at 6 lanes x86_64's
  // rounds take all 15 registers (`x86`), and a counter held in one would push a lane's L or R out
  // to the stack, read and written every round, instead of this one load per block.
  let mut q = 0usize;
  let at = |q: &usize| (4 * *std::hint::black_box(q)) % 1024;
  while q < 256 {
    block::<K, X, SALTED>(lanes, &salt, 1, &mut l, &mut r);
    let j = at(&q);
    for k in 0..K {
      let s = lanes[k].state.s.as_flattened_mut();
      s[j] = l[k];
      s[j + 1] = r[k];
    }
    block::<K, X, SALTED>(lanes, &salt, 0, &mut l, &mut r);
    let j = at(&q);
    for k in 0..K {
      let s = lanes[k].state.s.as_flattened_mut();
      s[j + 2] = l[k];
      s[j + 3] = r[k];
    }
    q = at(&q) / 4 + 1;
  }
}

/// One block of the chain: the salt's word pair `pair` XORed in if `SALTED`, then encrypted.
#[inline(always)]
fn block<const K: usize, X: Rounds, const SALTED: bool>(
  lanes: &[Lane; K],
  salt: &[[u32; 4]; K],
  pair: usize,
  l: &mut [u32; K],
  r: &mut [u32; K],
) {
  if SALTED {
    for k in 0..K {
      l[k] ^= salt[k][pair * 2];
      r[k] ^= salt[k][pair * 2 + 1];
    }
  }
  X::encrypt::<K>(lanes, l, r);
}
