#!/usr/bin/env bash
# Makes sure the client's end-to-end test can render: an X server in memory
# (xvfb-run, xauth) and a software Vulkan driver (lavapipe). Installs them with
# apt-get (scripts/apt-install.sh) when they are missing; idempotent.
set -euo pipefail

have_lavapipe() {
    ls /usr/share/vulkan/icd.d/lvp_icd* /etc/vulkan/icd.d/lvp_icd* >/dev/null 2>&1
}

if command -v xvfb-run >/dev/null && command -v xauth >/dev/null && have_lavapipe \
    && ldconfig -p | grep -q libvulkan.so.1; then
    exit 0
fi
"$(dirname "$0")/apt-install.sh" xvfb xauth mesa-vulkan-drivers libvulkan1
