/**
 * Decoding speed: the fused engine's decoder (experiments/fused/decode) against the tfjs decoder
 * (experiments/decode) on the same device in the same run — sentences per second, greedy and beam,
 * on Multi30k dev sentences (valid.en, read in place from ../shared/data/multi30k, tokenized with the
 * preset table3-multi30k's shared 8k BPE, built once into a cache under the OS temp folder).
 *
 * The model: the preset's base (d_model 256, N 3, h 4, d_k 64, d_ff 1024, sinusoidal, tied
 * embeddings) with RANDOM weights (seed 1) and the real vocabulary — no trained checkpoint. Random
 * weights rarely choose EOS, so hypotheses tend to run to the length limit (source + max_len_offset):
 * both engines do the same, longest-case work; the mean output length is printed. Both engines read the
 * same weights, and the outputs are compared token for token (identical sentences are counted).
 *
 * The tfjs decoder runs on tfjs's webgpu backend (Dawn; lavapipe here, the GPU when there is one), so
 * the ratio is engine against engine on one device; --tfjs=wasm compares against wasm instead.
 * Pipelines are compiled (and tfjs warmed) on a few sentences first, outside the timings.
 *
 * A third column is the plain PyTorch incremental greedy / beam search of bench/reference
 * (torch_beam.py: same weights, read from a checkpoint; fairseq's rules, the workbench's penalty),
 * on the CPU with --torch-threads threads (cuda is not used: the reference runs where Python runs);
 * its outputs are compared token for token with the fused decoder's too. --torch=off skips it.
 *
 * --checkpoint=FILE decodes a trained model instead (e.g. bench/reference/multi30k-small.yaml's, whose
 * hypotheses end where a translation does): its config, vocabulary and tokenizer, the dev split of
 * the corpus it was trained on, its decode.max_len_offset unless --offset is given.
 *
 *   npm run bench decode [-- --sentences=1000 --beam=4 --offset=50 --tfjs=webgpu --tfjs-sentences=N --d-model=256 --layers=3
 *                           --checkpoint=FILE --torch=on|off --torch-threads=1 --fused-greedy-rows=32 --fused-beam-rows=128 --tfjs-rows=128]
 * --tfjs-sentences limits the (slow) reference to the first N sentences; rates are per sentence.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandSpec, parseSpec } from '../contract/spec';
import { selectBackend } from '../experiments/backend';
import { prepareData } from '../experiments/data/index';
import { beamSearch, greedyDecode } from '../experiments/decode/index';
import { FusedDecoder } from '../experiments/fused/decode/decoder';
import { acquireGpu } from '../experiments/fused/runtime/gpu';
import { createModel } from '../experiments/model/transformer';
import type { Seq2SeqModel } from '../experiments/model/types';
import { readSplitSource, parseSplit } from '../experiments/data/readers';
import { openCheckpoint } from '../experiments/run/inference';
import { writeModelCheckpoint } from '../test/support/decoding';
import { torchDecode, torchMissing } from './reference/torch-beam';

const CORPUS = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/data/multi30k');

function flag(args: string[], name: string, fallback: string): string {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : fallback;
}

async function timed<T>(f: () => Promise<T>): Promise<{ out: T; seconds: number }> {
  const t = performance.now();
  const out = await f();
  return { out, seconds: (performance.now() - t) / 1000 };
}

export async function run(args: string[]): Promise<void> {
  const sentences = Number(flag(args, 'sentences', '1000'));
  const beam = Number(flag(args, 'beam', '4'));
  const tfjsBackend = flag(args, 'tfjs', 'webgpu') as 'webgpu' | 'wasm';
  const tfjsSentences = Math.min(sentences, Number(flag(args, 'tfjs-sentences', String(sentences))));
  const checkpoint = flag(args, 'checkpoint', '');
  // Decoder rows per chunk (sentences × beam). Every row of a chunk steps until its last sentence ends, so one
  // runaway hypothesis holds a whole chunk: on the CPU adapter the fused greedy decoder does best with small
  // chunks (profile.ts: 94 against 53 sentences per CPU-second at 32 and 128 rows), the tfjs decoder keeps its 128.
  const fusedGreedyRows = Number(flag(args, 'fused-greedy-rows', '32'));
  const fusedBeamRows = Number(flag(args, 'fused-beam-rows', '128'));
  const tfjsRows = Number(flag(args, 'tfjs-rows', '128'));
  const torchThreads = Number(flag(args, 'torch-threads', '1'));
  const torchOff = flag(args, 'torch', 'on') === 'off' ? 'off (--torch=off)' : torchMissing();
  const alpha = 0.6;
  const selected = await selectBackend(tfjsBackend);
  const { model, src, offset, describe, ckptPath, cleanup } = checkpoint
    ? await trainedModel(checkpoint, sentences, args)
    : await randomModel(sentences, args);
  const V = model.tgtVocabSize;
  const weights = new Map<string, Float32Array>();
  for (const v of model.variables) weights.set(v.name, (await v.data()) as Float32Array);
  const gpu = await acquireGpu();
  const maxSrcLen = Math.max(...src.map((s) => s.length));
  const decoder = new FusedDecoder(gpu, model.config, model.srcVocabSize, V, weights, { maxRows: Math.max(fusedGreedyRows, fusedBeamRows), maxSrcLen, maxLenOffset: offset });
  console.log(`Multi30k dev: ${src.length} sentences (mean ${(src.reduce((a, s) => a + s.length, 0) / src.length).toFixed(1)} BPE tokens), vocabulary ${V}; ${describe}; max_len_offset ${offset}, beam ${beam}, α ${alpha}`);
  console.log(`device: fused engine on ${gpu.adapterDescription}; tfjs decoder on ${selected.backend}: ${selected.device}`);
  console.log(`rows per chunk: fused greedy ${fusedGreedyRows}, fused beam ${fusedBeamRows}, tfjs ${tfjsRows}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  try {
    const warm = src.slice(0, 8);
    const w1 = await timed(async () => { await decoder.greedy(warm, { maxLenOffset: offset }); await decoder.beam(warm, { maxLenOffset: offset, beam, alpha }); });
    const w2 = await timed(async () => { await greedyDecode(model, warm.slice(0, 2), { maxLenOffset: 2 }); await beamSearch(model, warm.slice(0, 2), { maxLenOffset: 2, beam, alpha }); });
    console.log(`warm-up (pipelines, shader compiles): fused ${w1.seconds.toFixed(1)} s, tfjs ${w2.seconds.toFixed(1)} s`);
    const rows: string[][] = [];
    const torchRuns = torchOff ? null : torchDecode(ckptPath, src, [{ search: 'greedy', max_len_offset: offset }, { search: 'beam', beam, alpha, max_len_offset: offset }], { batchSentences: Math.floor(128 / beam), threads: torchThreads }).runs;
    if (torchOff) console.log(`PyTorch reference skipped: ${torchOff}`);
    else torchRuns!.forEach((r) => console.log(`  PyTorch ${r.search}: ${(src.length / r.seconds).toFixed(2)} sent/s (${r.seconds.toFixed(1)} s)`));
    for (const mode of ['greedy', `beam ${beam}`] as const) {
      const fused = await timed(() => (mode === 'greedy' ? decoder.greedy(src, { maxLenOffset: offset, maxRows: fusedGreedyRows }) : decoder.beam(src, { maxLenOffset: offset, beam, alpha, maxRows: fusedBeamRows })));
      // Each measurement as it comes: a long run cut by a timeout keeps what it measured.
      console.log(`  ${mode}: fused ${(src.length / fused.seconds).toFixed(2)} sent/s (${fused.seconds.toFixed(1)} s)`);
      const ref = src.slice(0, tfjsSentences);
      const tfjs = await timed(() => (mode === 'greedy' ? greedyDecode(model, ref, { maxLenOffset: offset, maxRows: tfjsRows }) : beamSearch(model, ref, { maxLenOffset: offset, beam, alpha, maxRows: tfjsRows })));
      const same = tfjs.out.filter((h, i) => h.join() === fused.out[i].join()).length;
      const fusedRate = src.length / fused.seconds;
      const tfjsRate = ref.length / tfjs.seconds;
      const meanLen = fused.out.reduce((a, h) => a + h.length, 0) / fused.out.length;
      const torch = torchRuns?.[mode === 'greedy' ? 0 : 1];
      const torchRate = torch ? src.length / torch.seconds : NaN;
      const torchSame = torch ? torch.hypotheses.filter((h, i) => h.join() === fused.out[i].join()).length : 0;
      rows.push([mode, `${fusedRate.toFixed(2)}`, `${tfjsRate.toFixed(2)}`, `${(fusedRate / tfjsRate).toFixed(1)}×`, `${same}/${ref.length}`,
        torch ? torchRate.toFixed(2) : '-', torch ? `${(fusedRate / torchRate).toFixed(2)}×` : '-', torch ? `${torchSame}/${src.length}` : '-',
        meanLen.toFixed(1), `${fused.seconds.toFixed(1)} s / ${tfjs.seconds.toFixed(1)} s${torch ? ` / ${torch.seconds.toFixed(1)} s` : ''}`]);
    }
    const head = ['decode', 'fused sent/s', 'tfjs sent/s', 'fused/tfjs', 'tfjs identical', `torch sent/s (${torchThreads} thr)`, 'fused/torch', 'torch identical', 'mean out len', 'wall fused / tfjs / torch'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
    console.log(line(head));
    for (const r of rows) console.log(line(r));
    console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    decoder.destroy();
    model.dispose();
    cleanup();
  }
}

interface BenchModel {
  readonly model: Seq2SeqModel;
  readonly src: Int32Array[];
  readonly offset: number;
  readonly describe: string;
  /** A checkpoint file holding the model's weights (for the PyTorch reference). */
  readonly ckptPath: string;
  readonly cleanup: () => void;
}

/** The preset's base size (or --d-model / --layers) with random weights (seed 1) and the preset's 8k BPE. */
async function randomModel(sentences: number, args: string[]): Promise<BenchModel> {
  const offset = Number(flag(args, 'offset', '50'));
  // The model's size: the preset's base by default; smaller ones show where per-op overhead, not arithmetic, dominates.
  const dModel = Number(flag(args, 'd-model', '256'));
  const layers = Number(flag(args, 'layers', '3'));
  const config = expandSpec(parseSpec({
    name: 'decode-bench',
    data: {
      corpus: { train: [join(CORPUS, 'train.en'), join(CORPUS, 'train.de')], valid: [join(CORPUS, 'valid.en'), join(CORPUS, 'valid.de')] },
      tokenizer: { kind: 'bpe', vocab: 8000, shared: true }, max_len: 64,
    },
    base: { layers, d_model: dModel, d_ff: 4 * dModel, heads: 4, d_k: dModel / 4, d_v: dModel / 4, dropout: 0, positional: 'sinusoidal' },
  }))[0].config;
  const data = await prepareData(config.data, join(tmpdir(), 'ablate-bench-decode-cache'), (line) => console.log(`  data: ${line}`));
  const model = createModel(config.model, data.srcTokenizer.vocabSize, data.tgtTokenizer.vocabSize, 1);
  const dir = mkdtempSync(join(tmpdir(), 'bench-decode-'));
  const ckptPath = join(dir, 'random.ckpt');
  await writeModelCheckpoint(ckptPath, model, data.tgtTokenizer.vocabSize);
  return {
    model, offset, ckptPath,
    src: data.valid.slice(0, sentences).map((p) => p.src),
    describe: `random weights (seed 1), d_model ${dModel}, d_ff ${4 * dModel}, N ${layers}, h 4`,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A trained checkpoint: its model, tokenizer and dev split; its max_len_offset unless --offset is given. */
async function trainedModel(path: string, sentences: number, args: string[]): Promise<BenchModel> {
  const run = await openCheckpoint(path, { backend: flag(args, 'tfjs', 'webgpu') as 'webgpu' | 'wasm' });
  const valid = run.config.data.corpus?.valid;
  if (!valid) throw new Error(`${path}: the run has no valid corpus to decode`);
  const raw = parseSplit(readSplitSource(valid));
  const src = raw.sources.filter((s, i) => s.trim() && raw.targets[i].trim()).slice(0, sentences).map((s) => Int32Array.from(run.srcTokenizer.encode(s)));
  const m = run.config.model;
  return {
    model: run.model, src,
    offset: Number(flag(args, 'offset', String(run.config.train.decode.max_len_offset))),
    describe: `trained checkpoint ${path} (step ${run.step}), d_model ${m.d_model}, d_ff ${m.d_ff}, N ${m.layers}, h ${m.heads}`,
    ckptPath: path,
    cleanup: () => {},
  };
}
