//! The OS scheduling class of the pool's threads.

/// The OS scheduling class of the pool's threads (see `lower_priority`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
  /// SCHED_IDLE on Linux: the event loop and libuv's threads always come first. The default.
  Idle,
  /// The process's own priority, for machines where other CPU-bound work would starve the pool.
  Normal,
}

/// Puts this pool thread in SCHED_IDLE, so that whenever the event loop or one of libuv's threads
/// wakes, the kernel hands it a core at once instead of letting it wait out a pool thread's slice.
/// Measured with 32 hashes in flight at cost 10 on 2 cores (fs.readFile issued every 5 ms, p99):
/// normal priority 6.7–12 ms, nice 10 10–12 ms, nice 19 7.8–12 ms, SCHED_IDLE 3.0–5.6 ms.
/// The cost: a CPU-bound thread of normal priority elsewhere on the machine starves the pool, which
/// is the trade a server that must keep answering wants. On Linux the policy is per thread.
///
/// The raw syscall rather than libc's wrapper: musl's `sched_setscheduler()` does nothing but fail
/// with ENOSYS (POSIX wants it per process, Linux does it per thread), while glibc's is this same
/// syscall. `sched_param` is zeroed rather than built field by field because musl's has more fields
/// than `sched_priority`; the kernel reads only that one, and SCHED_IDLE wants it 0.
#[cfg(target_os = "linux")]
pub(super) fn lower_priority() {
  // SAFETY: sched_param is plain integers, for which all zeroes is a valid value.
  let param: libc::sched_param = unsafe { std::mem::zeroed() };
  // SAFETY: a plain syscall on this thread's own id with a valid parameter. If it fails (a seccomp
  // filter, say) the thread simply keeps the process's policy.
  unsafe {
    libc::syscall(
      libc::SYS_sched_setscheduler,
      libc::gettid(),
      libc::SCHED_IDLE,
      &param as *const libc::sched_param,
    );
  }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn lower_priority() {}
