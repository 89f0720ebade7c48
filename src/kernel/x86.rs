//! x86_64's rounds, in assembly: every lane's round is one `asm!` block, so that the registers the
//! loop needs are exactly these, at every lane count up to `MAX_LANES` (6): each lane's L and R (12
//! at 6 lanes), one base register for every lane's tables (the lanes sit side by side in one array,
//! so lane k's S-box b is at a constant displacement from the first lane: one base+index+displacement
//! address) and two temporaries: 15, the general registers x86_64 has besides the stack pointer. The
//! S-box loop's counter lives in memory (`schedule::expand`), and `bextr`'s control word takes a
//! register only up to 5 lanes (at 6, `rorx` + `movzx` instead). Checked in the release build's
//! assembly: no stack reference in the S-box loop but the counter's, at every width.
//!
//! Why assembly rather than Rust. Left to LLVM, the same rounds interleave the lanes' loads and
//! spill lane state from 4 lanes up (issue #23's llvm-mca on the earlier kernel: 22 stores per block
//! at 4 lanes, 91 at 6). Rust with `_bextr2_u32` and an empty `asm!` barrier between lanes' rounds
//! did not stop it: LLVM's scheduler still moved the lanes' shifts across, and the constant control
//! word was rematerialised before every use and the result zero-extended again (230 stack
//! references per S-box loop iteration at 5 lanes, 17 instructions a round at one). LLVM never emits
//! `bextr`, `rorx` or `shrx` on its own, even with BMI enabled. Measured against the earlier kernel
//! (interleaved, thread CPU time; bench/results/lanes.md): 1.07-1.08x the work per cycle at 5 and
//! 6 lanes, alike from 2 to 4.
//!
//! One lane runs the Rust rounds in both variants: it is bound by the latency of a round, not by
//! registers, and there LLVM's schedule measured 2-3% faster than the assembly (0.956x of the earlier
//! kernel with the assembly, 0.97-0.99x with the Rust rounds; bench/results/lanes.md).
//!
//! Two variants: `Bmi` takes bits 16..24 out with BMI1's `bextr` (one instruction, control word in
//! a register; up to 5 lanes) and bits 8..16 with BMI2's `rorx` + `movzx` (no copy of the word);
//! `Plain` uses copy, shift, zero-extend for both. On the Xeon (Sapphire Rapids class) this was
//! measured on, the two run alike (Intel's `bextr` is two micro-ops); the Zen 4 figures
//! favoured `bextr` (one micro-op there). The binaries stay baseline x86-64: `Bmi` is compiled into a
//! `#[target_feature(enable = "bmi1,bmi2")]` function and chosen at run time where the CPU has both.

use core::arch::asm;
use core::mem::{offset_of, size_of};

use super::schedule::{self, Portable, Rounds};
use super::{Lane, State};

/// Where lane `k`'s S-box `b` starts, from the first lane.
const fn sbox(k: usize, b: usize) -> usize {
  k * size_of::<Lane>() + offset_of!(Lane, state) + offset_of!(State, s) + b * 1024
}

/// Where lane `k`'s P-array word `i` is, from the first lane.
const fn parray(k: usize, i: usize) -> usize {
  k * size_of::<Lane>() + offset_of!(Lane, state) + offset_of!(State, p) + i * 4
}

/// `bextr`'s control word for bits 16..24: bits 7..0 the start, bits 15..8 the length.
const BITS_16_TO_24: u32 = 8 << 8 | 16;

/// Expands `$m!(k, …)` for each lane k below `$n`, k a literal (the assembly's displacements are
/// constants). Lanes past the count are dead branches, removed at compile time.
macro_rules! each_lane {
  ($n:ident, $m:ident!($($args:tt)*)) => {
    $m!(0, $($args)*);
    if 1 < $n { $m!(1, $($args)*); }
    if 2 < $n { $m!(2, $($args)*); }
    if 3 < $n { $m!(3, $($args)*); }
    if 4 < $n { $m!(4, $($args)*); }
    if 5 < $n { $m!(5, $($args)*); }
  };
}

/// One round of one lane: `y ^= P[i] ^ F(x)`, P XORed in first so that one XOR follows F on the
/// round's critical path. `$bytes` names the form (`bmi` or `plain`).
macro_rules! round {
  ($k:literal, bmi, $base:ident, $ctl:ident, $x:expr, $y:expr, $i:literal) => {
    // SAFETY: reads 4 bytes at lane $k's P[$i] and S-box words indexed by one byte each, all
    // inside the `[Lane; K]` that `$base` points to ($k < K: `each_lane`); writes only the named
    // registers. `bextr`/`rorx` need BMI1/BMI2: only compiled into `step_bmi`, which has them.
    unsafe {
      asm!(
        "xor {y:e}, dword ptr [{base} + {p}]",
        "mov {t:e}, {x:e}",
        "shr {t:e}, 24",
        "mov {a:e}, dword ptr [{base} + 4*{t} + {s0}]",
        "bextr {t:e}, {x:e}, {ctl:e}",
        "add {a:e}, dword ptr [{base} + 4*{t} + {s1}]",
        "rorx {t:e}, {x:e}, 8",
        "movzx {t:e}, {t:l}",
        "xor {a:e}, dword ptr [{base} + 4*{t} + {s2}]",
        "movzx {t:e}, {x:l}",
        "add {a:e}, dword ptr [{base} + 4*{t} + {s3}]",
        "xor {y:e}, {a:e}",
        y = inout(reg) $y,
        x = in(reg) $x,
        base = in(reg) $base,
        ctl = in(reg) $ctl,
        t = out(reg) _,
        a = out(reg) _,
        p = const parray($k, $i),
        s0 = const sbox($k, 0),
        s1 = const sbox($k, 1),
        s2 = const sbox($k, 2),
        s3 = const sbox($k, 3),
        options(pure, readonly, nostack),
      )
    }
  };
  ($k:literal, rorx, $base:ident, $ctl:ident, $x:expr, $y:expr, $i:literal) => {
    // SAFETY: as for `bmi`, with BMI2's `rorx` only: no control register, for 6 lanes.
    unsafe {
      asm!(
        "xor {y:e}, dword ptr [{base} + {p}]",
        "mov {t:e}, {x:e}",
        "shr {t:e}, 24",
        "mov {a:e}, dword ptr [{base} + 4*{t} + {s0}]",
        "rorx {t:e}, {x:e}, 16",
        "movzx {t:e}, {t:l}",
        "add {a:e}, dword ptr [{base} + 4*{t} + {s1}]",
        "rorx {t:e}, {x:e}, 8",
        "movzx {t:e}, {t:l}",
        "xor {a:e}, dword ptr [{base} + 4*{t} + {s2}]",
        "movzx {t:e}, {x:l}",
        "add {a:e}, dword ptr [{base} + 4*{t} + {s3}]",
        "xor {y:e}, {a:e}",
        y = inout(reg) $y,
        x = in(reg) $x,
        base = in(reg) $base,
        t = out(reg) _,
        a = out(reg) _,
        p = const parray($k, $i),
        s0 = const sbox($k, 0),
        s1 = const sbox($k, 1),
        s2 = const sbox($k, 2),
        s3 = const sbox($k, 3),
        options(pure, readonly, nostack),
      )
    }
    let _ = $ctl;
  };
  ($k:literal, plain, $base:ident, $ctl:ident, $x:expr, $y:expr, $i:literal) => {
    // SAFETY: as for `bmi`, with baseline instructions only.
    unsafe {
      asm!(
        "xor {y:e}, dword ptr [{base} + {p}]",
        "mov {t:e}, {x:e}",
        "shr {t:e}, 24",
        "mov {a:e}, dword ptr [{base} + 4*{t} + {s0}]",
        "mov {t:e}, {x:e}",
        "shr {t:e}, 16",
        "movzx {t:e}, {t:l}",
        "add {a:e}, dword ptr [{base} + 4*{t} + {s1}]",
        "mov {t:e}, {x:e}",
        "shr {t:e}, 8",
        "movzx {t:e}, {t:l}",
        "xor {a:e}, dword ptr [{base} + 4*{t} + {s2}]",
        "movzx {t:e}, {x:l}",
        "add {a:e}, dword ptr [{base} + 4*{t} + {s3}]",
        "xor {y:e}, {a:e}",
        y = inout(reg) $y,
        x = in(reg) $x,
        base = in(reg) $base,
        t = out(reg) _,
        a = out(reg) _,
        p = const parray($k, $i),
        s0 = const sbox($k, 0),
        s1 = const sbox($k, 1),
        s2 = const sbox($k, 2),
        s3 = const sbox($k, 3),
        options(pure, readonly, nostack),
      )
    }
    let _ = $ctl;
  };
}

/// The 16 rounds for every lane, lanes one after another within a round.
macro_rules! encrypt {
  ($bytes:ident, $K:ident, $lanes:ident, $ctl:ident, $l:ident, $r:ident) => {{
    let base = $lanes.as_ptr();
    for k in 0..$K {
      $l[k] ^= $lanes[k].state.p[0];
    }
    macro_rules! lane_round {
      ($k:literal, $x:ident, $y:ident, $i:literal) => {
        round!($k, $bytes, base, $ctl, $x[$k], $y[$k], $i)
      };
    }
    each_lane!($K, lane_round!($l, $r, 1));
    each_lane!($K, lane_round!($r, $l, 2));
    each_lane!($K, lane_round!($l, $r, 3));
    each_lane!($K, lane_round!($r, $l, 4));
    each_lane!($K, lane_round!($l, $r, 5));
    each_lane!($K, lane_round!($r, $l, 6));
    each_lane!($K, lane_round!($l, $r, 7));
    each_lane!($K, lane_round!($r, $l, 8));
    each_lane!($K, lane_round!($l, $r, 9));
    each_lane!($K, lane_round!($r, $l, 10));
    each_lane!($K, lane_round!($l, $r, 11));
    each_lane!($K, lane_round!($r, $l, 12));
    each_lane!($K, lane_round!($l, $r, 13));
    each_lane!($K, lane_round!($r, $l, 14));
    each_lane!($K, lane_round!($l, $r, 15));
    each_lane!($K, lane_round!($r, $l, 16));
    for k in 0..$K {
      let t = $l[k];
      $l[k] = $r[k] ^ $lanes[k].state.p[17];
      $r[k] = t;
    }
  }};
}

/// Copy, shift, zero-extend: any x86_64.
pub(super) struct Plain;

impl Rounds for Plain {
  #[inline(always)]
  fn encrypt<const K: usize>(lanes: &[Lane; K], l: &mut [u32; K], r: &mut [u32; K]) {
    if K == 1 {
      return Portable::encrypt(lanes, l, r);
    }
    let ctl = ();
    encrypt!(plain, K, lanes, ctl, l, r);
  }
}

/// `bextr` and `rorx`: only inside `step_bmi`.
pub(super) struct Bmi;

impl Rounds for Bmi {
  #[inline(always)]
  fn encrypt<const K: usize>(lanes: &[Lane; K], l: &mut [u32; K], r: &mut [u32; K]) {
    if K == 1 {
      return Portable::encrypt(lanes, l, r);
    }
    let ctl = BITS_16_TO_24;
    if K <= 5 {
      encrypt!(bmi, K, lanes, ctl, l, r);
    } else {
      encrypt!(rorx, K, lanes, ctl, l, r);
    }
  }
}

/// Whether this CPU has BMI1 and BMI2 (std caches the answer after the first look).
pub(super) fn has_bmi() -> bool {
  std::arch::is_x86_feature_detected!("bmi1") && std::arch::is_x86_feature_detected!("bmi2")
}

/// `schedule::step_lanes` with `Bmi`'s rounds. Callers check `has_bmi()` first.
#[target_feature(enable = "bmi1,bmi2")]
pub(super) fn step_bmi<const K: usize>(lanes: &mut [Lane; K]) {
  schedule::step_lanes::<K, Bmi>(lanes);
}
