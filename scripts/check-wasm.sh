#!/usr/bin/env bash
# Type-checks the client for the browser (wasm32-unknown-unknown) so the web build
# stays buildable. Uses rustup's wasm32 target when it is installed; otherwise
# Debian's rustc-web toolchain, which builds the wasm32 standard library itself
# (installed with apt-get when missing).
# Usage: scripts/check-wasm.sh [extra cargo check arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "check-wasm: $*" >&2; }
TARGET=wasm32-unknown-unknown

# Our crates' warnings fail the check, as clippy's -D warnings does natively
# (dependencies' lints are capped by cargo and never show).
deny_warnings() {
    local log
    log="$(mktemp)"
    "$@" 2>&1 | tee "$log"
    local status="${PIPESTATUS[0]}"
    if [ "$status" -eq 0 ] && grep -q '^warning' "$log"; then
        log "warnings in the wasm32 build"
        status=1
    fi
    rm -f "$log"
    return "$status"
}

if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    deny_warnings cargo check --locked --profile wasm-check --target "$TARGET" -p galaxy_client "$@"
    exit
fi

if [ ! -x /usr/bin/cargo ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
    log "no wasm32 target in rustup ('rustup target add $TARGET' adds one); using Debian's rustc-web"
    scripts/apt-install.sh rustc-web cargo-web rust-web-src lld
fi

log "using $(/usr/bin/rustc --version) with -Zbuild-std"
export RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld
deny_warnings /usr/bin/cargo check --locked --profile wasm-check -Zbuild-std=std,panic_abort \
    --target "$TARGET" -p galaxy_client "$@"
