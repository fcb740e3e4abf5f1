#!/usr/bin/env bash
# Bounded fuzz runs: every target in fuzz/ runs for FUZZ_SECONDS (default 20) starting from its
# committed seeds in fuzz/seeds/<target>/. A crash fails the run, prints the fuzzer's report and
# leaves the input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-20}"
# cargo-fuzz passes unstable compiler flags; the stable toolchain accepts them this way.
export RUSTC_BOOTSTRAP=1
logs=$(mktemp -d)
for target in $(cargo fuzz list); do
  corpus=$(mktemp -d)
  seeds=()
  if [ -d "seeds/$target" ]; then seeds=("seeds/$target"); fi
  cargo fuzz build --dev --sanitizer none "$target"
  if cargo fuzz run --dev --sanitizer none "$target" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 >"$logs/$target.log" 2>&1; then
    echo "fuzz $target: ${seconds}s, $(grep -c . "$corpus"/* 2>/dev/null | wc -l) corpus entries, no failure"
  else
    tail -n 60 "$logs/$target.log"
    echo "fuzz $target: FAILED (input kept in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  rm -rf "$corpus"
done
