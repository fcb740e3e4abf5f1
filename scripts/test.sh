#!/usr/bin/env bash
# The whole test suite: format, lints, unit and integration tests of every crate, bounded fuzz runs
# and the Helm chart checks. Needs PostgreSQL (MONO_TEST_DATABASE_URL), cargo-fuzz, and the chart
# tools that charts/lint.sh names; `.ci/run` installs and starts them.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
echo "== fuzz (bounded)"
scripts/fuzz-smoke.sh
echo "== helm chart"
charts/lint.sh
