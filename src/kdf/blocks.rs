//! The memory of one argon2 job, mapped from the OS for the job and given back when it ends.
//!
//! Not from the allocator: argon2's blocks are 64-byte aligned, and glibc serves large aligned
//! requests from its heaps, where the freed memory stays in the process: measured here, 50 jobs of
//! 19 MiB one after another left the process at 1 GB of RSS (161 MB in a plain Rust loop), where
//! the pool's budget says 19 MiB. A mapping is unmapped at the end of its job, so the resident
//! memory follows what the budget counts. Its pages arrive zeroed, and are zeroed by the OS before
//! anyone else sees them again. Where there is no `mmap` (Windows, WASI), a zeroed `Vec`, wiped when
//! it drops.

use ::argon2::Block;

pub struct Blocks {
  #[cfg(unix)]
  map: std::ptr::NonNull<Block>,
  #[cfg(not(unix))]
  vec: Vec<Block>,
  len: usize,
}

/// On Linux the whole mapping is faulted in when it is made, in one call, rather than a page at a
/// time as argon2 first touches it: 15.3 ms a hash at m=19456, t=2 instead of 17.8 (thread CPU
/// time, this machine; a reused heap buffer takes 13.6).
#[cfg(target_os = "linux")]
const POPULATE: libc::c_int = libc::MAP_POPULATE;
#[cfg(all(unix, not(target_os = "linux")))]
const POPULATE: libc::c_int = 0;

#[cfg(unix)]
impl Blocks {
  /// `len` blocks, zeroed. Panics if the OS refuses the mapping: the pool reports it as the job's
  /// failure, and the process goes on.
  pub fn new(len: usize) -> Blocks {
    let bytes = len
      .max(1)
      .checked_mul(std::mem::size_of::<Block>())
      .expect("a job's size fits usize");
    // SAFETY: a fresh anonymous private mapping; no memory of ours is passed.
    let map = unsafe {
      libc::mmap(
        std::ptr::null_mut(),
        bytes,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | POPULATE,
        -1,
        0,
      )
    };
    assert!(
      map != libc::MAP_FAILED,
      "the OS refused {bytes} bytes for an argon2 job"
    );
    Blocks {
      map: std::ptr::NonNull::new(map.cast()).expect("mmap never maps at 0"),
      len,
    }
  }
}

#[cfg(unix)]
impl AsMut<[Block]> for Blocks {
  fn as_mut(&mut self) -> &mut [Block] {
    // SAFETY: the mapping holds `len` blocks (page-aligned, so 64-byte aligned), readable and
    // writable, zero-filled (a valid `Block` is any bytes), and only this value points to it.
    unsafe { std::slice::from_raw_parts_mut(self.map.as_ptr(), self.len) }
  }
}

#[cfg(unix)]
impl Drop for Blocks {
  fn drop(&mut self) {
    let bytes = self.len.max(1) * std::mem::size_of::<Block>();
    // SAFETY: the mapping made in `new`, of that size, unmapped once; nothing borrows it now.
    unsafe { libc::munmap(self.map.as_ptr().cast(), bytes) };
  }
}

#[cfg(not(unix))]
impl Blocks {
  pub fn new(len: usize) -> Blocks {
    Blocks {
      vec: vec![Block::default(); len],
      len,
    }
  }
}

#[cfg(not(unix))]
impl AsMut<[Block]> for Blocks {
  fn as_mut(&mut self) -> &mut [Block] {
    &mut self.vec[..self.len]
  }
}

#[cfg(not(unix))]
impl Drop for Blocks {
  fn drop(&mut self) {
    self.vec.iter_mut().for_each(zeroize::Zeroize::zeroize);
  }
}
