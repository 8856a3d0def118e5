#!/usr/bin/env bash
# Runs the packed engine bench (see pack.sh): unpacks node and Dawn, prints what the machine offers
# (GPU, Vulkan ICDs, a python with torch for the reference), then runs the bench with the flags given.
# The device check (all of issue 9's measurements in under 5 minutes) is device-check.sh.
set -uo pipefail
cd "$(dirname "$0")"
. ./env.sh
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null
echo "node $(node --version); TORCH_PYTHON=${TORCH_PYTHON:-none}"
node "$([ -n "${JOB:-}" ] && echo job.cjs || echo bench.cjs)" "$@" 2>&1 | grep -v 'artificially reduced'
