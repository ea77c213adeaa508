#!/usr/bin/env bash
# Builds (release) and runs the Galaxy server with the shipped config and the
# embedded SQLite default. Extra arguments go to galaxy-server, e.g.
#   scripts/run-server.sh simulate --days 365 --json
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --locked -p galaxy_server --bin galaxy-server -- "$@"
