#!/usr/bin/env bash
# Packs the engine bench for a Linux x64 machine without Node or node_modules (a lent GPU box):
# one folder, ~36 MB, holding the bench bundled with esbuild, the tfjs wasm binaries, Dawn (the
# `webgpu` addon), the GL/Vulkan loader libraries Dawn needs where a container has only the NVIDIA
# driver's own, this machine's node binary (xz-compressed with Dawn), run.sh and device-check.sh.
#   bash bench/portable/pack.sh [OUT]      then on the other machine:  bash OUT/run.sh [bench flags]
#   (or JOB=1 bash OUT/run.sh [preset] [backend]: train a preset's runs there, bench/portable/job.ts)
#   bash OUT/device-check.sh [RESULTS_DIR]: issue 9's whole device check in under 5 minutes
# Also bundled: the WebGPU ceiling probes (probes.cjs), the device check's summary (summary.cjs), the
# PyTorch reference with the model it imports (reference/), and the fused engine's bench as fused.cjs
# when one .ts file under experiments/ or bench/ carries the marker line `@device-check-entry fused`
# (its path and commit go to fused.source; README "Benchmarks" has the contract).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:-$ROOT/.portable-bench}")
cd "$ROOT"
rm -rf "$OUT"
mkdir -p "$OUT/reference" "$OUT/lib" "$OUT/node_modules/webgpu/dist/linux-x64"
MARKER='@device-check-entry fused'
FUSED=$(grep -rlF --include='*.ts' --exclude='*.test.ts' "$MARKER" experiments bench 2>/dev/null | grep -v '^bench/portable/' | sort | head -n 1 || true)
pairs="bench/portable/entry.ts:bench bench/portable/job.ts:job bench/probes/webgpu-ceiling.ts:probes bench/portable/summary.ts:summary"
[ -n "$FUSED" ] && pairs="$pairs $FUSED:fused"
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
cp bench/reference/torch_step.py experiments/model/reference/torch_transformer.py "$OUT/reference/"
if [ -n "$FUSED" ]; then
  echo "$FUSED @ $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- "$(dirname "$FUSED")" || echo ' + uncommitted changes')" > "$OUT/fused.source"
  echo "fused engine bench: $FUSED"
else
  echo "no fused engine bench (no .ts file under experiments/ or bench/ carries '$MARKER'); the device check will say so"
fi
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
