#!/usr/bin/env bash
# Network benchmarks against a release server on loopback (SQLite in a temp dir):
#   1. bandwidth per client with 100 other ships in view (101 bots, 30 s);
#   2. 200 bots for 60 s: tick p99, overruns, unexpected disconnects.
# Usage: scripts/bench-net.sh [bots] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/galaxy-target}"
cargo build --release --locked -p galaxy_server --bin galaxy-server -p galaxy_tests --bin galaxy-load
bin="$CARGO_TARGET_DIR/release"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

run() {
    local bots="$1" seconds="$2" port="$3"
    GALAXY_HTTP_ADDR="127.0.0.1:$port" GALAXY_UDP_ADDR="127.0.0.1:$((port + 1))" \
    GALAXY_WS_ADDR="127.0.0.1:$((port + 2))" GALAXY_PUBLIC_HOST=127.0.0.1 \
    GALAXY_NET__MAX_CLIENTS=512 GALAXY_AUTH__MAX_FAILURES_PER_ADDRESS=100000 \
    GALAXY_AUTH__MAX_REGISTRATIONS_PER_ADDRESS=100000 \
    DATABASE_URL="sqlite://$work/bench-$port.db" GALAXY_JWT_SECRET="bench-secret-bench-secret-bench-secret" \
        "$bin/galaxy-server" run >"$work/server-$port.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
    "$bin/galaxy-load" --http "http://127.0.0.1:$port" --bots "$bots" --seconds "$seconds"
    kill "$server"; wait "$server" 2>/dev/null || true
}

echo "== 101 bots (100 other ships in view), 30 s"
run 101 30 18180
echo "== ${1:-200} bots, ${2:-60} s"
run "${1:-200}" "${2:-60}" 18280
