#!/usr/bin/env bash
# Runs each fuzz target for a fixed time and sums up what happened; exits non-zero if any target
# found something (its input is kept under fuzz/artifacts/<target>/, its output in <target>.log).
# Not run in CI: minutes per target are the point, and exec/s on a shared runner mean little.
#
#   bash fuzz/run.sh [seconds-per-target]    (default 300)
set -uo pipefail

seconds=${1:-300}
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# cargo-fuzz passes -Z flags to rustc, which stable only accepts with this.
export RUSTC_BOOTSTRAP=1
# The kernel's asm! rounds read S-box words at one-byte indexes inside their lanes' tables; the rest
# is safe Rust. AddressSanitizer does not see inside asm!, so it finds nothing bounds checks would
# not, and it cuts hash_verify's executions by about 2.5x: off by default.
sanitizer=${SANITIZER:-none}

targets=(parse hash_verify)
declare -A options=(
  # A case with a full queue of jobs takes a few hundred bytes: at tens of runs a second, libFuzzer's
  # gradual growth of input length would spend the whole budget getting there.
  [hash_verify]="-max_len=1024 -len_control=0"
)

# Built up front so that compile time does not come out of the first target's budget.
cargo fuzz build -s "$sanitizer" || exit 2

found=0
report=()
for target in "${targets[@]}"; do
  mkdir -p "fuzz/artifacts/$target"
  log=fuzz/artifacts/$target.log
  echo "== $target: ${seconds}s"
  # A single run over 10 s is a hang at these costs, not a slow input.
  # shellcheck disable=SC2086 # options are deliberately word-split
  cargo fuzz run -s "$sanitizer" "$target" -- -max_total_time="$seconds" -timeout=10 \
    -print_final_stats=1 ${options[$target]:-} >"$log" 2>&1
  status=$?

  # libFuzzer prints its final stats on a crash too; without them it never ran.
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if [[ -z $runs ]]; then
    outcome="did not run (exit $status), see $log"
    found=1
  elif ((status != 0)); then
    outcome="FOUND: $(grep -m1 -oP 'Test unit written to \K\S+' "$log"), see $log"
    grep -m1 -A3 'panicked at' "$log" || grep -m1 'ERROR: libFuzzer' "$log"
    found=1
  else
    outcome="nothing found"
  fi
  report+=("$(printf '%-12s %10s runs %8s exec/s  %s' "$target" "$runs" "$rate" "$outcome")")
done

echo
printf '%s\n' "${report[@]}"
exit "$found"
