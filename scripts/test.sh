#!/usr/bin/env bash
# The whole test suite: format, lints, unit and integration tests of every crate (SQLite and
# PostgreSQL, the interop tests with an independent Antelope library from npm), bounded fuzz runs
# and the Helm chart checks. On a Debian machine that has only the Rust toolchain it first
# installs and starts what the suite needs (scripts/install-test-deps.sh says what); `.ci/run`
# runs exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing and starting what the tests need"
# shellcheck source=scripts/install-test-deps.sh
source scripts/install-test-deps.sh

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
