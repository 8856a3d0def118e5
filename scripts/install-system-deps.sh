#!/usr/bin/env bash
# Debian 12 packages the tests and benchmarks need. Idempotent; safe to re-run.
#  - chromium: the renderer's end-to-end tests (driven by playwright-core)
#  - python3-torch + OpenBLAS: PyTorch reference for numeric parity tests and the benchmark
#  - Mesa's lavapipe Vulkan from bookworm-backports: software WebGPU via Dawn (bookworm's Mesa 22 is too old)
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # Same mirror as the existing bookworm entry.
  mirror=$(grep -rhs -A2 '^Types: deb' /etc/apt/sources.list.d/debian.sources 2>/dev/null | awk '/^URIs:/{print $2; exit}')
  [ -n "$mirror" ] || mirror=$(awk '/^deb .*bookworm/{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$mirror" ] || mirror="http://deb.debian.org/debian"
  echo "deb $mirror bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium python3-torch libopenblas0-pthread >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
echo "system packages ready"
