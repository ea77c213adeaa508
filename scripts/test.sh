#!/usr/bin/env bash
# Runs everything CI checks: formatting, lints, and the whole test suite (unit,
# simulation and end-to-end tests against the real server binary).
# Usage: scripts/test.sh   (from anywhere; needs a Rust toolchain, and PostgreSQL,
# which scripts/ensure-postgres.sh starts or installs when it is not running)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "scripts/test.sh: cargo not found; install Rust from https://rustup.rs" >&2
    exit 1
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== PostgreSQL for the end-to-end tests"
GALAXY_TEST_POSTGRES_URL="${GALAXY_TEST_POSTGRES_URL:-$(scripts/ensure-postgres.sh)}"
export GALAXY_TEST_POSTGRES_URL
echo "using $GALAXY_TEST_POSTGRES_URL"
echo "== cargo test"
cargo test --workspace --locked
