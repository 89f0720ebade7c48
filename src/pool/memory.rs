//! The default memory budget for tasks: a quarter of what the process may use, so that the pool's
//! argon2 and scrypt jobs leave the rest to the application and its neighbours.
//!
//! What the process may use is the lower of the cgroup's limit (containers: v2's `memory.max`, or
//! v1's `memory.limit_in_bytes`) and the machine's RAM; where neither can be read (Windows, WASI),
//! `UNKNOWN_MEMORY`.

/// Share of the usable memory the pool's tasks may hold together by default.
const SHARE: usize = 4;

/// What the default assumes when the platform says nothing: a small machine's RAM.
const UNKNOWN_MEMORY: usize = 2 << 30;

/// A quarter of the usable memory, and never less than `floor` (what one default job needs), so
/// that the defaults always run.
pub fn default_budget(floor: usize) -> usize {
  let usable = match (cgroup_limit(), physical_memory()) {
    (Some(cgroup), Some(ram)) => cgroup.min(ram),
    (limit, ram) => limit.or(ram).unwrap_or(UNKNOWN_MEMORY),
  };
  (usable / SHARE).max(floor)
}

/// The cgroup's memory limit, if this process runs under one that sets it.
fn cgroup_limit() -> Option<usize> {
  [
    "/sys/fs/cgroup/memory.max",
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
  ]
  .iter()
  .find_map(|path| parse_limit(&std::fs::read_to_string(path).ok()?))
}

/// A limit file's content: bytes, or `max` (v2) or a page-rounded `i64::MAX` (v1) for none.
fn parse_limit(text: &str) -> Option<usize> {
  let bytes: u64 = text.trim().parse().ok()?;
  (bytes < 1 << 62).then(|| usize::try_from(bytes).unwrap_or(usize::MAX))
}

#[cfg(unix)]
fn physical_memory() -> Option<usize> {
  // SAFETY: sysconf reads a constant of the system; no memory is passed.
  let (pages, size) = unsafe {
    (
      libc::sysconf(libc::_SC_PHYS_PAGES),
      libc::sysconf(libc::_SC_PAGESIZE),
    )
  };
  let (pages, size) = (usize::try_from(pages).ok()?, usize::try_from(size).ok()?);
  Some(pages.saturating_mul(size))
}

#[cfg(not(unix))]
fn physical_memory() -> Option<usize> {
  None
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn limit_files_are_read_as_bytes_or_none() {
    assert_eq!(parse_limit("536870912\n"), Some(512 << 20));
    assert_eq!(parse_limit("max\n"), None);
    assert_eq!(parse_limit("9223372036854771712\n"), None);
    assert_eq!(parse_limit(""), None);
  }

  #[test]
  fn the_default_is_a_share_never_below_the_floor() {
    let budget = default_budget(0);
    assert!(budget > 0);
    assert_eq!(default_budget(usize::MAX), usize::MAX);
    if let Some(ram) = physical_memory() {
      assert!(budget <= ram / SHARE);
    }
  }
}
