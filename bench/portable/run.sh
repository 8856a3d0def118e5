#!/usr/bin/env bash
# Runs the packed engine bench (see pack.sh): unpacks node and Dawn, prints what the machine offers
# (GPU, Vulkan ICDs, a python with torch for the reference), then runs the bench with the flags given.
set -uo pipefail
cd "$(dirname "$0")"
W=$(mktemp -d)
tar -C "$W" -xJf payload.tar.xz
cp "$W/dawn.node" node_modules/webgpu/dist/linux-x64/dawn.node
export PATH="$W:$PATH" LD_LIBRARY_PATH="$PWD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null
if [ -z "${TORCH_PYTHON:-}" ]; then
  for py in $(which -a python3 2>/dev/null) /usr/bin/python3; do
    if "$py" -c 'import torch' 2>/dev/null; then export TORCH_PYTHON="$py"; break; fi
  done
fi
echo "node $(node --version); TORCH_PYTHON=${TORCH_PYTHON:-none}"
node "$([ -n "${JOB:-}" ] && echo job.cjs || echo bench.cjs)" "$@" 2>&1 | grep -v 'artificially reduced'
