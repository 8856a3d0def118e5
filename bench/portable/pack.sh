#!/usr/bin/env bash
# Packs the engine bench for a Linux x64 machine without Node or node_modules (a lent GPU box):
# one folder, ~36 MB, holding the bench bundled with esbuild, the tfjs wasm binaries, Dawn (the
# `webgpu` addon), the GL/Vulkan loader libraries Dawn needs where a container has only the NVIDIA
# driver's own, this machine's node binary (xz-compressed with Dawn), run.sh and device-check.sh.
#   bash bench/portable/pack.sh [OUT]      then on the other machine:  bash OUT/run.sh [bench flags]
#   (or JOB=1 bash OUT/run.sh [preset] [backend]: train a preset's runs there, bench/portable/job.ts)
#   bash OUT/device-check.sh [RESULTS_DIR]: issue 9's whole device check in under 5 minutes
# Also bundled: the WebGPU ceiling probes (probes.cjs), the device check's summary (summary.cjs), the
# PyTorch references with the model they import (reference/), and each device-check entry: a .ts file
# under experiments/ or bench/ carrying the marker line `@device-check-entry NAME` is bundled as
# NAME.cjs (its path and commit go to NAME.source; README "Benchmarks" has the contract): `fused`,
# the fused engine's training bench; `fused-decode`, its decoder against torch_beam.py (issue 10).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/.portable-bench}")
cd "$ROOT"
rm -rf "$OUT"
mkdir -p "$OUT/reference" "$OUT/lib" "$OUT/node_modules/webgpu/dist/linux-x64"
MARKER='@device-check-entry'
# NAME: the marker's next word; the first file (sorted) carrying one name is its entry.
marked() { grep -rE --include='*.ts' --exclude='*.test.ts' "$1" experiments bench 2>/dev/null | grep -v '^bench/portable/' || true; }
ENTRIES=$(marked "$MARKER [A-Za-z0-9_-]+\\s*\$" | sed -E "s/^([^:]+):.*$MARKER ([A-Za-z0-9_-]+).*/\\2 \\1/" | sort -k1,1 -k2,2 | sort -u -k1,1)
pairs="bench/portable/entry.ts:bench bench/portable/job.ts:job bench/probes/webgpu-ceiling.ts:probes bench/portable/summary.ts:summary"
while read -r name file; do [ -n "$name" ] && pairs="$pairs $file:$name"; done <<< "$ENTRIES"
for pair in $pairs; do
  npx --no-install esbuild "${pair%%:*}" --bundle --platform=node --format=cjs --target=node20 \
    --outfile="$OUT/${pair##*:}.cjs" --external:webgpu --external:@tensorflow/tfjs-node-gpu --external:@tensorflow/tfjs-node \
    '--define:import.meta.url=__import_meta_url' '--banner:js=const __import_meta_url=require("url").pathToFileURL(__filename).href;' \
    --log-level=warning
done
# After bundling (esbuild would otherwise resolve these shims): backend.ts imports the backends by name at run time.
for p in tfjs-backend-webgpu tfjs-backend-wasm tfjs-backend-cpu; do
  mkdir -p "$OUT/node_modules/@tensorflow/$p"
  echo "{\"name\":\"@tensorflow/$p\",\"main\":\"index.js\"}" > "$OUT/node_modules/@tensorflow/$p/package.json"
  echo "module.exports = globalThis.__portableBench['@tensorflow/$p'];" > "$OUT/node_modules/@tensorflow/$p/index.js"
done
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$OUT/"
cp bench/reference/torch_step.py bench/reference/torch_beam.py experiments/model/reference/torch_transformer.py "$OUT/reference/"
while read -r name file; do
  [ -n "$name" ] || continue
  echo "$file @ $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- "$file" || echo ' + uncommitted changes')" > "$OUT/$name.source"
  echo "device-check entry $name: $file"
done <<< "$ENTRIES"
for name in fused fused-decode; do
  grep -q "^$name " <<< "$ENTRIES" || echo "no '$MARKER $name' entry (no .ts file under experiments/ or bench/ carries it); the device check will say so"
done
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$OUT/node_modules/webgpu/"
for lib in libvulkan.so.1 libGLdispatch.so.0 libGLX.so.0 libGL.so.1 libEGL.so.1 libOpenGL.so.0 libXext.so.6; do
  if [ -e "/usr/lib/x86_64-linux-gnu/$lib" ]; then cp -L "/usr/lib/x86_64-linux-gnu/$lib" "$OUT/lib/"; else echo "note: $lib not on this machine, not packed"; fi
done
stage=$(mktemp -d)
cp "$(command -v node)" "$stage/node"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/dawn.node"
tar -C "$stage" -cJf "$OUT/payload.tar.xz" node dawn.node
rm -rf "$stage"
cp bench/portable/run.sh bench/portable/env.sh bench/portable/device-check.sh "$OUT/"
du -sh "$OUT"
