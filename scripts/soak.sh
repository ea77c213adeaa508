#!/usr/bin/env bash
# Load and soak against a release server on loopback (SQLite in a temp dir), not in CI:
#   N bots (a quarter over WebSocket) for M minutes: tick p99 per 10 s, server memory at
#   the start and the end, unexpected disconnects; then SIGKILL right after a snapshot,
#   a restart, and every bot logs in again and must find its own ship where its orbit
#   puts it.
# Usage: scripts/soak.sh [bots=500] [minutes=10]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/galaxy-target}"
bots="${1:-500}"
minutes="${2:-10}"
cargo build --release --locked -p galaxy_server --bin galaxy-server -p galaxy_tests --bin galaxy-load
bin="$CARGO_TARGET_DIR/release"
work="$(mktemp -d)"
port=18380
trap 'kill -9 "$(cat "$work/pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT

# One loopback address logs in every bot: its throttles are raised for this run.
export GALAXY_HTTP_ADDR="127.0.0.1:$port" GALAXY_UDP_ADDR="127.0.0.1:$((port + 1))" \
    GALAXY_WS_ADDR="127.0.0.1:$((port + 2))" GALAXY_PUBLIC_HOST=127.0.0.1 \
    GALAXY_NET__MAX_CLIENTS=1024 GALAXY_AUTH__MAX_FAILURES_PER_ADDRESS=100000 \
    GALAXY_AUTH__MAX_REGISTRATIONS_PER_ADDRESS=100000 \
    GALAXY_PERSISTENCE__SNAPSHOT_INTERVAL_S=10 \
    DATABASE_URL="sqlite://$work/soak.db" GALAXY_JWT_SECRET="soak-secret-soak-secret-soak-secret"
GALAXY_ADMIN_PASSWORD=soak-admin-password "$bin/galaxy-server" admin create-user soakadmin --admin >/dev/null
start="'$bin/galaxy-server' run >>'$work/server.log' 2>&1 & echo \$! >'$work/pid'"
sh -c "$start"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done

"$bin/galaxy-load" --http "http://127.0.0.1:$port" --bots "$bots" --seconds "$((minutes * 60))" \
    --server-pid "$(cat "$work/pid")" --admin soakadmin:soak-admin-password --restart "$start"
echo "server log: $(grep -c . "$work/server.log") lines, $(grep -ci 'panic' "$work/server.log" || true) mentioning a panic"
