#!/usr/bin/env bash
# Builds the browser client into dist/ (what galaxy-server serves at /): the client
# for wasm32-unknown-unknown, wasm-bindgen's JS glue, wasm-opt, content-hashed
# names, .gz and .br copies, index.html and the assets/ the game loads after start.
#
# Usage: scripts/build-web.sh [--fast] [--out DIR]
#   --fast   the web-fast profile (no LTO, no size optimisation; for CI and quick
#            tries) instead of web-release (the size-tuned download)
#   --out    where to write (default: dist)
#
# Toolchain: rustup's wasm32 target when it is installed; otherwise Debian's
# rustc-web, which builds the wasm32 standard library itself (installed with
# apt-get when missing). wasm-bindgen-cli at exactly the version in Cargo.lock is
# installed under $GALAXY_TOOLS (default ~/.cache/galaxy-tools) when not on PATH;
# wasm-opt comes from npm's binaryen in web/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "build-web: $*" >&2; }
TARGET=wasm32-unknown-unknown
PROFILE=web-release
OUT=dist
while [ $# -gt 0 ]; do
    case "$1" in
        --fast) PROFILE=web-fast ;;
        --out) OUT="$2"; shift ;;
        *) log "unknown argument $1 (usage: scripts/build-web.sh [--fast] [--out DIR])"; exit 2 ;;
    esac
    shift
done
TOOLS="${GALAXY_TOOLS:-$HOME/.cache/galaxy-tools}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
started=$SECONDS

# Our crates' warnings fail the build, as clippy's -D warnings does natively
# (dependencies' lints are capped by cargo and never show).
deny_warnings() {
    local output status
    output="$(mktemp)"
    "$@" 2>&1 | tee "$output" >&2
    status="${PIPESTATUS[0]}"
    if [ "$status" -eq 0 ] && grep -q '^warning' "$output"; then
        log "warnings in the wasm32 build"
        status=1
    fi
    rm -f "$output"
    return "$status"
}

log "cargo build --profile $PROFILE --target $TARGET"
if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    deny_warnings cargo build --locked --profile "$PROFILE" --target "$TARGET" -p galaxy_client
else
    if [ ! -x /usr/bin/cargo ] || [ ! -d /usr/lib/rustlib/src/rust/library ] || ! command -v wasm-ld >/dev/null; then
        log "no wasm32 target in rustup ('rustup target add $TARGET' adds one); using Debian's rustc-web"
        scripts/apt-install.sh rustc-web cargo-web rust-web-src lld
    fi
    log "using $(/usr/bin/rustc --version) with -Zbuild-std"
    RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld \
        deny_warnings /usr/bin/cargo build --locked --profile "$PROFILE" -Zbuild-std=std,panic_abort \
        --target "$TARGET" -p galaxy_client
fi
compiled=$SECONDS

# The JS glue and the wasm-bindgen runtime inside the module must match exactly.
version="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')"
bindgen="$(command -v wasm-bindgen || true)"
if [ -z "$bindgen" ] || [ "$("$bindgen" --version)" != "wasm-bindgen $version" ]; then
    bindgen="$TOOLS/bin/wasm-bindgen"
    if [ ! -x "$bindgen" ] || [ "$("$bindgen" --version)" != "wasm-bindgen $version" ]; then
        log "installing wasm-bindgen-cli $version into $TOOLS (a few minutes, once)"
        # No --locked: its lockfile pins a crate version some registries lack.
        cargo install wasm-bindgen-cli --version "$version" --root "$TOOLS"
    fi
fi
if [ ! -x web/node_modules/.bin/wasm-opt ]; then
    log "installing web/'s npm packages (binaryen's wasm-opt)"
    (cd web && npm ci --no-audit --no-fund >&2)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bindgen" --target web --no-typescript --out-dir "$work" --out-name galaxy \
    "$TARGET_DIR/$TARGET/$PROFILE/galaxy-client.wasm"
# Rust's wasm32 target enables these features by default; wasm-opt must accept them.
features=(--enable-bulk-memory --enable-multivalue --enable-mutable-globals
    --enable-nontrapping-float-to-int --enable-reference-types --enable-sign-ext)
if [ "$PROFILE" = web-release ]; then
    level=-Os
else
    level=-O0
fi
log "wasm-opt $level"
web/node_modules/.bin/wasm-opt "$level" "${features[@]}" --strip-debug --strip-producers \
    "$work/galaxy_bg.wasm" -o "$work/galaxy.wasm"

rm -rf "$OUT"
mkdir -p "$OUT"
hash() { sha256sum "$1" | cut -c1-16; }
wasm="galaxy-$(hash "$work/galaxy.wasm").wasm"
cp "$work/galaxy.wasm" "$OUT/$wasm"
js="galaxy-$(hash "$work/galaxy.js").js"
cp "$work/galaxy.js" "$OUT/$js"
if [ -d "$work/snippets" ]; then
    cp -r "$work/snippets" "$OUT/"
fi
# The textures: Bevy fetches them from assets/ beside the page once it runs.
cp -r assets "$OUT/assets"
sed -e "s/@JS@/$js/g" -e "s/@WASM@/$wasm/g" -e "s/@WASM_BYTES@/$(stat -c %s "$OUT/$wasm")/g" \
    web/game/index.html > "$OUT/index.html"

command -v brotli >/dev/null || scripts/apt-install.sh brotli
if [ "$PROFILE" = web-release ]; then quality=11; else quality=5; fi
for file in "$OUT/$wasm" "$OUT/$js" "$OUT/index.html"; do
    gzip -9 --keep --force "$file"
    brotli --quality="$quality" --keep --force "$file"
done

size() { stat -c %s "$1" | awk '{ printf "%.2f MB", $1 / 1e6 }'; }
log "built $OUT/ with $PROFILE in $((SECONDS - started)) s (cargo $((compiled - started)) s)"
log "  $wasm: $(size "$OUT/$wasm") raw, $(size "$OUT/$wasm.gz") gzip, $(size "$OUT/$wasm.br") brotli"
