#!/usr/bin/env bash
# Runs everything CI checks: formatting, lints, and the whole test suite (unit,
# simulation and end-to-end tests against the real server binary).
# Usage: scripts/test.sh   (from anywhere; needs a Rust toolchain; PostgreSQL, Xvfb with
# software Vulkan, a wasm32 toolchain, Chromium and the npm packages are started or
# installed when missing)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
    echo "scripts/test.sh: cargo not found; install Rust from https://rustup.rs" >&2
    exit 1
fi

echo "== mold, a faster linker for the many test binaries (GNU ld when it cannot be had)"
command -v mold >/dev/null || scripts/apt-install.sh mold || true
if command -v mold >/dev/null; then
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-fuse-ld=mold"
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
echo "== Chromium and the npm packages for the browser test"
scripts/ensure-browser-deps.sh
echo "== the browser client (web-fast profile) for the browser test"
scripts/build-web.sh --fast
echo "== cargo test"
cargo test --workspace --locked
