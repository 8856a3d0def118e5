/**
 * Entry of the portable engine bench (bench/portable/pack.sh): `node bench.cjs [bench flags]`.
 * With BENCH_JSON=1 (the device check sets it), each row of the bench's table is also printed as
 * one JSON line ({"kind":"tfjs", …}), read back from the table engine.bench.ts prints, so the
 * device check can gather every measurement as JSON without a second output path in the bench;
 * BENCH_VARIANT (e.g. the TFFLAGS in use) is copied into those lines.
 */
import './backends';
import { run } from '../engine.bench';

const HEADER = ['config', 'engine', 'device', 'ms/step', 'tgt tok/s', '× PyTorch best', 'memory / note'];

/** One table row of engine.bench.ts as a JSON record, or null for any other line. */
export function rowToJson(line: string): Record<string, unknown> | null {
  const cells = line.trim().split(/\s{2,}/);
  if (cells.length < 5 || !/^(tfjs|pytorch)/.test(cells[1] ?? '') || cells[0] === HEADER[0]) return null;
  const n = (s: string | undefined) => (s && s !== '—' ? Number.parseFloat(s) : null);
  const [config, engine, device, ms, tps, ratio, note] = cells.length === 7 ? cells : [cells[0], cells[1], '', cells[2], cells[3], cells[4], cells[5]];
  return {
    kind: engine.startsWith('pytorch') ? 'torch-in-bench' : 'tfjs', config, engine, variant: process.env.BENCH_VARIANT ?? '', device,
    ms_per_step: n(ms), tokens_per_second: n(tps), ratio_to_pytorch_best: n(ratio), note: note ?? '',
  };
}

if (process.env.BENCH_JSON) {
  const log = console.log.bind(console);
  console.log = (...args: unknown[]) => {
    log(...args);
    for (const line of args.map(String).join(' ').split('\n')) {
      const r = rowToJson(line);
      if (r) log(JSON.stringify(r));
    }
  };
}

run(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
