#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with trust auth for the
# `postgres` user, and prints the URL tests should use. Idempotent:
#   1. already up            -> nothing to do;
#   2. a Debian cluster      -> start it (installing postgresql with apt if missing);
#   3. otherwise             -> a throwaway cluster (initdb/pg_ctl) in a temp dir.
# Usage: export GALAXY_TEST_POSTGRES_URL="$(scripts/ensure-postgres.sh)"
# GALAXY_PG_PORT picks another port; GALAXY_PG_THROWAWAY=1 skips straight to step 3.
set -euo pipefail

PORT="${GALAXY_PG_PORT:-5432}"
URL="postgres://postgres@127.0.0.1:$PORT/postgres"
log() { echo "ensure-postgres: $*" >&2; }

ready() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p "$PORT"; }

wait_ready() {
    for _ in $(seq 1 30); do
        ready && return 0
        sleep 1
    done
    return 1
}

if ready; then
    echo "$URL"
    exit 0
fi

if [ -z "${GALAXY_PG_THROWAWAY:-}" ] && ! command -v pg_ctlcluster >/dev/null && command -v apt-get >/dev/null; then
    "$(dirname "$0")/apt-install.sh" postgresql || true
fi

if [ -z "${GALAXY_PG_THROWAWAY:-}" ] && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    version="$(ls /etc/postgresql | sort -V | tail -n1)"
    log "starting the Debian cluster $version/main"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    if wait_ready; then
        echo "$URL"
        exit 0
    fi
    log "the Debian cluster did not come up; trying a throwaway cluster"
fi

# A throwaway cluster owned by an unprivileged user (initdb refuses to run as root).
bindir=""
for candidate in "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")" \
    $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
        bindir="$candidate"
        break
    fi
done
if [ -z "$bindir" ]; then
    log "no initdb/pg_ctl found; install PostgreSQL or set GALAXY_TEST_POSTGRES_URL"
    exit 1
fi
data="$(mktemp -d /tmp/galaxy-pg.XXXXXX)"
run_as=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$data"
    run_as=(runuser -u postgres --)
fi
log "starting a throwaway cluster in $data"
"${run_as[@]}" "$bindir/initdb" -D "$data/db" -U postgres --auth=trust >&2
"${run_as[@]}" "$bindir/pg_ctl" -D "$data/db" -l "$data/log" \
    -o "-p $PORT -k $data -c listen_addresses=127.0.0.1" start >&2
if wait_ready; then
    echo "$URL"
else
    log "the throwaway cluster did not start; see $data/log"
    exit 1
fi
