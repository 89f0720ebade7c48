//! aarch64's rounds, in assembly: every lane's round is one `asm!` block. aarch64 has no
//! base+index+displacement address, so each lane keeps its four S-box bases in registers of their
//! own (P, just after the S-boxes, is read at an offset from the first); with the lane's L and R that is 6
//! registers a lane, plus two temporaries: 26 at 4 lanes, within the 29 the loop may use (x18 is
//! the platform's, x29 the frame pointer, sp). A 5th lane would need 32: `MAX_LANES` is 4 here.
//!
//! Why assembly: the same rounds in Rust took four temporaries a round and, with the lanes
//! interleaved or kept apart by a compiler barrier alike, spilled from 3 lanes up (release build:
//! 85 stack references per S-box loop iteration at 3 lanes, 206 at 4). llvm-mca on the earlier
//! kernel put Neoverse N1 at its best with 3 lanes and V1/V2 with 4; the tuner measures which.

use core::arch::asm;
use core::mem::offset_of;

use super::schedule::Rounds;
use super::{Lane, State};

/// P[i] from the start of S-box 0: P comes just after the S-boxes (`State` is `repr(C)`), within
/// the reach of a load's unsigned 12-bit scaled offset (16 KB for words).
const fn parray(i: usize) -> usize {
  let offset = offset_of!(State, p) - offset_of!(State, s) + 4 * i;
  assert!(offset < 16384);
  offset
}

/// One round of one lane: `y ^= P[i] ^ F(x)`, P XORed in first so that one XOR follows F on the
/// round's critical path.
macro_rules! round {
  ($s:expr, $x:expr, $y:expr, $i:literal) => {
    // SAFETY: reads lane's P[$i] and S-box words indexed by one byte each, all inside the `State`
    // the four bases point into; writes only the named registers.
    unsafe {
      asm!(
        "ldr {a:w}, [{s0}, #{p}]",
        "eor {y:w}, {y:w}, {a:w}",
        "lsr {t:w}, {x:w}, #24",
        "ldr {a:w}, [{s0}, {t:x}, lsl #2]",
        "ubfx {t:w}, {x:w}, #16, #8",
        "ldr {t:w}, [{s1}, {t:x}, lsl #2]",
        "add {a:w}, {a:w}, {t:w}",
        "ubfx {t:w}, {x:w}, #8, #8",
        "ldr {t:w}, [{s2}, {t:x}, lsl #2]",
        "eor {a:w}, {a:w}, {t:w}",
        "and {t:w}, {x:w}, #0xff",
        "ldr {t:w}, [{s3}, {t:x}, lsl #2]",
        "add {a:w}, {a:w}, {t:w}",
        "eor {y:w}, {y:w}, {a:w}",
        y = inout(reg) $y,
        x = in(reg) $x,
        s0 = in(reg) $s[0],
        s1 = in(reg) $s[1],
        s2 = in(reg) $s[2],
        s3 = in(reg) $s[3],
        t = out(reg) _,
        a = out(reg) _,
        p = const parray($i),
        options(pure, readonly, nostack, preserves_flags),
      )
    }
  };
}

/// The assembly rounds, each lane's S-box bases in registers.
pub(super) struct Bases;

impl Rounds for Bases {
  #[inline(always)]
  fn encrypt<const K: usize>(lanes: &[Lane; K], l: &mut [u32; K], r: &mut [u32; K]) {
    let bases: [[*const [u32; 256]; 4]; K] = lanes
      .each_ref()
      .map(|lane| lane.state.s.each_ref().map(|s| s as *const [u32; 256]));
    for k in 0..K {
      l[k] ^= lanes[k].state.p[0];
    }
    macro_rules! rounds {
      ($x:ident, $y:ident, $i:literal) => {
        for k in 0..K {
          round!(bases[k], $x[k], $y[k], $i);
        }
      };
    }
    rounds!(l, r, 1);
    rounds!(r, l, 2);
    rounds!(l, r, 3);
    rounds!(r, l, 4);
    rounds!(l, r, 5);
    rounds!(r, l, 6);
    rounds!(l, r, 7);
    rounds!(r, l, 8);
    rounds!(l, r, 9);
    rounds!(r, l, 10);
    rounds!(l, r, 11);
    rounds!(r, l, 12);
    rounds!(l, r, 13);
    rounds!(r, l, 14);
    rounds!(l, r, 15);
    rounds!(r, l, 16);
    for k in 0..K {
      let t = l[k];
      l[k] = r[k] ^ lanes[k].state.p[17];
      r[k] = t;
    }
  }
}
