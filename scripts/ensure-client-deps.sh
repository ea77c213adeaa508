#!/usr/bin/env bash
# Makes sure the client's end-to-end test can render: an X server in memory
# (xvfb-run, xauth) and a software Vulkan driver (lavapipe). Installs them with
# apt-get when they are missing; idempotent.
set -euo pipefail
log() { echo "ensure-client-deps: $*" >&2; }

have_lavapipe() {
    ls /usr/share/vulkan/icd.d/lvp_icd* /etc/vulkan/icd.d/lvp_icd* >/dev/null 2>&1
}

if command -v xvfb-run >/dev/null && command -v xauth >/dev/null && have_lavapipe \
    && ldconfig -p | grep -q libvulkan.so.1; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    log "install Xvfb, xauth and a software Vulkan driver (Mesa lavapipe) with your package manager"
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
packages=(xvfb xauth mesa-vulkan-drivers libvulkan1)
log "installing ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q "${packages[@]}" >&2 \
    || { $SUDO apt-get update -q >&2 && $SUDO apt-get install -y -q "${packages[@]}" >&2; }
