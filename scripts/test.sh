#!/usr/bin/env bash
# Runs everything CI checks: formatting, lints, and the whole test suite (unit,
# simulation and end-to-end tests against the real server binary).
# Usage: scripts/test.sh   (from anywhere; needs a Rust toolchain; PostgreSQL, Xvfb with
# software Vulkan and a wasm32 toolchain are started or installed when missing)
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
echo "== Xvfb and software Vulkan for the client's end-to-end test"
scripts/ensure-client-deps.sh
echo "== cargo test"
cargo test --workspace --locked
echo "== the client type-checks for the browser (wasm32)"
scripts/check-wasm.sh
