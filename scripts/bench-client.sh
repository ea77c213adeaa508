#!/usr/bin/env bash
# Client frame time on this machine's software renderer (the CPU only): a server on
# loopback (SQLite in a temp dir), then the client logged in at 1280x800 in low Earth
# orbit. Natively (Xvfb + Mesa lavapipe) with N extra ships in formation in front of
# the camera (--bench-ships N: 3 s warm-up, 6 s measured), one line per N; with
# --browser, the browser build (dist/, built by scripts/build-web.sh) in Chromium's
# SwiftShader WebGL2, without extra ships.
# Usage: scripts/bench-client.sh [--quality low|high] [--browser] [N ...]   (default N: 0 1000)
#   GALAXY_BENCH_PROFILE=dev measures the test build (optimised dependencies, client
#   crate at opt-level 1) instead of release; GALAXY_MSAA=1 turns anti-aliasing off;
#   GALAXY_BENCH_BIN=DIR takes galaxy-server and galaxy-client from DIR (an older
#   build, say) instead of building them; GALAXY_BENCH_DIST=DIR the browser build.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/galaxy-target}"
profile="${GALAXY_BENCH_PROFILE:-release}"
quality=high
browser=false
while [ $# -gt 0 ]; do
    case "$1" in
        --quality) quality="$2"; shift ;;
        --browser) browser=true ;;
        *) break ;;
    esac
    shift
done
scripts/ensure-client-deps.sh
"$browser" && scripts/ensure-browser-deps.sh
bin="${GALAXY_BENCH_BIN:-}"
dist="${GALAXY_BENCH_DIST:-$PWD/dist}"
if [ -z "$bin" ]; then
    # The workspace's binaries together, as the test suite builds them (one feature set).
    cargo build --locked --profile "$profile" --workspace --bins
    bin="$CARGO_TARGET_DIR/$([ "$profile" = dev ] && echo debug || echo "$profile")"
fi
work="$(mktemp -d)"
port=18380
GALAXY_HTTP_ADDR="127.0.0.1:$port" GALAXY_UDP_ADDR="127.0.0.1:$((port + 1))" \
GALAXY_WS_ADDR="127.0.0.1:$((port + 2))" GALAXY_PUBLIC_HOST=127.0.0.1 GALAXY_WEB__DIR="$dist" \
DATABASE_URL="sqlite://$work/bench.db" GALAXY_JWT_SECRET="bench-secret-bench-secret-bench-secret" \
    "$bin/galaxy-server" run >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done

if "$browser"; then
    [ -f "$dist/index.html" ] || { echo "no $dist/index.html: run scripts/build-web.sh first"; exit 1; }
    node web/tests/bench.mjs "http://127.0.0.1:$port/?quality=$quality" "bench$RANDOM" 'bench password' \
        | grep 'bench: '
    exit 0
fi
for ships in "${@:-0 1000}"; do
    for n in $ships; do
        GALAXY_QUALITY="$quality" xvfb-run -a -s "-screen 0 1280x800x24" "$bin/galaxy-client" \
            --server "http://127.0.0.1:$port" --user bench --password 'bench password' \
            --register --bench-ships "$n" >"$work/client-$n.log" 2>&1 || {
            echo "the client failed with $n ships:"; tail -40 "$work/client-$n.log"; exit 1; }
        grep -o 'bench: .*' "$work/client-$n.log" || { tail -40 "$work/client-$n.log"; exit 1; }
    done
done
