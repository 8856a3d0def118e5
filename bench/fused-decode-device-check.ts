/**
 * @device-check-entry fused-decode
 *
 * Issue 10's GPU goal in the device check (bench/portable/device-check.sh; README "Benchmarks"): the
 * fused decoder's sentences/s against the plain PyTorch reference (bench/reference/torch_beam.py,
 * there on CUDA), greedy and beam 4, on the same checkpoint and the same sources. The device has no
 * corpus, so both are made here with fixed seeds:
 *   - models of two sizes: `small` (the small Multi30k config, bench/reference/multi30k-small.yaml:
 *     d_model 64, N 2, h 4, d_ff 256, BPE vocabulary 2000) and `base` (the paper's base: d_model 512,
 *     N 6, h 8, d_ff 2048, vocabulary 37000), post-norm, sinusoidal, tied embeddings;
 *   - random weights (Xavier-uniform matrices, embeddings of std d^-½) made decoder-sharp as
 *     test/support/decoding.ts `sharpen` does (LayerNorm gains 1 + U(−0.2, 0.2), biases U(−0.2, 0.2),
 *     every other weight doubled), so next-token choices are not near-ties that float rounding flips;
 *   - sources of Multi30k-like length (test2016 English BPE: mean ≈ 13 tokens; here
 *     round(N(13, 4.5)) clipped to 4..40) of uniform ids in [4, vocab).
 * Random weights rarely choose EOS, so hypotheses mostly run to source + max_len_offset: both engines
 * do the same longest-case work, and `tokens` (all output tokens) is printed beside sentences/s.
 *
 * Two calls, with the PyTorch reference between them:
 *   node fused-decode.cjs --write=DIR [--configs=small,base --sentences=N --offset=50 --chunk=64]
 *     writes DIR/<config>.ckpt (a workbench checkpoint, ABLCKPT2) and DIR/<config>.in.json
 *     (torch_beam.py's input: the checkpoint, the sources, greedy and beam 4, α 0.6, chunk sentences)
 *   python3 torch_beam.py DIR/<config>.in.json DIR/<config>.torch.json --device cuda --label <config>
 *   node fused-decode.cjs --decode=DIR [--configs=small,base]
 *     reads the checkpoint back (checksum verified) and the sources, warms the pipelines on a few
 *     sentences, decodes each mode with the fused decoder (chunks of `chunk` sentences, as PyTorch)
 *     and prints one line per (config, mode):
 *     {"kind":"decode","engine":"fused","config":…,"mode":"greedy"|"beam 4","sentences":…,"seconds":…,
 *      "sentences_per_second":…,"tokens":…,"identical":… (sentences token-identical to PyTorch's, null
 *      when DIR/<config>.torch.json is missing),"compared":…,"device":…}
 *     or {"kind":"decode","engine":"fused","config":…,"error":…}.
 */
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { expandSpec, parseSpec, type ModelConfig, type RunConfig } from '../contract/spec';
import { FusedDecoder } from '../experiments/fused/decode/decoder';
import { acquireGpu } from '../experiments/fused/runtime/gpu';
import { parameterSpecs } from '../experiments/model/params';
import { mulberry32 } from '../experiments/seeding';
import { readCheckpoint, saveCheckpoint } from '../experiments/train/checkpoint';
import type { Trainer } from '../experiments/train/loop';

interface DecodeBenchConfig {
  readonly dModel: number;
  readonly layers: number;
  readonly heads: number;
  readonly dFf: number;
  readonly vocab: number;
}

export const DECODE_CONFIGS: Record<string, DecodeBenchConfig> = {
  small: { dModel: 64, layers: 2, heads: 4, dFf: 256, vocab: 2000 },
  base: { dModel: 512, layers: 6, heads: 8, dFf: 2048, vocab: 37000 },
};
const BEAM = 4;
const ALPHA = 0.6;

const args = process.argv.slice(2);
const value = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const names = (value('configs') ?? 'small,base').split(',').map((s) => s.trim()).filter(Boolean);

function runConfig(c: DecodeBenchConfig, offset: number): RunConfig {
  const base = expandSpec(parseSpec({
    name: 'decode-device-check', data: { task: 'synthetic-copy', vocab: 8, tokenizer: { kind: 'word' } },
    base: { layers: c.layers, d_model: c.dModel, d_ff: c.dFf, heads: c.heads, d_k: c.dModel / c.heads, d_v: c.dModel / c.heads, positional: 'sinusoidal' },
    train: { seeds: [1] },
  }))[0].config;
  return { ...base, train: { ...base.train, decode: { ...base.train.decode, beam: BEAM, alpha: ALPHA, max_len_offset: offset } } };
}

/** Random weights by parameterSpecs, then sharpened (see the file comment). */
function sharpWeights(model: ModelConfig, vocab: number, seed: number): Map<string, Float32Array> {
  const random = mulberry32(seed);
  const out = new Map<string, Float32Array>();
  for (const spec of parameterSpecs(model, vocab, vocab)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const w = new Float32Array(size);
    const noise = () => (random() - 0.5) * 0.4;
    if (spec.name.endsWith('/gamma')) for (let i = 0; i < size; i++) w[i] = 1 + noise();
    else if (spec.init === 'zeros') for (let i = 0; i < size; i++) w[i] = noise();
    else {
      const fanIn = spec.shape[0];
      const fanOut = spec.shape[spec.shape.length - 1];
      const limit = spec.init === 'embedding' ? Math.sqrt(3 / model.d_model) : Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < size; i++) w[i] = 2 * limit * (2 * random() - 1);
    }
    out.set(spec.name, w);
  }
  return out;
}

/** Multi30k-like source lengths (see the file comment), uniform ids in [4, vocab). */
function sources(count: number, seed: number, vocab: number): number[][] {
  const random = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Array.from({ length: count }, () => {
    const len = Math.min(40, Math.max(4, Math.round(13 + 4.5 * gauss())));
    return Array.from({ length: len }, () => 4 + Math.floor(random() * (vocab - 4)));
  });
}

/** saveCheckpoint reads a Trainer's variables and Adam state; a bare model has zero moments. */
async function writeCheckpoint(path: string, config: RunConfig, vocab: number, weights: Map<string, Float32Array>): Promise<void> {
  const tensor = (data: Float32Array, shape: readonly number[]) => ({ dtype: 'float32', shape, data: async () => data });
  const specs = parameterSpecs(config.model, vocab, vocab);
  const zeros = new Map(specs.map((s) => [s.name, tensor(new Float32Array(weights.get(s.name)!.length), s.shape)]));
  const view = {
    model: { variables: specs.map((s) => ({ name: s.name, trainable: true, ...tensor(weights.get(s.name)!, s.shape) })) },
    optimizer: { state: () => ({ t: 0, m: zeros, v: zeros }) },
    step: 0,
    options: { seed: 1 },
  };
  await saveCheckpoint(path, { trainer: view as unknown as Trainer, config, batchPosition: null, tokenizers: { src: null, tgt: null, shared: true }, vocab: { src: vocab, tgt: vocab } });
}

async function write(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const offset = Number(value('offset') ?? 50);
  const chunk = Number(value('chunk') ?? 64);
  for (const name of names) {
    const c = DECODE_CONFIGS[name];
    if (!c) throw new Error(`--configs: unknown config ${name} (small or base)`);
    const count = Number(value('sentences') ?? (name === 'base' ? 256 : 512));
    const config = runConfig(c, offset);
    const ckpt = join(dir, `${name}.ckpt`);
    await writeCheckpoint(ckpt, config, c.vocab, sharpWeights(config.model, c.vocab, 1));
    const runs = [{ search: 'greedy', max_len_offset: offset }, { search: 'beam', beam: BEAM, alpha: ALPHA, max_len_offset: offset }];
    writeFileSync(join(dir, `${name}.in.json`), JSON.stringify({ checkpoint: ckpt, sources: sources(count, 7, c.vocab), runs, batch_sentences: chunk, threads: 1 }));
    console.log(`decode ${name}: ${ckpt}, ${count} sentences, max_len_offset ${offset}, ${chunk} sentences per chunk`);
  }
}

interface TorchOut { readonly runs: readonly { readonly search: string; readonly hypotheses: number[][] }[] }

async function decode(dir: string): Promise<void> {
  const gpu = await acquireGpu();
  for (const name of names) {
    let decoder: FusedDecoder | null = null;
    try {
      const spec = JSON.parse(readFileSync(join(dir, `${name}.in.json`), 'utf8')) as { checkpoint: string; sources: number[][]; runs: { search: string; max_len_offset: number }[]; batch_sentences: number };
      const ckpt = readCheckpoint(spec.checkpoint);
      const config = ckpt.header.config.model;
      const vocab = ckpt.header.vocab.tgt;
      const src = spec.sources.map((s) => Int32Array.from(s));
      const offset = spec.runs[0].max_len_offset;
      const chunk = spec.batch_sentences;
      const torchPath = join(dir, `${name}.torch.json`);
      const torch = existsSync(torchPath) ? (JSON.parse(readFileSync(torchPath, 'utf8')) as TorchOut) : null;
      const maxSrcLen = Math.max(...src.map((s) => s.length));
      decoder = new FusedDecoder(gpu, config, ckpt.header.vocab.src, vocab, ckpt.tensors.weight, { maxRows: chunk * BEAM, maxSentences: chunk, maxSrcLen, maxLenOffset: offset });
      // Pipelines compile on first use: warm both modes on a few sentences, outside the timings.
      const warm = src.slice(0, 4);
      await decoder.greedy(warm, { maxLenOffset: offset, maxRows: chunk });
      await decoder.beam(warm, { maxLenOffset: offset, maxRows: chunk * BEAM, beam: BEAM, alpha: ALPHA });
      for (const mode of ['greedy', `beam ${BEAM}`]) {
        const t0 = performance.now();
        const out = mode === 'greedy'
          ? await decoder.greedy(src, { maxLenOffset: offset, maxRows: chunk })
          : await decoder.beam(src, { maxLenOffset: offset, maxRows: chunk * BEAM, beam: BEAM, alpha: ALPHA });
        const seconds = (performance.now() - t0) / 1000;
        const ref = torch?.runs.find((r) => r.search === (mode === 'greedy' ? 'greedy' : 'beam'))?.hypotheses;
        const identical = ref ? out.filter((h, i) => h.join() === ref[i]?.join()).length : null;
        console.log(JSON.stringify({
          kind: 'decode', engine: 'fused', config: name, mode, sentences: src.length, seconds, sentences_per_second: src.length / seconds,
          tokens: out.reduce((a, h) => a + h.length, 0), identical, compared: ref ? ref.length : 0, device: gpu.adapterDescription,
          chunk, max_len_offset: offset,
        }));
      }
    } catch (err) {
      console.log(JSON.stringify({ kind: 'decode', engine: 'fused', config: name, error: (err instanceof Error ? err.message : String(err)).split('\n')[0] }));
    } finally {
      decoder?.destroy();
    }
  }
}

const writeDir = value('write');
const decodeDir = value('decode');
(writeDir ? write(writeDir) : decodeDir ? decode(decodeDir) : Promise.reject(new Error('expected --write=DIR or --decode=DIR'))).then(
  () => process.exit(0),
  (err: unknown) => {
    console.log(JSON.stringify({ kind: 'decode', engine: 'fused', error: (err instanceof Error ? err.message : String(err)).split('\n')[0] }));
    process.exit(0);
  },
);
