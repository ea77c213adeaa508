#!/usr/bin/env bash
# Regenerates the README's screenshots in docs/ with the native client under Xvfb
# (software rendering): a server on loopback (SQLite in a temp dir) at a fixed game
# time, then one unattended capture per view. The landed one first flies an admin's
# ship down to the Moon with the landing autopilot (galaxy-bot --land).
# Usage: scripts/screenshots.sh        (GALAXY_BENCH_PROFILE=dev uses the test build)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/galaxy-target}"
profile="${GALAXY_BENCH_PROFILE:-release}"
scripts/ensure-client-deps.sh
cargo build --locked --profile "$profile" --workspace --bins
bin="$CARGO_TARGET_DIR/$([ "$profile" = dev ] && echo debug || echo "$profile")"
work="$(mktemp -d)"
port=18480
export DATABASE_URL="sqlite://$work/shots.db" GALAXY_JWT_SECRET="shots-secret-shots-secret-shots-secret"
password='screenshot password'
GALAXY_ADMIN_PASSWORD="$password" "$bin/galaxy-server" admin create-user selene --admin >/dev/null
GALAXY_HTTP_ADDR="127.0.0.1:$port" GALAXY_UDP_ADDR="127.0.0.1:$((port + 1))" \
GALAXY_WS_ADDR="127.0.0.1:$((port + 2))" GALAXY_PUBLIC_HOST=127.0.0.1 GALAXY_WARP__SAFE_RATE=10 \
    "$bin/galaxy-server" run >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done

# capture FILE USER [client options...]: one frame once the view is live.
capture() {
    local file="$1" user="$2"
    shift 2
    xvfb-run -a -s "-screen 0 1280x800x24" "$bin/galaxy-client" --server "http://127.0.0.1:$port" \
        --user "$user" --password "$password" --register --screenshot-after-live "$file" "$@" \
        >"$work/client.log" 2>&1 || { tail -30 "$work/client.log"; exit 1; }
    echo "wrote $file"
}

capture docs/client.png pilot
capture docs/low-orbit.png pilot --camera-pitch 35 --camera-yaw 180
capture docs/map.png pilot --map

"$bin/galaxy-bot" --http "http://127.0.0.1:$port" --user selene --password "$password" \
    --admin "teleport selene Moon 30" --admin "timescale 1000" --warp 1000 --land --seconds 240 \
    >"$work/bot.json"
grep -q 'Landed' "$work/bot.json" || { echo "selene did not land:"; cat "$work/bot.json"; exit 1; }
capture docs/moon.png selene --camera-pitch 12 --camera-yaw 150
