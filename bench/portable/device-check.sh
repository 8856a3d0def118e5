#!/usr/bin/env bash
# Issue 9's device check, one prepared script for a lent GPU machine (no Node, no internet): in under
# 5 minutes it measures, each part boxed with `timeout` against one shared budget,
#   env        nvidia-smi, Vulkan ICDs, node, torch
#   probes     WebGPU ceiling probes (bench/probes/webgpu-ceiling.ts --full), then the dispatch probe
#              again with Dawn's skip_validation,disable_robustness
#   torch      PyTorch on A, B and base: eager (+ kernels per step) and a whole-step CUDA graph
#   fused      the fused engine's rows on A, B and base, if this pack holds its bench (fused.cjs), then
#              A and B again with the other kernel shape (ABLATE_FUSED_KERNELS=cpu), and base again
#              with the 64×64 matmul tile only (ABLATE_FUSED_MATMUL=tiled)
#   decode     issue 10: the fused decoder against the PyTorch reference (torch_beam.py, on CUDA when
#              there is one), greedy and beam 4, sentences/s on the same checkpoint and sources:
#              decode-write (fused-decode.cjs writes random sharpened models, small and base, and
#              Multi30k-like sources to a temporary folder), decode-torch, decode-fused (which also
#              counts the sentences token-identical to PyTorch's)
#   tfjs       the tfjs-webgpu engine bench on A
#   compile    PyTorch torch.compile(mode="reduce-overhead") on A, B and base (last: compiling is slow)
#   extras     only if time is left: tfjs A with WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE 256 and 1e9
# Every measurement is one JSON line ({"kind": …}) in the log; results.jsonl collects them and
# summary.txt is the human table (bench/portable/summary.ts).
#   bash OUT/device-check.sh [RESULTS_DIR]            (default OUT/results)
#   SMALL=1 bash OUT/device-check.sh [RESULTS_DIR]    small sizes: checks the script on lavapipe + torch CPU
# Env: BUDGET_S (default 285; SMALL 420), TORCH_PYTHON (else the first python3 that imports torch).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"
RES=$(realpath -m "${1:-$HERE/results}")
mkdir -p "$RES"
LOG="$RES/device-check.log"
: > "$LOG"
SMALL=${SMALL:-}
BUDGET=${BUDGET_S:-$([ -n "$SMALL" ] && echo 420 || echo 285)}
. ./env.sh

say() { echo "$*" | tee -a "$LOG"; }
# part NAME BOX_S COMMAND…: runs COMMAND (a program or an exported function) for at most min(BOX_S, budget left) seconds, its output to
# the terminal and the log, then one {"kind":"part"} line with its time and exit status.
part() {
  local name=$1 box=$2 left t t0 rc
  shift 2
  left=$((BUDGET - SECONDS))
  t=$((box < left ? box : left))
  if [ "$t" -lt 5 ]; then
    say "{\"kind\":\"part\",\"part\":\"$name\",\"seconds\":0,\"box_s\":0,\"rc\":\"-\",\"timed_out\":false,\"note\":\"skipped: budget spent\"}"
    return
  fi
  say "== $name (box ${t}s, at ${SECONDS}s of ${BUDGET}s) =="
  t0=$SECONDS
  timeout -k 5 "$t" bash -c '"$@"' _ "$@" 2>&1 | grep --line-buffered -v 'artificially reduced' | tee -a "$LOG"
  rc=${PIPESTATUS[0]}
  say "{\"kind\":\"part\",\"part\":\"$name\",\"seconds\":$((SECONDS - t0)),\"box_s\":$t,\"rc\":$rc,\"timed_out\":$([ "$rc" = 124 ] || [ "$rc" = 137 ] && echo true || echo false)}"
}

env_report() {
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
  else
    echo "no nvidia-smi"
  fi
  ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null
  echo "cpus $(nproc); node $(node --version); TORCH_PYTHON=${TORCH_PYTHON:-none}"
  if [ -n "${TORCH_PYTHON:-}" ]; then
    "$TORCH_PYTHON" -c 'import json, torch; print(json.dumps({"kind": "env", "torch": torch.__version__, "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))'
  fi
}

TORCH_DEVICE=cpu
if [ -n "${TORCH_PYTHON:-}" ] && "$TORCH_PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then TORCH_DEVICE=cuda; fi
torch_step() { OMP_WAIT_POLICY=PASSIVE "$TORCH_PYTHON" reference/torch_step.py --device "$TORCH_DEVICE" "$@"; }
no_torch() { echo "{\"kind\":\"part\",\"part\":\"torch\",\"note\":\"no python with torch on this machine (set TORCH_PYTHON)\"}"; }
DEC=$(mktemp -d)  # the decode parts' checkpoints (base: ~0.5 GB), removed at exit
trap 'rm -rf "$DEC"' EXIT
# decode_torch CONFIG…: torch_beam.py on each config decode-write prepared; a failure prints an error line and the next runs.
decode_torch() {
  local c rc
  for c in "$@"; do
    OMP_WAIT_POLICY=PASSIVE "$TORCH_PYTHON" reference/torch_beam.py "$DEC/$c.in.json" "$DEC/$c.torch.json" --device "$TORCH_DEVICE" --label "$c"
    rc=$?
    [ "$rc" = 0 ] || echo "{\"kind\":\"decode\",\"engine\":\"pytorch\",\"config\":\"$c\",\"error\":\"torch_beam.py exited $rc\"}"
  done
}
export TORCH_DEVICE DEC
export -f env_report torch_step no_torch decode_torch  # part runs its command under timeout, in a child bash

part env 20 env_report
if [ -n "$SMALL" ]; then
  part probes 120 node probes.cjs
  part probes-toggles 40 node probes.cjs --only=dispatch --dispatches=1000 --toggles=skip_validation,disable_robustness
  if [ -n "${TORCH_PYTHON:-}" ]; then
    part torch-self-check 30 torch_step --self-check
    part torch 120 torch_step --config A,B --modes eager,graph --steps 3 --warmup-steps 1
    part torch-base 60 torch_step --config base --batch 2 --src-len 16 --tgt-len 16 --modes eager --steps 1 --warmup-steps 1
  else part torch 5 no_torch; fi
else
  part probes 45 node probes.cjs --full
  part probes-toggles 15 node probes.cjs --full --only=dispatch --toggles=skip_validation,disable_robustness
  if [ -n "${TORCH_PYTHON:-}" ]; then
    part torch 75 torch_step --config A,B,base --modes eager,graph
  else part torch 5 no_torch; fi
fi
if [ -f fused.cjs ]; then
  say "fused engine bench packed from $(cat fused.source 2>/dev/null)"
  part fused "$([ -n "$SMALL" ] && echo 120 || echo 60)" env BENCH_JSON=1 node fused.cjs "--configs=$([ -n "$SMALL" ] && echo A || echo A,B,base)" ${SMALL:+--small}
else
  say '{"kind":"part","part":"fused","note":"no fused engine bench in this pack (pack.sh found no file marked @device-check-entry fused)"}'
fi
if [ -f fused-decode.cjs ]; then
  say "fused decode bench packed from $(cat fused-decode.source 2>/dev/null)"
  if [ -n "$SMALL" ]; then DECODE_CONFIGS=(small); DECODE_FLAGS=(--sentences=64); else DECODE_CONFIGS=(small base); DECODE_FLAGS=(); fi
  dcfg=$(IFS=,; echo "${DECODE_CONFIGS[*]}")
  part decode-write "$([ -n "$SMALL" ] && echo 30 || echo 10)" node fused-decode.cjs "--write=$DEC" "--configs=$dcfg" "${DECODE_FLAGS[@]}"
  if [ -n "${TORCH_PYTHON:-}" ]; then
    part decode-torch "$([ -n "$SMALL" ] && echo 60 || echo 15)" decode_torch "${DECODE_CONFIGS[@]}"
  else say '{"kind":"part","part":"decode-torch","note":"no python with torch on this machine (set TORCH_PYTHON)"}'; fi
  part decode-fused "$([ -n "$SMALL" ] && echo 90 || echo 15)" node fused-decode.cjs "--decode=$DEC" "--configs=$dcfg"
else
  say '{"kind":"part","part":"decode","note":"no fused decode bench in this pack (pack.sh found no file marked @device-check-entry fused-decode)"}'
fi
if [ -f fused.cjs ] && [ -z "$SMALL" ]; then
  # The other kernel shape (experiments/fused/runtime/gpu.ts KernelShape): which suits this card.
  part fused-cpu-shape 25 env BENCH_JSON=1 ABLATE_FUSED_KERNELS=cpu node fused.cjs --configs=A,B --steps=5
  # The base model with the 64×64 matmul tile everywhere: does the 128×128 tile (kernels/matmul.ts gpuTile) pay on this card?
  part fused-tiled64 20 env BENCH_JSON=1 ABLATE_FUSED_MATMUL=tiled node fused.cjs --configs=base --steps=3
fi
part tfjs "$([ -n "$SMALL" ] && echo 150 || echo 35)" env BENCH_JSON=1 node bench.cjs --configs=A --backends=webgpu --no-torch "--steps=$([ -n "$SMALL" ] && echo 2 || echo 10)"
if [ -n "${TORCH_PYTHON:-}" ]; then
  part compile 180 torch_step --config "$([ -n "$SMALL" ] && echo A || echo A,B,base)" --modes compile
fi
if [ -z "$SMALL" ] && [ $((BUDGET - SECONDS)) -ge 40 ]; then
  for bs in 256 1e9; do
    part "tfjs-submit-batch-$bs" 20 env BENCH_JSON=1 BENCH_VARIANT="WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=$bs" TFFLAGS="WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=$bs" node bench.cjs --configs=A --backends=webgpu --no-torch --steps=10
  done
fi

grep '^{"kind"' "$LOG" > "$RES/results.jsonl"
node summary.cjs "$RES/results.jsonl" | tee "$RES/summary.txt"
echo "device check: ${SECONDS}s of a ${BUDGET}s budget; log $LOG, JSON lines $RES/results.jsonl, table $RES/summary.txt"
