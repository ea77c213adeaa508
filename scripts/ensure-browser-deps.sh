#!/usr/bin/env bash
# Makes sure the browser test can run: Debian's Chromium (never a downloaded
# browser), Node.js, and web/'s npm packages (playwright-core, binaryen) at the
# versions in web/package-lock.json. Installs what is missing; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
    scripts/apt-install.sh "${missing[@]}"
fi
# npm ci when the installed tree is older than the lockfile (or absent).
if [ ! -f web/node_modules/.package-lock.json ] \
    || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    (cd web && npm ci --no-audit --no-fund >&2)
fi
