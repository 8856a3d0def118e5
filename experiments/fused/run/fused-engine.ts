/// <reference types="@webgpu/types" />
/**
 * A run on the fused WebGPU engine (contract/backends.ts `fused`), behind run-job.ts's RunEngine seam.
 *
 * Buckets: one FusedTransformer per padded (rows, length) bucket (buckets.ts), built the first time a
 * batch needs it; its pipelines, bind groups and activations stay for the run. Every bucket engine
 * shares the run's one ParameterStore (weights, gradients, Adam moments, step), so switching buckets
 * moves nothing.
 *
 * Losses come back asynchronously: a step is recorded and submitted, and its loss (a 2-float staging
 * copy) is awaited only when LAG later steps are in flight, or at the steps the run settles on (logging,
 * evaluation, checkpoints, the last one), so nothing reads back inside a step.
 *
 * Validation loss and perplexity run on the engine (dropout off). Decoding (BLEU, samples, stored
 * hypotheses) runs on the fused decoder (decode/decoder.ts) bound to the run's ParameterStore: no copy,
 * the weights of the step just trained, sentences in evaluate.ts's length-sorted chunks of
 * DECODE_CHUNK (beam rows = chunk × beam), the tfjs decoder's tokens. Its buffers are built once, on
 * the first evaluation, sized by the longest dev/test source. A config the fused decoder cannot decode
 * (fusedDecodeProblem) decodes on the process's one tfjs model (wasm or cpu) instead, refreshed from
 * the GPU when the weights changed, and the run's record says so (`decoding`). Checkpoints are
 * model/checkpoint.ts's, in the tfjs engine's format, so a run resumes on either engine.
 */
import type { RunConfig } from '../../../contract/spec';
import { evalBatches, type BatchStream } from '../../data/index';
import type { EncodedPair } from '../../data/types';
import { perplexity } from '../../metrics/perplexity';
import type { Seq2SeqModel } from '../../model/types';
import { restoreWeights, type LoadedCheckpoint } from '../../train/checkpoint';
import type { StepReport } from '../../train/loop';
import { noamLearningRate } from '../../train/schedule';
import type { RunEngine, TrainOptions } from '../../run/engine';
import { averageCheckpoints, DECODE_CHUNK, translateIds, type DecodeSettings } from '../../run/evaluate';
import { FusedDecoder, fusedDecodeProblem, type FusedDecoderLimits } from '../decode/decoder';
import type { Gpu } from '../runtime/gpu';
import { FusedTransformer, ParameterStore } from '../model/engine';
import { restoreFused, saveFusedCheckpoint } from '../model/checkpoint';
import { bucketOf, padBatch, type BucketKey } from './buckets';

/** Steps whose loss may still be in flight while the next one is recorded (the engine's ring holds 4). */
const LAG = 2;

interface BucketEngine {
  readonly key: BucketKey;
  readonly engine: FusedTransformer;
  readonly pad: { src: Int32Array; tgtIn: Int32Array; tgtOut: Int32Array };
}

interface HostState {
  t: number;
  weights: ReadonlyMap<string, ArrayLike<number>>;
  m?: ReadonlyMap<string, ArrayLike<number>>;
  v?: ReadonlyMap<string, ArrayLike<number>>;
}

const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What the run decodes, known when it starts. */
export interface FusedDecodeSetup {
  /** Longest source (tokens) of the splits the run decodes (dev and test): the decoder's buffers are sized by it. */
  readonly longestSource: number;
  /** The tfjs side of the process (e.g. "wasm, CPU (wasm SIMD, 1 thread)"), named when it decodes instead. */
  readonly tfjs: string;
}

/** Counters of the steps trained in this process (the bench and the run log read them). */
export interface FusedRunStats {
  steps: number;
  hostMs: number;
  dispatches: number;
  buckets: number;
  bucketSwitches: number;
}

export class FusedRunEngine implements RunEngine {
  readonly paramCount: number;
  readonly stats: FusedRunStats = { steps: 0, hostMs: 0, dispatches: 0, buckets: 0, bucketSwitches: 0 };
  private readonly buckets = new Map<string, BucketEngine>();
  /** The run's weights, Adam state and step, shared by every bucket engine (null until the first bucket). */
  private store: ParameterStore | null = null;
  /** The bucket last used (its engine reads the store back for checkpoints and decoding). */
  private active: BucketEngine | null = null;
  /** State for the first bucket engine: the tfjs model's initial weights, or a checkpoint's. */
  private initial: HostState;
  /** The tfjs model holds the weights of this step (−1: stale); it decodes only when the fused decoder cannot. */
  private decoderStep: number;
  /** Why the fused decoder cannot decode this run (then tfjs does), or null. */
  private readonly decodeProblem: string | null;
  private fusedDecoder: FusedDecoder | null = null;
  private decodeLimits: FusedDecoderLimits;
  readonly decoding: string;

  /**
   * @param model the process's tfjs model (wasm/cpu): its initial weights start the run (the tfjs
   *   engine's initialisation, same seed) and it decodes.
   */
  constructor(
    private readonly gpu: Gpu,
    private readonly cfg: RunConfig,
    private readonly vocab: { readonly src: number; readonly tgt: number },
    private readonly model: Seq2SeqModel,
    decode: FusedDecodeSetup = { longestSource: cfg.data.max_len, tfjs: 'tfjs' },
  ) {
    this.paramCount = model.paramCount;
    this.initial = { t: 0, weights: new Map(model.variables.map((v) => [v.name, v.dataSync() as Float32Array])) };
    this.decoderStep = 0;
    const beam = Math.max(1, cfg.train.decode.beam);
    this.decodeLimits = { maxRows: DECODE_CHUNK * beam, maxSentences: DECODE_CHUNK, maxSrcLen: Math.max(1, decode.longestSource), maxLenOffset: cfg.train.decode.max_len_offset };
    this.decodeProblem = fusedDecodeProblem(cfg.model, this.decodeLimits, beam);
    this.decoding = this.decodeProblem ? `tfjs ${decode.tfjs} (${this.decodeProblem})` : 'the fused decoder (WebGPU)';
  }

  get step(): number {
    return this.store ? this.store.t : this.initial.t;
  }

  nextLearningRate(): number {
    const t = this.cfg.train;
    return noamLearningRate(this.step + 1, this.cfg.model.d_model, t.warmup, t.lr_factor);
  }

  /** Buckets built so far (their keys), for logs and tests. */
  get bucketKeys(): BucketKey[] {
    return [...this.buckets.values()].map((b) => b.key);
  }

  private bucket(key: BucketKey): BucketEngine {
    const id = `${key.rows}x${key.len}`;
    let b = this.buckets.get(id);
    if (!b) {
      const t = this.cfg.train;
      const engine = new FusedTransformer(
        this.gpu, this.cfg.model, this.vocab.src, this.vocab.tgt, { batch: key.rows, srcLen: key.len, tgtLen: key.len },
        { labelSmoothing: this.cfg.model.label_smoothing, clipNorm: t.clip_norm, seed: this.cfg.seed },
        this.store ?? undefined,
      );
      if (!this.store) {
        this.store = engine.store;
        this.load(engine, this.initial);
      }
      const n = key.rows * key.len;
      b = { key, engine, pad: { src: new Int32Array(n), tgtIn: new Int32Array(n), tgtOut: new Int32Array(n) } };
      this.buckets.set(id, b);
      this.stats.buckets++;
    }
    return b;
  }

  private activate(b: BucketEngine): void {
    if (this.active && this.active !== b) this.stats.bucketSwitches++;
    this.active = b;
  }

  /** Writes a host state into the shared store (the first bucket's engine writes it). */
  private load(engine: FusedTransformer, s: HostState): void {
    if (s.m && s.v) engine.importState({ t: s.t, weights: s.weights, m: s.m, v: s.v });
    else {
      engine.setWeights((n) => s.weights.get(n)!);
      engine.store.t = s.t;
    }
  }

  /** The active bucket, or a 1×1 one when nothing was trained yet (a checkpoint at step 0). */
  private current(): BucketEngine {
    if (!this.active) this.activate(this.bucket({ rows: 1, len: 1 }));
    return this.active!;
  }

  restore(ckpt: LoadedCheckpoint): void {
    const state: HostState = { t: ckpt.header.adam.t, weights: ckpt.tensors.weight, m: ckpt.tensors.adam_m, v: ckpt.tensors.adam_v };
    if (this.active) restoreFused(this.active.engine, ckpt);
    else this.initial = state;
    restoreWeights(this.model.variables, ckpt.tensors.weight, 'checkpoint');
    this.decoderStep = state.t;
  }

  async save(path: string, input: Parameters<RunEngine['save']>[1]): Promise<void> {
    await saveFusedCheckpoint(path, this.current().engine, input);
  }

  async *train(stream: BatchStream, opts: TrainOptions): AsyncGenerator<StepReport> {
    const batchTokens = this.cfg.train.batch_tokens;
    const pending: { step: number; lr: number; tokens: number; loss: Promise<number> }[] = [];
    let last = performance.now();
    const settle = async (): Promise<StepReport> => {
      const p = pending.shift()!;
      const loss = await p.loss;
      const now = performance.now();
      const seconds = (now - last) / 1000;
      last = now;
      return { step: p.step, loss, lr: p.lr, tokens: p.tokens, seconds, tokensPerSecond: p.tokens / Math.max(seconds, 1e-9) };
    };
    try {
      while (this.step < opts.totalSteps) {
        await macrotask();
        if (opts.shouldStop()) break;
        const batch = stream.next();
        const key = bucketOf(batch, batchTokens);
        const b = this.bucket(key);
        this.activate(b);
        const lr = this.nextLearningRate();
        // Resolves at once unless the engine's read-back ring is full (it then waits for the oldest loss).
        const st = await b.engine.trainStep(padBatch(batch, key, b.pad), lr);
        st.loss.catch(() => undefined); // awaited below; a run torn down early must not leave an unhandled rejection
        this.stats.steps++;
        this.stats.hostMs += st.hostMs;
        this.stats.dispatches += st.dispatches;
        this.decoderStep = -1;
        const step = this.step;
        pending.push({ step, lr, tokens: batch.targetTokens, loss: st.loss });
        const keep = opts.settleAt(step) || step >= opts.totalSteps ? 0 : LAG;
        while (pending.length > keep) yield await settle();
      }
      while (pending.length) yield await settle();
    } finally {
      // The caller broke out (divergence): let the steps in flight finish before anything is read or freed.
      await Promise.allSettled(pending.map((p) => p.loss));
    }
  }

  async evaluateLoss(pairs: readonly EncodedPair[], batchTokens: number): Promise<{ loss: number; ppl: number; tokens: number }> {
    let sum = 0;
    let tokens = 0;
    for (const batch of evalBatches(pairs, batchTokens)) {
      const key = bucketOf(batch, batchTokens);
      const b = this.bucket(key);
      this.activate(b);
      const r = await b.engine.evaluate(padBatch(batch, key, b.pad));
      sum += r.sumNll;
      tokens += r.tokens;
    }
    return { loss: tokens ? sum / tokens : NaN, ppl: tokens ? perplexity(sum, tokens) : NaN, tokens };
  }

  /** Decodes from the store's current weights: the fused decoder, or tfjs when it cannot (decodeProblem). */
  readonly translate = async (sources: readonly Int32Array[], settings: DecodeSettings): Promise<number[][]> => {
    if (this.decodeProblem) return translateIds(await this.tfjsModel(), sources, settings);
    const decoder = this.decoderFor(sources, settings);
    const opts = { maxLenOffset: settings.maxLenOffset, maxRows: DECODE_CHUNK * settings.beam };
    return settings.beam > 1 ? decoder.beam(sources, { ...opts, beam: settings.beam, alpha: settings.alpha }) : decoder.greedy(sources, opts);
  };

  /** The fused decoder on the shared store, built once (rebuilt larger only for inputs beyond its limits). */
  private decoderFor(sources: readonly Int32Array[], settings: DecodeSettings): FusedDecoder {
    const store = this.store ?? this.current().engine.store;
    const want: FusedDecoderLimits = {
      maxRows: Math.max(this.decodeLimits.maxRows, DECODE_CHUNK * settings.beam),
      maxSentences: DECODE_CHUNK,
      maxSrcLen: Math.max(this.decodeLimits.maxSrcLen, ...sources.map((s) => s.length)),
      maxLenOffset: Math.max(this.decodeLimits.maxLenOffset, settings.maxLenOffset),
    };
    const have = this.decodeLimits;
    if (!this.fusedDecoder || want.maxRows > have.maxRows || want.maxSrcLen > have.maxSrcLen || want.maxLenOffset > have.maxLenOffset) {
      this.fusedDecoder?.destroy();
      this.fusedDecoder = null;
      this.decodeLimits = want;
      this.fusedDecoder = FusedDecoder.fromStore(store, want);
    }
    return this.fusedDecoder;
  }

  private async tfjsModel(): Promise<Seq2SeqModel> {
    if (this.decoderStep !== this.step || !this.active) {
      if (this.active) restoreWeights(this.model.variables, await this.active.engine.readSlab('params'), 'the fused engine');
      this.decoderStep = this.step;
    }
    return this.model;
  }

  async average(dir: string, k: number): Promise<ReturnType<typeof averageCheckpoints>> {
    const r = averageCheckpoints(this.model, dir, k);
    if (r.steps.length >= 2) {
      // The averaged weights go back to the engine (valid loss); Adam state and step stay.
      const engine = this.current().engine;
      const state = await engine.exportState();
      engine.importState({ t: state.t, weights: new Map(this.model.variables.map((v) => [v.name, v.dataSync() as Float32Array])), m: state.m, v: state.v });
      this.decoderStep = this.step;
    }
    return r;
  }

  dispose(): void {
    this.fusedDecoder?.destroy();
    this.fusedDecoder = null;
    for (const b of this.buckets.values()) b.engine.destroy();
    this.store?.destroy();
    this.store = null;
    this.buckets.clear();
    this.active = null;
    this.model.dispose();
  }
}
