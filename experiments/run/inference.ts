/**
 * Using a trained run: open a checkpoint (config + tokenizers + weights), translate sentences
 * (`ablate translate`), and read the attention maps of one sentence (the UI's heatmaps).
 *
 * Runs in whichever process asks (the workbench's inference process). The tfjs decoder uses the tfjs
 * backend already active there, or wasm (then cpu) when none was chosen yet: never webgpu by
 * default, because Dawn cannot run inside Electron's process cage (ARCHITECTURE.md). The checkpoint
 * of a run that trained on the fused engine decodes on the fused WebGPU decoder
 * (experiments/fused/decode/inference.ts, the same tokens) when a WebGPU adapter exists
 * (openForInference); otherwise, and for a beam it cannot take, on tfjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AttentionMaps } from '../../contract/api';
import { selectBackend } from '../backend';
import { toBatch } from '../data/batches';
import { loadTokenizer } from '../data/tokenizer';
import type { EncodedPair, TextTokenizer } from '../data/types';
import { createModel } from '../model/transformer';
import type { Seq2SeqModel } from '../model/types';
import type { RunConfig } from '../../contract/spec';
import type { BackendName } from '../../contract/backends';
import { readCheckpoint, restoreWeights } from '../train/checkpoint';
import { FusedCheckpointDecoder } from '../fused/decode/inference';
import { acquireGpu, type Gpu } from '../fused/runtime/gpu';
import { translateIds } from './evaluate';

interface OpenedRun {
  readonly path: string;
  readonly step: number;
  readonly config: RunConfig;
  readonly srcTokenizer: TextTokenizer;
  readonly tgtTokenizer: TextTokenizer;
  /** Frees the model's weights. */
  dispose(): void;
}

/** A checkpoint on the tfjs decoder. */
export interface TfjsRun extends OpenedRun {
  readonly decoder: 'tfjs';
  readonly model: Seq2SeqModel;
  /** Why a fused decoder was asked for and not used (no WebGPU adapter, Electron's process), if so. */
  readonly fusedUnavailable?: string;
}

/** A fused run's checkpoint on the fused WebGPU decoder. */
export interface FusedRun extends OpenedRun {
  readonly decoder: 'fused';
  readonly fused: FusedCheckpointDecoder;
  /** The same checkpoint on tfjs, opened on first need (a beam the fused decoder cannot take). */
  tfjs(): Promise<TfjsRun>;
}

export type LoadedRun = TfjsRun | FusedRun;

/** Uses the active backend if one is initialised; otherwise selects `preferred` (default wasm, falling back to cpu). */
async function ensureBackend(preferred?: BackendName): Promise<void> {
  if (preferred) {
    await selectBackend(preferred);
    return;
  }
  // tf.getBackend() would initialise the highest-priority registered backend (maybe webgpu): ask the engine instead.
  if (tf.engine().backendName) return;
  try {
    await selectBackend('wasm');
  } catch {
    await selectBackend('cpu');
  }
}

/**
 * Loads a checkpoint written by a run: rebuilds its model from the stored config and restores
 * the weights (the Adam moments in the file are not loaded).
 * @example const run = await openCheckpoint('/data/runs/7/step-00002000.ckpt');
 */
export async function openCheckpoint(path: string, opts: { backend?: BackendName } = {}): Promise<TfjsRun> {
  await ensureBackend(opts.backend);
  const ckpt = readCheckpoint(path);
  const { header } = ckpt;
  const srcTokenizer = loadTokenizer(header.tokenizers.src);
  const tgtTokenizer = header.tokenizers.shared ? srcTokenizer : loadTokenizer(header.tokenizers.tgt);
  const model = createModel(header.config.model, header.vocab.src, header.vocab.tgt, header.config.seed);
  try {
    restoreWeights(model.variables, ckpt.tensors.weight, path);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { decoder: 'tfjs', path, step: header.step, config: header.config, model, srcTokenizer, tgtTokenizer, dispose: () => model.dispose() };
}

/**
 * Opens a checkpoint on the decoder of the engine its run trained on: `engine: 'fused'` gives the
 * fused WebGPU decoder when a WebGPU adapter exists (`gpu`, default the process's Dawn device), and
 * tfjs otherwise, as every other run.
 * @example const run = await openForInference('/data/runs/7/step-00002000.ckpt', { engine: 'fused' }); // run.decoder: 'fused'
 */
export async function openForInference(path: string, opts: { engine?: 'tfjs' | 'fused'; backend?: BackendName; gpu?: () => Promise<Gpu> } = {}): Promise<LoadedRun> {
  if (opts.engine !== 'fused') return openCheckpoint(path, opts);
  let gpu: Gpu;
  try {
    if (process.versions.electron) throw new Error("Dawn cannot load inside Electron's memory cage");
    gpu = await (opts.gpu ?? acquireGpu)();
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    return { ...(await openCheckpoint(path, opts)), fusedUnavailable: reason };
  }
  const ckpt = readCheckpoint(path);
  const { header } = ckpt;
  const srcTokenizer = loadTokenizer(header.tokenizers.src);
  const tgtTokenizer = header.tokenizers.shared ? srcTokenizer : loadTokenizer(header.tokenizers.tgt);
  const fused = new FusedCheckpointDecoder(gpu, header.config, header.vocab, ckpt.tensors.weight);
  // Requests run one at a time, so the twin has resolved by the time the run is disposed (synchronously: tfjs variable names are global).
  let twin: TfjsRun | null = null;
  let tfjs: Promise<TfjsRun> | null = null;
  return {
    decoder: 'fused',
    path,
    step: header.step,
    config: header.config,
    srcTokenizer,
    tgtTokenizer,
    fused,
    tfjs: () => (tfjs ??= openCheckpoint(path, opts).then((r) => (twin = r))),
    dispose: () => {
      fused.destroy();
      twin?.dispose();
    },
  };
}

/** The tfjs side of `run` (its own model, or a fused run's tfjs twin). */
const tfjsOf = (run: LoadedRun): Promise<TfjsRun> => (run.decoder === 'tfjs' ? Promise.resolve(run) : run.tfjs());

/** Source ids as training saw them: tokenized and cut to data.max_len tokens. */
function encodeSource(run: LoadedRun, sentence: string): Int32Array {
  const ids = run.srcTokenizer.encode(sentence.trim());
  return Int32Array.from(ids.slice(0, run.config.data.max_len));
}

/**
 * Translates sentences with beam search (beam 1 = greedy), max length source + max_len_offset.
 * @example await translate(run, ['ein Hund läuft .'], { beam: 4, alpha: 0.6 }) // ['a dog runs .']
 */
export async function translate(run: LoadedRun, sentences: string[], opts: { beam: number; alpha: number }): Promise<string[]> {
  const sources = sentences.map((s) => encodeSource(run, s));
  const ids =
    run.decoder === 'fused' && !run.fused.problem(opts.beam)
      ? await run.fused.translate(sources, opts)
      : await translateIds((await tfjsOf(run)).model, sources, { beam: opts.beam, alpha: opts.alpha, maxLenOffset: run.config.train.decode.max_len_offset });
  return ids.map((h) => run.tgtTokenizer.decode(h));
}

/** [1, heads, q, k] tensors → [layer][head][query][key] numbers (asynchronous read: webgpu has no synchronous one in Node). */
async function toNested(maps: readonly tf.Tensor4D[]): Promise<number[][][][]> {
  return Promise.all(maps.map(async (m) => ((await m.array()) as number[][][][])[0]));
}

/**
 * Translates `sentence` greedily, then runs the model teacher-forced on its own translation and
 * returns every attention map. Query rows of decoder maps are labelled with the token each
 * position outputs (the translation's pieces, then </s>); key columns of the decoder
 * self-attention with the tokens fed in (<s>, then the translation's pieces).
 */
export async function attentionMaps(run: LoadedRun, sentence: string): Promise<AttentionMaps> {
  const src = encodeSource(run, sentence);
  if (run.decoder === 'fused' && !run.fused.problem(1)) {
    // The fused decoder writes the maps along its greedy decode (equal to the teacher-forced pass's within 1e-4).
    const { hypothesis, ...maps } = await run.fused.attentionMaps(src);
    return { ...labels(run, src, hypothesis), ...maps };
  }
  const tfRun = await tfjsOf(run);
  const [hyp] = await translateIds(tfRun.model, [src], { beam: 1, alpha: 0, maxLenOffset: run.config.train.decode.max_len_offset });
  const pair: EncodedPair = { source: sentence, target: '', src, tgt: Int32Array.from(hyp) };
  const batch = toBatch([pair]);
  const weights = tf.tidy(() => {
    const srcT = tf.tensor2d(batch.src, [1, batch.srcLen], 'int32');
    const tgtIn = tf.tensor2d(batch.tgtIn, [1, batch.tgtLen], 'int32');
    const w = tfRun.model.attention(srcT, tgtIn).weights;
    return { encoderSelf: w.encoderSelf, decoderSelf: w.decoderSelf, cross: w.cross };
  });
  let result: { encoderSelf: number[][][][]; decoderSelf: number[][][][]; cross: number[][][][] };
  try {
    const [encoderSelf, decoderSelf, cross] = await Promise.all([toNested(weights.encoderSelf), toNested(weights.decoderSelf), toNested(weights.cross)]);
    result = { encoderSelf, decoderSelf, cross };
  } finally {
    tf.dispose([...weights.encoderSelf, ...weights.decoderSelf, ...weights.cross]);
  }
  return { ...labels(run, src, hyp), ...result };
}

/** Row and column labels of the maps and the translation they belong to. */
function labels(run: LoadedRun, src: Int32Array, hyp: number[]): Pick<AttentionMaps, 'sourceTokens' | 'targetTokens' | 'translation'> {
  return {
    sourceTokens: run.srcTokenizer.pieces(Array.from(src)),
    targetTokens: [...run.tgtTokenizer.pieces(hyp), '</s>'],
    translation: run.tgtTokenizer.decode(hyp),
  };
}
