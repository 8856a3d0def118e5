# Sourced by run.sh and device-check.sh in the packed folder (bench/portable/pack.sh): unpacks node
# and Dawn, puts the packed loader libraries first on LD_LIBRARY_PATH, and finds a python with torch
# (TORCH_PYTHON, if set, wins).
W=$(mktemp -d)
tar -C "$W" -xJf payload.tar.xz
cp "$W/dawn.node" node_modules/webgpu/dist/linux-x64/dawn.node
export PATH="$W:$PATH" LD_LIBRARY_PATH="$PWD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${TORCH_PYTHON:-}" ]; then
  for py in $(which -a python3 python 2>/dev/null) /usr/bin/python3; do
    if "$py" -c 'import torch' 2>/dev/null; then export TORCH_PYTHON="$py"; break; fi
  done
fi
