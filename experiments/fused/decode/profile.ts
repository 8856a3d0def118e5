/**
 * Where fused decoding time goes, on a trained checkpoint's dev sentences: per decode (greedy, beam)
 * the steps, submits, read-backs and dispatches per step, host milliseconds per step (recording,
 * submitting, beam bookkeeping, uploads) and the process's CPU time per step; then the CPU time per
 * kernel kind of one chunk's encoder and one step at a typical position t, each dispatch submitted
 * alone. On a CPU adapter the kernels run on this process's threads, so CPU time is the cost and,
 * unlike wall time, does not grow when other jobs share the cores (experiments/fused/bench.ts
 * --profile does the same for training). Not a benchmark of record (`npm run bench decode` is).
 *
 *   npx tsx experiments/fused/decode/profile.ts --checkpoint=FILE [--sentences=128] [--beam=4] [--t=12] [--rows=128] [--skip-decode]
 */
import { readFileSync } from 'node:fs';
import { readSplitSource, parseSplit } from '../../data/readers';
import { openCheckpoint } from '../../run/inference';
import { acquireGpu, type Dispatch, kernelShape } from '../runtime/gpu';
import { FusedDecoder } from './decoder';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const path = flag('checkpoint', '');
if (!path) throw new Error('profile: --checkpoint=FILE is required (a trained run\'s checkpoint)');
const sentences = Number(flag('sentences', '128'));
const beam = Number(flag('beam', '4'));
const alpha = 0.6;

const run = await openCheckpoint(path, { backend: 'wasm' });
const valid = run.config.data.corpus?.valid;
if (!valid) throw new Error(`${path}: the run has no valid corpus`);
const raw = parseSplit(readSplitSource(valid));
const src = raw.sources.filter((s, i) => s.trim() && raw.targets[i].trim()).slice(0, sentences).map((s) => Int32Array.from(run.srcTokenizer.encode(s)));
const offset = run.config.train.decode.max_len_offset;
const weights = new Map<string, Float32Array>();
for (const v of run.model.variables) weights.set(v.name, (await v.data()) as Float32Array);
const gpu = await acquireGpu();
const m = run.config.model;
const maxRows = Number(flag('rows', '128'));
const decoder = new FusedDecoder(gpu, m, run.model.srcVocabSize, run.model.tgtVocabSize, weights, { maxRows, maxSrcLen: Math.max(...src.map((s) => s.length)), maxLenOffset: offset });
console.log(`${gpu.adapterDescription}; kernel shape ${kernelShape(gpu)}; d_model ${m.d_model}, N ${m.layers}, V ${run.model.tgtVocabSize}; ${src.length} sentences, max_len_offset ${offset}`);

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
/** CPU milliseconds of this process's main (JavaScript) thread so far, from /proc (Linux); NaN elsewhere. */
function mainThreadMs(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}
await decoder.greedy(src.slice(0, 4), { maxLenOffset: offset });
await decoder.beam(src.slice(0, 4), { maxLenOffset: offset, beam, alpha });
const meanLen: Record<string, number> = {};
if (!args.includes('--skip-decode')) {
  for (const mode of ['greedy', `beam ${beam}`]) {
    Object.assign(decoder.counters, { steps: 0, submits: 0, readBacks: 0, dispatches: 0, hostMs: 0 });
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const m0 = mainThreadMs();
    const out = mode === 'greedy' ? await decoder.greedy(src, { maxLenOffset: offset }) : await decoder.beam(src, { maxLenOffset: offset, beam, alpha });
    const cpu = cpuMs(process.cpuUsage(c0));
    const main = mainThreadMs() - m0;
    const wall = performance.now() - t0;
    const c = decoder.counters;
    meanLen[mode] = out.reduce((a, h) => a + h.length, 0) / out.length;
    console.log(`${mode}: ${c.steps} steps, ${c.submits} submits, ${c.readBacks} read-backs, ${(c.dispatches / c.steps).toFixed(1)} dispatches/step; `
      + `host ${(c.hostMs / c.steps).toFixed(2)} ms/step (${((100 * c.hostMs) / cpu).toFixed(0)} % of CPU); CPU ${(cpu / c.steps).toFixed(1)} ms/step, ${cpu.toFixed(0)} ms total (main thread ${(main / c.steps).toFixed(1)} ms/step); `
      + `wall ${wall.toFixed(0)} ms (${((1000 * src.length) / wall).toFixed(1)} sent/s; ${(src.length / (cpu / 1000)).toFixed(1)} sent per CPU-s); mean output ${meanLen[mode].toFixed(1)} tokens`);
  }
}

const t = Number(flag('t', '12'));
const kindOf = (d: Dispatch) => `${d.pipeline.label.split('|')[0]}${/matmul/.test(d.pipeline.label) ? ` ${d.label.split('/').pop()}` : ''}`;
async function profile(title: string, ds: readonly Dispatch[], repeat = 3): Promise<void> {
  // The least of `repeat` runs per dispatch: a garbage collection or a compile in the process adds CPU time to whichever dispatch it overlaps.
  const least = ds.map(() => Infinity);
  for (let i = 0; i < repeat; i++) {
    for (const [j, d] of ds.entries()) {
      const c0 = process.cpuUsage();
      await gpu.run([d]);
      least[j] = Math.min(least[j], cpuMs(process.cpuUsage(c0)));
    }
  }
  const byKind = new Map<string, { ms: number; n: number }>();
  ds.forEach((d, j) => {
    const e = byKind.get(kindOf(d)) ?? { ms: 0, n: 0 };
    e.ms += least[j];
    e.n++;
    byKind.set(kindOf(d), e);
  });
  const total = [...byKind.values()].reduce((a, b) => a + b.ms, 0);
  console.log(`${title}: ${ds.length} dispatches, CPU ${total.toFixed(1)} ms (one dispatch per submit, least of ${repeat})`);
  for (const [k, e] of [...byKind].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${k.padEnd(34)} ×${String(e.n).padStart(3)} ${e.ms.toFixed(2).padStart(8)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)} %`);
}
const sorted = [...src].sort((a, b) => a.length - b.length);
const mid = Math.floor(sorted.length / 2);
for (const [mode, K] of [['greedy', 1], [`beam ${beam}`, beam]] as const) {
  const B = Math.min(Math.floor(maxRows / K), sorted.length);
  const chunk = sorted.slice(Math.max(0, mid - Math.floor(B / 2)), Math.max(0, mid - Math.floor(B / 2)) + B);
  const { encoder, step, reorder } = decoder.kernelsAt(chunk, K, K === 1, t);
  await profile(`${mode}, ${B} sentences: encoder`, encoder, 1);
  // stepEnd would move t: profile the step without it.
  await profile(`${mode}, ${B} sentences × ${K}: one step at t = ${t}`, [...reorder, ...step.filter((d) => !d.label.startsWith('step_end'))]);
}
decoder.destroy();
run.dispose?.();
process.exit(0);
