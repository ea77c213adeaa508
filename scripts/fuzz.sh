#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) with libFuzzer for a number of
# executions each (default 1 000 000), optimised but with debug assertions and
# overflow checks (the panics renet2 hides in release), and prints libFuzzer's final statistics.
# Not part of CI. Needs a nightly toolchain (rustup's, `cargo +nightly`); installs
# cargo-fuzz when missing. Targets with seeds (fuzz/seeds.py: honest packets the
# fuzzer bends) start from them. A crash leaves its input in fuzz/artifacts/<target>/.
# Usage: scripts/fuzz.sh [runs] [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true
export CARGO_TARGET_DIR="${GALAXY_FUZZ_TARGET_DIR:-$HOME/.cache/galaxy-fuzz-target}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
seeds="$(mktemp -d)"
trap 'rm -rf "$seeds"' EXIT
python3 fuzz/seeds.py "$seeds"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list --fuzz-dir fuzz)
fi
for target in "${targets[@]}"; do
    echo "== $target"
    mkdir -p "fuzz/corpus/$target"
    corpora=("fuzz/corpus/$target")
    if [ -d "$seeds/$target" ]; then
        corpora+=("$seeds/$target")
    fi
    log="$(mktemp)"
    status=0
    cargo +nightly fuzz run --fuzz-dir fuzz --release --debug-assertions "$target" "${corpora[@]}" -- \
        -runs="$runs" -print_final_stats=1 -max_len=4096 >"$log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb|Done)' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -40 "$log" >&2
        echo "scripts/fuzz.sh: $target failed; see fuzz/artifacts/$target" >&2
        exit 1
    fi
    rm -f "$log"
done
