//! The default memory budget for tasks: a quarter of what the process may use, so that the pool's
//! argon2 and scrypt jobs leave the rest to the application and its neighbours.
//!
//! What the process may use is the lower of the cgroup's limit (v2's `memory.max` on the process's
//! own group and its ancestors, or v1's `memory.limit_in_bytes`) and the machine's RAM; where neither can be read (Windows, WASI),
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

/// The cgroup's memory limit, if this process runs under one that sets it. With a cgroup namespace
/// (a container) the process's own group is mounted at `/sys/fs/cgroup`; without one (systemd's
/// `MemoryMax=`, docker `--cgroupns=host`) that is the host's root and the limit sits at the
/// process's own path, or on one of its ancestors: the lowest limit on the way up is the one that
/// holds.
fn cgroup_limit() -> Option<usize> {
  let read = |path: &str| parse_limit(&std::fs::read_to_string(path).ok()?);
  let groups = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
  let mut limits: Vec<usize> = Vec::new();
  for dir in v2_path(&groups).into_iter().flat_map(ancestors) {
    limits.extend(read(&format!("/sys/fs/cgroup{dir}/memory.max")));
  }
  for dir in v1_memory_path(&groups).into_iter().flat_map(ancestors) {
    limits.extend(read(&format!("/sys/fs/cgroup/memory{dir}/memory.limit_in_bytes")));
  }
  limits.extend(read("/sys/fs/cgroup/memory.max"));
  limits.extend(read("/sys/fs/cgroup/memory/memory.limit_in_bytes"));
  limits.into_iter().min()
}

/// The process's cgroup v2 path from `/proc/self/cgroup` (its `0::<path>` line).
fn v2_path(proc_self_cgroup: &str) -> Option<&str> {
  proc_self_cgroup
    .lines()
    .find_map(|line| line.strip_prefix("0::"))
    .filter(|path| path.starts_with('/'))
}

/// The process's cgroup v1 memory controller path (its `<n>:…memory…:<path>` line).
fn v1_memory_path(proc_self_cgroup: &str) -> Option<&str> {
  proc_self_cgroup.lines().find_map(|line| {
    let mut fields = line.splitn(3, ':');
    let (_, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
    (controllers.split(',').any(|c| c == "memory") && path.starts_with('/')).then_some(path)
  })
}

/// `/a/b/c`, `/a/b`, `/a` (the root itself is read as `/sys/fs/cgroup/memory.max`).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
  let path = path.trim_end_matches('/');
  std::iter::successors((!path.is_empty()).then_some(path), |p| {
    p.rfind('/').map(|i| &p[..i]).filter(|p| !p.is_empty())
  })
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
  fn the_cgroup_path_and_its_ancestors() {
    let text = "12:memory:/ignored\n0::/system.slice/app.service\n";
    assert_eq!(v2_path(text), Some("/system.slice/app.service"));
    assert_eq!(v2_path("0::/\n"), Some("/"));
    assert_eq!(v2_path("3:cpu:/x\n"), None);
    assert_eq!(v1_memory_path(text), Some("/ignored"));
    assert_eq!(v1_memory_path("4:cpu,memory:/a/b\n0::/\n"), Some("/a/b"));
    assert_eq!(v1_memory_path("0::/x\n"), None);
    let up: Vec<_> = ancestors("/system.slice/app.service").collect();
    assert_eq!(up, ["/system.slice/app.service", "/system.slice"]);
    assert_eq!(ancestors("/").count(), 0);
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
