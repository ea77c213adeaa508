#!/usr/bin/env bash
# Installs Debian packages for the other scripts: as root or through sudo, without
# questions, refreshing the package index only when the first attempt fails.
# Usage: scripts/apt-install.sh PACKAGE...   (all output goes to stderr)
set -euo pipefail
if ! command -v apt-get >/dev/null; then
    echo "apt-install: no apt-get here; install $* with your package manager" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
echo "apt-install: installing $*" >&2
"${SUDO[@]}" apt-get install -y -q "$@" >&2 \
    || { "${SUDO[@]}" apt-get update -q >&2 && "${SUDO[@]}" apt-get install -y -q "$@" >&2; }
