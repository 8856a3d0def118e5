/// <reference types="@webgpu/types" />
/**
 * Batched incremental decoding on the fused WebGPU engine: greedy and beam search with the rules of
 * the tfjs decoder (experiments/decode/index.ts, the reference), token for token.
 *
 * Per chunk of sentences (sorted by source length, as the tfjs decoder chunks them):
 *   - the encoder runs once on the GPU (the fused engine's kernels), then each decoder layer's
 *     cross-attention keys/values are projected once;
 *   - each decoder step is one group of dispatches for every row (sentence × beam copy): embedding
 *     at position t, per layer the new position's K|V appended to a preallocated cache
 *     [rows, max length, h·d_k + h·d_v], single-query attention over the cache and over the source,
 *     FFN, residual + LayerNorm, the output projection and a log-softmax with PAD/BOS/UNK at −∞.
 *     The position t lives in a GPU word that the step's last dispatch increments, so several steps
 *     are recorded into one command encoder;
 *   - greedy: the argmax is taken on the GPU and fed back as the next input there; only the token
 *     history comes back, asynchronously, every GREEDY_STEPS_PER_READ steps (one group in flight
 *     while the host checks the previous one);
 *   - beam: the top 2K of (alive score + log-probability) over K × V per sentence are taken on the
 *     GPU and only those come back; the host applies the tfjs decoder's finished-hypothesis rules
 *     (EOS only among the top K, GNMT length penalty, stop at K finished or when no live hypothesis
 *     can win, EOS forced and charged at the length limit) and writes back parents, next tokens,
 *     scores and the forced-EOS rows; the next step starts by reordering the cache on the GPU.
 *
 * Weights: the decoder's own slab (setWeights, from tfjs names), or a training run's ParameterStore
 * slab bound in place (fromStore: no copy, every decode sees the run's current weights; tied
 * embeddings are transposed on the GPU at the start of each decode).
 *
 * Every buffer is allocated once, sized by the limits (rows, source length, max_len_offset);
 * dispatches and bind groups are built once per chunk shape (sentences, source width, beam).
 */
import type { ModelConfig } from '../../../contract/spec';
import { BOS_ID, EOS_ID, PAD_ID, UNK_ID } from '../../data/types';
import { hypothesisLimit, lengthPenalty } from '../../decode/index';
import { attentionNames, embeddingNames, parameterSpecs } from '../../model/params';
import { sinusoidalTable } from '../../model/positional';
import { attentionForward, MAX_ATTENTION_LEN } from '../kernels/attention';
import { StepParams } from '../kernels/common';
import { embeddingForward } from '../kernels/embedding';
import { residualNormForward } from '../kernels/layernorm';
import { matmul, type MatmulOptions } from '../kernels/matmul';
import type { FusedTransformer, ParameterStore } from '../model/engine';
import { type Binding, type Dispatch, type Gpu, kernelShape } from '../runtime/gpu';
import { MemoryPlan, SlabLayout } from '../runtime/memory';
import { ReadPacer } from '../runtime/pacer';
import { beamTopK, decEmbed, kvAppend, logSoftmax, MAX_DECODE_LEN, MAX_HEAD, MAX_TAKE, queryAttention, reorderCache, rowsMatmul, stepEnd, transpose } from './kernels';

export interface FusedDecoderLimits {
  /** Decoder rows (sentences × beam) per chunk; buffers are sized by it. */
  readonly maxRows: number;
  /** Longest source (tokens) a chunk may hold. */
  readonly maxSrcLen: number;
  /** The largest max_len_offset a decode may ask for. */
  readonly maxLenOffset: number;
  /** Sentences per chunk (the encoder's buffers are sized by it; default maxRows). */
  readonly maxSentences?: number;
}

/**
 * Weights that live in another owner's GPU slab (a training run's ParameterStore): the decoder binds
 * slices of `buffer` by `layout`'s entries (a LayerNorm's γ and β as one `…/norm` entry [γ | β], the
 * fused engine's convention) and never copies them, so it always decodes the owner's current weights.
 */
export interface SharedWeights {
  readonly buffer: GPUBuffer;
  readonly layout: SlabLayout;
}

export interface FusedDecodeOptions {
  readonly maxLenOffset: number;
  /** Rows per chunk (default and ceiling: the limits' maxRows). */
  readonly maxRows?: number;
}

export interface FusedBeamOptions extends FusedDecodeOptions {
  readonly beam: number;
  readonly alpha: number;
}

/**
 * Why the fused decoder cannot decode with `limits` and beam `beam` (one line), or null: sources
 * beyond the attention kernel, hypotheses beyond the single-query kernel's cache, heads wider than it
 * holds, a beam whose 2K candidates exceed the top-k kernel.
 */
export function fusedDecodeProblem(config: ModelConfig, limits: FusedDecoderLimits, beam = 1): string | null {
  if (limits.maxSrcLen > MAX_ATTENTION_LEN) return `fused decoding: sources of at most ${MAX_ATTENTION_LEN} tokens; got ${limits.maxSrcLen}`;
  const maxT = hypothesisLimit({ config }, limits.maxSrcLen, limits.maxLenOffset) + 1;
  if (maxT > MAX_DECODE_LEN) return `fused decoding: hypotheses of at most ${MAX_DECODE_LEN - 1} tokens; source ${limits.maxSrcLen} + max_len_offset ${limits.maxLenOffset} allows ${maxT - 1}`;
  if (config.d_k > MAX_HEAD || config.d_v > MAX_HEAD) return `fused decoding: d_k and d_v up to ${MAX_HEAD}; got ${config.d_k}, ${config.d_v}`;
  if (2 * beam > MAX_TAKE) return `fused decoding: beam at most ${MAX_TAKE / 2}; got ${beam}`;
  return null;
}

/** Greedy steps recorded per submit (and per token read-back): few, since a chunk stops only at a read-back (2 against 4: 101 against 94 sentences per CPU-second on 32-row chunks, profile.ts). */
export const GREEDY_STEPS_PER_READ = 2;

type SublayerKind = 'self' | 'cross' | 'ffn';
interface Sublayer {
  readonly kind: SublayerKind;
  readonly prefix: string;
  readonly norm: string;
  readonly layer: number;
}

/** Attention-map outputs for one sentence (created on the first attentionMaps call). */
interface MapBuffers {
  readonly encoderSelf: GPUBuffer;
  readonly decoderSelf: GPUBuffer;
  readonly cross: GPUBuffer;
  /** Where the map dispatches of the encoder put their (unused) context. */
  readonly ctx: GPUBuffer;
}

/** Attention probabilities [layer][head][query][key], as experiments/run/inference.ts attentionMaps gives them. */
export interface FusedAttentionMaps {
  /** The greedy hypothesis the decoder maps were taken along (no BOS/EOS). */
  readonly hypothesis: number[];
  readonly encoderSelf: number[][][][];
  /** Query rows: the hypothesis' positions then the one that emits EOS (or would follow the length limit). */
  readonly decoderSelf: number[][][][];
  readonly cross: number[][][][];
}

interface ShapePlan {
  readonly encoder: Dispatch[];
  readonly step: Dispatch[];
  readonly reorder: Dispatch[];
  readonly topk?: Dispatch;
}

export class FusedDecoder {
  private readonly plan: MemoryPlan;
  private readonly slab: SlabLayout;
  private readonly params: GPUBuffer;
  /** Weights bound from another owner's slab (they may change between decodes). */
  private readonly shared: boolean;
  /** Tied embeddings: output_t = embeddingᵀ must be recomputed before the next decode. */
  private outputStale = true;
  private transposeOutput?: Dispatch;
  private readonly step: StepParams;
  private readonly shapes = new Map<string, ShapePlan>();
  private readonly maxT: number;
  private readonly sublayers: Record<'encoder' | 'decoder', Sublayer[]> = { encoder: [], decoder: [] };
  private readonly ids = { pad: PAD_ID, bos: BOS_ID, unk: UNK_ID, eos: EOS_ID };
  private busy = false;
  /**
   * What decoding cost the host (profile.ts prints them): steps run, command submits, read-backs
   * awaited, dispatches recorded, and milliseconds of host-side work (recording, submitting, beam
   * bookkeeping, uploads; not the waits for the adapter).
   */
  readonly counters = { steps: 0, submits: 0, readBacks: 0, dispatches: 0, hostMs: 0 };
  /** When to request read-backs (pacer.ts): sleeps instead of polling on a CPU adapter. */
  private readonly pacer: ReadPacer;

  /** Reads the engine's current weights (by the tfjs names) into a new decoder. */
  static async fromEngine(gpu: Gpu, engine: FusedTransformer, limits: FusedDecoderLimits): Promise<FusedDecoder> {
    return new FusedDecoder(gpu, engine.config, engine.srcVocab, engine.tgtVocab, await engine.readSlab('params'), limits);
  }

  /** Decodes the weights of a training run's store in place (no copy; they may change between decodes). */
  static fromStore(store: ParameterStore, limits: FusedDecoderLimits): FusedDecoder {
    return new FusedDecoder(store.gpu, store.config, store.srcVocab, store.tgtVocab, { buffer: store.buffer('params'), layout: store.slab }, limits);
  }

  constructor(
    private readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly srcVocab: number,
    readonly tgtVocab: number,
    weights: ReadonlyMap<string, ArrayLike<number>> | SharedWeights,
    readonly limits: FusedDecoderLimits,
  ) {
    const { d_model: d, d_ff: dff, heads: h, d_k: dk, d_v: dv } = config;
    const problem = fusedDecodeProblem(config, limits);
    if (problem) throw new Error(problem);
    this.maxT = Math.max(1, hypothesisLimit({ config }, limits.maxSrcLen, limits.maxLenOffset) + 1);
    this.shared = !(weights instanceof Map);
    this.slab = this.shared ? (weights as SharedWeights).layout : new SlabLayout();
    for (const spec of parameterSpecs(config, srcVocab, tgtVocab)) {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      const [name, floats] = spec.name.endsWith('/gamma') ? [`${spec.name.slice(0, -'/gamma'.length)}/norm`, 2 * d] : [spec.name, size];
      if (spec.name.endsWith('/beta')) continue;
      if (!this.shared) this.slab.add(name, floats);
      else if (this.slab.offsets.get(name)?.size !== floats) throw new Error(`fused decoding: the shared weight slab has no entry ${name} of ${floats} floats`);
    }
    for (const side of ['encoder', 'decoder'] as const) {
      for (let l = 0; l < config.layers; l++) {
        const kinds: [SublayerKind, string][] = side === 'encoder' ? [['self', 'self_attn'], ['ffn', 'ffn']] : [['self', 'self_attn'], ['cross', 'cross_attn'], ['ffn', 'ffn']];
        for (const [kind, name] of kinds) this.sublayers[side].push({ kind, prefix: `${side}/${l}/${name}`, norm: `${side}/${l}/${name}_norm`, layer: l });
      }
    }
    const hk = h * dk;
    const hv = h * dv;
    const kvw = hk + hv;
    const R = limits.maxRows;
    const Re = Math.min(limits.maxSentences ?? R, R) * limits.maxSrcLen;
    const plan = (this.plan = new MemoryPlan(gpu));
    const A = (name: string, floats: number) => plan.add(name, floats);
    if (!this.shared) A('params', this.slab.floats);
    if (config.positional === 'sinusoidal') A('sinusoids', Math.max(limits.maxSrcLen, this.maxT) * d);
    A('src', Re);
    for (const side of ['enc', 'dec'] as const) {
      const rows = side === 'enc' ? Re : R;
      for (const n of ['x0', 'y0', 's0', 's1', 'y0b', 'y1', 'fout']) A(`${side}/${n}`, rows * d);
      A(`${side}/stats`, rows * 2);
      A(`${side}/q`, rows * hk);
      A(`${side}/kv`, rows * kvw);
      A(`${side}/ctx`, rows * hv);
      A(`${side}/hidden`, rows * dff);
    }
    A('enc/lse', Re * h);
    for (let l = 0; l < config.layers; l++) {
      A(`cross/${l}`, Re * kvw);
      A(`cache/${l}`, R * this.maxT * kvw);
    }
    A('cache/scratch', R * this.maxT * kvw);
    A('logits', R * tgtVocab);
    if (config.share_embeddings) A('output_t', d * tgtVocab);
    A('logp', R * tgtVocab);
    A('tokens', R);
    A('hist', R * this.maxT);
    A('force', R);
    A('alive', R);
    A('parents', R);
    A('topk', R * MAX_TAKE * 2);
    A('state', 4);
    plan.addStaging('staging/hist0', R * this.maxT);
    plan.addStaging('staging/hist1', R * this.maxT);
    plan.addStaging('staging/topk', R * MAX_TAKE * 2);
    plan.allocate();
    this.params = this.shared ? (weights as SharedWeights).buffer : plan.get('params');
    this.pacer = new ReadPacer(gpu.features.softwareAdapter);
    this.step = new StepParams(gpu);
    this.step.set({ step: 0, seed: 0, stepSize: 0, invBias2: 0, tokenScale: 0 });
    if (config.share_embeddings) this.transposeOutput = transpose(gpu, 'output_t', { rows: tgtVocab, cols: d }, { a: this.P(embeddingNames(config).out), out: plan.get('output_t') });
    if (!this.shared) this.setWeights(weights as ReadonlyMap<string, ArrayLike<number>>);
    if (config.positional === 'sinusoidal') gpu.write(plan.get('sinusoids'), sinusoidalTable(Math.max(limits.maxSrcLen, this.maxT), d));
  }

  /** Replaces the weights (by the tfjs engine's names); compiled dispatches stay. Not for shared weights (their owner changes them). */
  setWeights(weights: ReadonlyMap<string, ArrayLike<number>>): void {
    if (this.shared) throw new Error('fused decoding: the weights are shared with their owner; change them there');
    const d = this.config.d_model;
    const slab = new Float32Array(this.slab.floats);
    for (const spec of parameterSpecs(this.config, this.srcVocab, this.tgtVocab)) {
      const v = weights.get(spec.name);
      if (!v) throw new Error(`no weight for ${spec.name}`);
      const size = spec.shape.reduce((a, b) => a * b, 1);
      if (v.length !== size) throw new Error(`weight ${spec.name}: ${v.length} values, want ${size}`);
      if (spec.name.endsWith('/gamma')) slab.set(v, this.slab.entry(`${spec.name.slice(0, -6)}/norm`).offset);
      else if (spec.name.endsWith('/beta')) slab.set(v, this.slab.entry(`${spec.name.slice(0, -5)}/norm`).offset + d);
      else slab.set(v, this.slab.entry(spec.name).offset);
    }
    this.gpu.write(this.params, slab);
    this.outputStale = true;
  }

  private P(name: string): Binding {
    return this.slab.slice(this.params, name);
  }

  /** Tied embeddings: Eᵀ for the logits, transposed on the GPU from the current weights (shared ones may have changed). */
  private refreshOutput(): void {
    if (!this.transposeOutput || (!this.outputStale && !this.shared)) return;
    const rec = this.gpu.beginStep();
    rec.record(this.transposeOutput);
    rec.end();
    this.outputStale = false;
  }

  private normAfter(side: 'encoder' | 'decoder', j: number): string {
    const subs = this.sublayers[side];
    if (this.config.norm === 'post') return subs[j].norm;
    return j + 1 < subs.length ? subs[j + 1].norm : `${side}/final_norm`;
  }

  /** Residual sub-layers of one stack over `rows` rows from x0; returns the buffer holding the output. */
  private chain(out: Dispatch[], side: 'encoder' | 'decoder', rows: number, f: (sl: Sublayer, input: GPUBuffer) => void): GPUBuffer {
    const pl = this.plan;
    const pre = this.config.norm === 'pre';
    const p = side === 'encoder' ? 'enc' : 'dec';
    const d = this.config.d_model;
    const subs = this.sublayers[side];
    const x0 = pl.get(`${p}/x0`);
    const stats = pl.get(`${p}/stats`);
    const sBufs = [pl.get(`${p}/s0`), pl.get(`${p}/s1`)];
    const yBufs = [pl.get(`${p}/y0b`), pl.get(`${p}/y1`)];
    let cur = x0;
    let stream = x0;
    if (pre) {
      const y0 = pl.get(`${p}/y0`);
      out.push(residualNormForward(this.gpu, `${side}/norm0`, { rows, d }, this.step.buffer, { x: x0, y: y0, stats, gammaBeta: this.P(`${subs[0].norm}/norm`) }));
      cur = y0;
    }
    subs.forEach((sl, j) => {
      f(sl, cur);
      const s = sBufs[j % 2];
      const y = yBufs[j % 2];
      out.push(residualNormForward(this.gpu, `${sl.prefix}/ln`, { rows, d }, this.step.buffer, {
        x: pre ? stream : cur, f: pl.get(`${p}/fout`), s, y, stats, gammaBeta: this.P(`${this.normAfter(side, j)}/norm`),
      }));
      cur = y;
      stream = s;
    });
    return cur;
  }

  /** Dispatches for B sentences of source width S and K decoder rows per sentence (greedy: K = 1, argmax on the GPU). */
  private shape(B: number, S: number, K: number, greedy: boolean, maps?: MapBuffers): ShapePlan {
    const key = `${B}|${S}|${K}|${greedy}|${maps ? 'maps' : ''}`;
    const hit = this.shapes.get(key);
    if (hit) return hit;
    const gpu = this.gpu;
    const pl = this.plan;
    const c = this.config;
    const { d_model: d, d_ff: dff, heads: h, d_k: dk, d_v: dv } = c;
    const hk = h * dk;
    const hv = h * dv;
    const kvw = hk + hv;
    const names = embeddingNames(c);
    const encoder: Dispatch[] = [];
    // The encoder's products use the engine's matmul; a decoder step's (R ≤ maxRows rows) the row
    // kernel on a GPU, the engine's vec4 kernel on a CPU adapter (no barriers either way; both sum each
    // output in k order, as the row kernel does).
    const cpu = kernelShape(gpu) === 'cpu';
    const mm = (out: Dispatch[], label: string, o: MatmulOptions, b: { a: Binding; b: Binding; c: Binding; bias?: Binding }) =>
      out.push(out === encoder || o.transB || cpu ? matmul(gpu, label, o, b) : rowsMatmul(gpu, label, o, b));
    const pos = (side: 'encoder' | 'decoder'): Binding | undefined => (c.positional === 'sinusoidal' ? pl.get('sinusoids') : c.positional === 'learned' ? this.P(`${side}/positions`) : undefined);
    const ffn = (out: Dispatch[], p: string, sl: Sublayer, rows: number, input: GPUBuffer) => {
      mm(out, `${sl.prefix}/w1`, { M: rows, N: dff, K: d, relu: true }, { a: input, b: this.P(`${sl.prefix}/w1`), c: pl.get(`${p}/hidden`), bias: this.P(`${sl.prefix}/b1`) });
      mm(out, `${sl.prefix}/w2`, { M: rows, N: d, K: dff }, { a: pl.get(`${p}/hidden`), b: this.P(`${sl.prefix}/w2`), c: pl.get(`${p}/fout`), bias: this.P(`${sl.prefix}/b2`) });
    };
    const kvProject = (out: Dispatch[], label: string, an: { wk: string; wv: string }, rows: number, input: GPUBuffer, target: GPUBuffer) => {
      mm(out, `${label}/k`, { M: rows, N: hk, K: d, ldc: kvw }, { a: input, b: this.P(an.wk), c: target });
      mm(out, `${label}/v`, { M: rows, N: hv, K: d, ldc: kvw, cOffset: hk }, { a: input, b: this.P(an.wv), c: target });
    };

    // ---- encoder (B sentences of width S) and the cross-attention keys/values ----
    const Re = B * S;
    encoder.push(embeddingForward(gpu, 'enc/embed', { B, len: S, d, vocab: this.srcVocab }, this.step.buffer, { ids: pl.get('src'), table: this.P(names.src), pos: pos('encoder'), out: pl.get('enc/x0') }));
    const memory = this.chain(encoder, 'encoder', Re, (sl, input) => {
      if (sl.kind === 'ffn') return ffn(encoder, 'enc', sl, Re, input);
      const an = attentionNames(sl.prefix, c.share_qk);
      mm(encoder, `${sl.prefix}/q`, { M: Re, N: hk, K: d }, { a: input, b: this.P(an.wq), c: pl.get('enc/q') });
      kvProject(encoder, sl.prefix, an, Re, input, pl.get('enc/kv'));
      encoder.push(attentionForward(gpu, `${sl.prefix}/attention`, {
        B, t: S, S, heads: h, dk, dv, scale: c.attention_scale, causal: false, ldq: hk, ldk: kvw, ldv: kvw, ldo: hv, kOffset: 0, vOffset: hk,
      }, { q: pl.get('enc/q'), k: pl.get('enc/kv'), v: pl.get('enc/kv'), keyIds: pl.get('src'), out: pl.get('enc/ctx'), lse: pl.get('enc/lse') }));
      if (maps) {
        // The map: the same softmax per (query row, head) through the single-query kernel (row r reads sentence r / S).
        encoder.push(queryAttention(gpu, `${sl.prefix}/attention/map`, {
          R: Re, heads: h, dk, dv, scale: c.attention_scale, self: false, stride: 0, S, copies: S, probs: { ld: S, rows: 1, offset: sl.layer * h * S * S },
        }, { state: pl.get('state'), q: pl.get('enc/q'), kv: pl.get('enc/kv'), keyIds: pl.get('src'), out: maps.ctx, probs: maps.encoderSelf }));
      }
      mm(encoder, `${sl.prefix}/wo`, { M: Re, N: d, K: hv }, { a: pl.get('enc/ctx'), b: this.P(an.wo), c: pl.get('enc/fout') });
    });
    for (let l = 0; l < c.layers; l++) kvProject(encoder, `decoder/${l}/cross_attn/memory`, attentionNames(`decoder/${l}/cross_attn`, c.share_qk), Re, memory, pl.get(`cross/${l}`));

    // ---- one decoder step for R = B·K rows ----
    const R = B * K;
    const state = pl.get('state');
    const step: Dispatch[] = [];
    step.push(decEmbed(gpu, 'dec/embed', { R, d }, { state, tokens: pl.get('tokens'), table: this.P(names.tgt), pos: pos('decoder'), out: pl.get('dec/x0') }));
    const top = this.chain(step, 'decoder', R, (sl, input) => {
      if (sl.kind === 'ffn') return ffn(step, 'dec', sl, R, input);
      const an = attentionNames(sl.prefix, c.share_qk);
      mm(step, `${sl.prefix}/q`, { M: R, N: hk, K: d }, { a: input, b: this.P(an.wq), c: pl.get('dec/q') });
      const shape = { R, heads: h, dk, dv, scale: c.attention_scale, stride: this.maxT, S, copies: K };
      if (sl.kind === 'self') {
        kvProject(step, sl.prefix, an, R, input, pl.get('dec/kv'));
        step.push(kvAppend(gpu, `${sl.prefix}/append`, { R, width: kvw, maxT: this.maxT }, { state, kv: pl.get('dec/kv'), cache: pl.get(`cache/${sl.layer}`) }));
        const probs = maps && { ld: this.maxT, rows: this.maxT, offset: sl.layer * h * this.maxT * this.maxT };
        step.push(queryAttention(gpu, `${sl.prefix}/attention`, { ...shape, self: true, probs }, { state, q: pl.get('dec/q'), kv: pl.get(`cache/${sl.layer}`), out: pl.get('dec/ctx'), probs: maps?.decoderSelf }));
      } else {
        const probs = maps && { ld: S, rows: this.maxT, offset: sl.layer * h * this.maxT * S };
        step.push(queryAttention(gpu, `${sl.prefix}/attention`, { ...shape, self: false, probs }, { state, q: pl.get('dec/q'), kv: pl.get(`cross/${sl.layer}`), keyIds: pl.get('src'), out: pl.get('dec/ctx'), probs: maps?.cross }));
      }
      mm(step, `${sl.prefix}/wo`, { M: R, N: d, K: hv }, { a: pl.get('dec/ctx'), b: this.P(an.wo), c: pl.get('dec/fout') });
    });
    const V = this.tgtVocab;
    // Tied embeddings: logits = x·Eᵀ through Eᵀ kept transposed ([d, V], written by setWeights).
    mm(step, 'logits', { M: R, N: V, K: d }, { a: top, b: c.share_embeddings ? pl.get('output_t') : this.P(names.out), c: pl.get('logits') });
    step.push(logSoftmax(gpu, 'log_softmax', { R, V, greedy, maxT: this.maxT, ids: this.ids }, {
      state, logits: pl.get('logits'), force: pl.get('force'), logp: pl.get('logp'), tokens: pl.get('tokens'), hist: pl.get('hist'),
    }));
    const reorder: Dispatch[] = [];
    let topk: Dispatch | undefined;
    if (!greedy) {
      topk = beamTopK(gpu, 'beam/topk', { B, K, V, take: Math.min(2 * K, K * V) }, { alive: pl.get('alive'), logp: pl.get('logp'), out: pl.get('topk') });
      step.push(topk);
      for (let l = 0; l < c.layers; l++) {
        reorder.push(...reorderCache(gpu, `cache/${l}/reorder`, { R, width: kvw, maxT: this.maxT }, { state, parents: pl.get('parents'), cache: pl.get(`cache/${l}`), scratch: pl.get('cache/scratch') }));
      }
    }
    step.push(stepEnd(gpu, 'step_end', state));
    const made = { encoder, step, reorder, topk };
    this.shapes.set(key, made);
    return made;
  }

  /**
   * The dispatches of a chunk (encoder, one step, the beam's cache reorder) with its sources uploaded
   * and the step counter at `t`, for profile.ts to time kernel by kernel. Not for decoding.
   */
  kernelsAt(chunk: readonly Int32Array[], K: number, greedy: boolean, t: number): { encoder: Dispatch[]; step: Dispatch[]; reorder: Dispatch[] } {
    const S = this.startChunk(chunk, chunk.length * K);
    this.gpu.write(this.plan.get('state'), Uint32Array.of(t, 0, 0, 0));
    const { encoder, step, reorder } = this.shape(chunk.length, S, K, greedy);
    return { encoder, step, reorder: reorder.map((d) => ({ ...d, groups: [d.groups[0], t, 1] as const })) };
  }

  private count(steps: number, ended: { dispatches: number; submits: number }, since: number): void {
    const c = this.counters;
    c.steps += steps;
    c.submits += ended.submits;
    c.dispatches += ended.dispatches;
    c.hostMs += performance.now() - since;
  }

  /** Pads a chunk's sources to one width (≥ 1) and uploads them; resets the step counter. */
  private startChunk(chunk: readonly Int32Array[], rows: number): number {
    const S = Math.max(1, ...chunk.map((s) => s.length));
    if (S > this.limits.maxSrcLen) throw new Error(`source of ${S} tokens: this decoder takes at most ${this.limits.maxSrcLen}`);
    const src = new Int32Array(chunk.length * S);
    chunk.forEach((s, b) => src.set(s, b * S));
    const g = this.gpu;
    const pl = this.plan;
    g.write(pl.get('src'), src);
    g.write(pl.get('tokens'), new Int32Array(rows).fill(BOS_ID));
    g.write(pl.get('force'), new Uint32Array(rows));
    g.write(pl.get('state'), new Uint32Array(4));
    return S;
  }

  private checkOptions(opts: FusedDecodeOptions, perRow: number): number {
    if (opts.maxLenOffset > this.limits.maxLenOffset) throw new Error(`max_len_offset ${opts.maxLenOffset}: this decoder was sized for ${this.limits.maxLenOffset}`);
    const rows = Math.min(opts.maxRows ?? this.limits.maxRows, this.limits.maxRows);
    return Math.max(1, Math.min(Math.floor(rows / perRow), this.limits.maxSentences ?? Infinity));
  }

  /** One decode at a time; a WebGPU validation error fails the decode instead of yielding zeros. */
  private async exclusive<T>(f: () => Promise<T>): Promise<T> {
    if (this.busy) throw new Error('the fused decoder runs one decode at a time');
    this.busy = true;
    const device = this.gpu.device;
    device.pushErrorScope('validation');
    let result: T;
    try {
      this.refreshOutput();
      result = await f();
    } finally {
      const error = await device.popErrorScope();
      this.busy = false;
      if (error) throw new Error(`WebGPU validation: ${error.message}`);
    }
    return result;
  }

  /** Greedy decoding; the same outputs as experiments/decode greedyDecode. */
  greedy(src: readonly Int32Array[], opts: FusedDecodeOptions): Promise<number[][]> {
    const size = this.checkOptions(opts, 1);
    return this.exclusive(() => inChunks(src, size, (chunk) => this.greedyChunk(chunk, opts)));
  }

  /** Beam search; the same outputs as experiments/decode beamSearch. */
  beam(src: readonly Int32Array[], opts: FusedBeamOptions): Promise<number[][]> {
    if (!Number.isInteger(opts.beam) || opts.beam < 1) throw new RangeError(`beam must be a positive integer, got ${opts.beam}`);
    if (2 * opts.beam > MAX_TAKE) throw new RangeError(`beam at most ${MAX_TAKE / 2} on the fused decoder`);
    const size = this.checkOptions(opts, opts.beam);
    return this.exclusive(() => inChunks(src, size, (chunk) => this.beamChunk(chunk, opts)));
  }

  /** With `maps`, one more step runs after each hypothesis (the query row that emits EOS, as the teacher-forced pass has it). */
  private async greedyChunk(chunk: readonly Int32Array[], opts: FusedDecodeOptions, maps?: MapBuffers): Promise<number[][]> {
    const B = chunk.length;
    const maxLen = chunk.map((s) => hypothesisLimit(this, s.length, opts.maxLenOffset));
    const total = Math.max(0, ...maxLen) + (maps ? 1 : 0);
    if (total === 0) return chunk.map(() => []);
    const S = this.startChunk(chunk, B);
    const plan = this.shape(B, S, 1, true, maps);
    const g = this.gpu;
    const histBuf = this.plan.get('hist');
    const staging = [this.plan.get('staging/hist0'), this.plan.get('staging/hist1')];
    const bytes = B * this.maxT * 4;
    // Groups in flight (at most 2); each is mapped only when the host needs it (pacer.ts: no polling before).
    const pending: { read: () => Promise<Int32Array>; upTo: number; expected: number }[] = [];
    const pacer = this.pacer;
    pacer.reset();
    let submitted = 0;
    let slot = 0;
    let result: number[][] | null = null;
    while (result === null) {
      if (submitted < total) {
        const t0 = performance.now();
        const n = Math.min(GREEDY_STEPS_PER_READ, total - submitted);
        const withEncoder = submitted === 0;
        const rec = g.beginStep();
        if (withEncoder) rec.recordAll(plan.encoder);
        for (let i = 0; i < n; i++) rec.recordAll(plan.step);
        const buf = staging[slot];
        slot = 1 - slot;
        const ended = rec.end([{ src: histBuf, srcOffset: 0, dst: buf, dstOffset: 0, bytes }]);
        submitted += n;
        const expected = pacer.submitted(n, pending.at(-1)?.expected);
        const read = async () => {
          await pacer.settle(expected);
          await buf.mapAsync(GPUMapMode.READ, 0, bytes);
          const a = new Int32Array(buf.getMappedRange(0, bytes).slice(0));
          buf.unmap();
          g.throwIfFailed();
          pacer.resolved(n, t0, !withEncoder);
          return a;
        };
        pending.push({ read, upTo: submitted, expected });
        this.count(n, ended, t0);
      }
      if (pending.length < 2 && submitted < total) continue;
      const first = pending.shift();
      if (!first) throw new Error('greedy decoding: every step ran and a row is still open');
      const hist = await first.read();
      const t0 = performance.now();
      this.counters.readBacks++;
      result = greedyResult(hist, first.upTo, maxLen, this.maxT);
      this.counters.hostMs += performance.now() - t0;
      if (maps && result && result.some((h) => h.length + 1 > first.upTo)) result = null;
    }
    // Groups still in flight run on (their staging buffers were never mapped); the next chunk's work queues behind them.
    return result;
  }

  private async beamChunk(chunk: readonly Int32Array[], opts: FusedBeamOptions): Promise<number[][]> {
    const K = opts.beam;
    const B = chunk.length;
    const R = B * K;
    const V = this.tgtVocab;
    const take = Math.min(2 * K, K * V);
    const maxLen = chunk.map((s) => hypothesisLimit(this, s.length, opts.maxLenOffset));
    const search = new BeamBookkeeping(B, K, maxLen, opts.alpha);
    if (search.allDone) return search.result();
    const S = this.startChunk(chunk, R);
    const plan = this.shape(B, S, K, false);
    const g = this.gpu;
    const pl = this.plan;
    g.write(pl.get('alive'), search.aliveScores());
    const staging = pl.get('staging/topk');
    const bytes = B * take * 8;
    let first = true;
    // Every sentence ends by the step after its limit (EOS forced there): more steps mean a GPU fault.
    const maxSteps = Math.max(...maxLen) + 2;
    this.pacer.reset();
    for (let steps = 0; !search.allDone; steps++) {
      if (steps > maxSteps) throw new Error(`beam search: no end after ${maxSteps} steps (GPU results unusable)`);
      let t0 = performance.now();
      const rec = g.beginStep();
      if (first) rec.recordAll(plan.encoder);
      // The reorder covers the t cached positions only (its grid's y is the position; the host knows t here).
      else for (const d of plan.reorder) rec.record({ ...d, groups: [d.groups[0], steps, 1] });
      first = false;
      rec.recordAll(plan.step);
      this.count(1, rec.end([{ src: pl.get('topk'), srcOffset: 0, dst: staging, dstOffset: 0, bytes }]), t0);
      const submittedAt = t0;
      await this.pacer.settle(this.pacer.submitted(1));
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      this.pacer.resolved(1, submittedAt, steps > 0);
      t0 = performance.now();
      this.counters.readBacks++;
      const raw = staging.getMappedRange(0, bytes).slice(0);
      staging.unmap();
      this.gpu.throwIfFailed();
      const words = new Uint32Array(raw);
      const floats = new Float32Array(raw);
      const values = new Float32Array(B * take);
      const indices = new Int32Array(B * take);
      for (let i = 0; i < B * take; i++) { values[i] = floats[2 * i]; indices[i] = words[2 * i + 1]; }
      const next = search.advance(values, indices, take, V);
      if (!search.allDone) {
        g.write(pl.get('parents'), next.parents);
        g.write(pl.get('tokens'), next.tokens);
        g.write(pl.get('alive'), search.aliveScores());
        g.write(pl.get('force'), next.force);
      }
      this.counters.hostMs += performance.now() - t0;
    }
    return search.result();
  }

  private mapBuffers?: MapBuffers;

  /**
   * Decodes one sentence greedily and returns every attention map along the way: encoder self
   * [layer][head][s][s], decoder self [layer][head][t][t] (zeros above the diagonal) and cross
   * [layer][head][t][s], t = hypothesis length + 1 — the maps experiments/run/inference.ts
   * attentionMaps reads from the tfjs engine's teacher-forced pass over the same hypothesis.
   */
  attentionMaps(src: Int32Array, opts: FusedDecodeOptions): Promise<FusedAttentionMaps> {
    this.checkOptions(opts, 1);
    const { heads: h, layers: L } = this.config;
    const { maxSrcLen } = this.limits;
    const maxT = this.maxT;
    const g = this.gpu;
    this.mapBuffers ??= {
      encoderSelf: g.createBuffer('maps/encoder_self', L * h * maxSrcLen * maxSrcLen * 4),
      decoderSelf: g.createBuffer('maps/decoder_self', L * h * maxT * maxT * 4),
      cross: g.createBuffer('maps/cross', L * h * maxT * maxSrcLen * 4),
      ctx: g.createBuffer('maps/ctx', maxSrcLen * h * this.config.d_v * 4),
    };
    const maps = this.mapBuffers;
    return this.exclusive(async () => {
      g.write(maps.decoderSelf, new Float32Array(L * h * maxT * maxT));
      const [hypothesis] = await this.greedyChunk([src], opts, maps);
      const S = Math.max(1, src.length);
      const T = hypothesis.length + 1;
      const [enc, self, cross] = await Promise.all([g.read(maps.encoderSelf, 0, L * h * S * S * 4), g.read(maps.decoderSelf, 0, L * h * maxT * maxT * 4), g.read(maps.cross, 0, L * h * maxT * S * 4)]);
      const nest = (rows: number, cols: number, at: (l: number, hh: number, i: number, j: number) => number) =>
        Array.from({ length: L }, (_, l) => Array.from({ length: h }, (_, hh) => Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => at(l, hh, i, j)))));
      return {
        hypothesis,
        encoderSelf: nest(S, S, (l, hh, i, j) => enc[l * h * S * S + (i * h + hh) * S + j]),
        decoderSelf: nest(T, T, (l, hh, i, j) => self[l * h * maxT * maxT + (hh * maxT + i) * maxT + j]),
        cross: nest(T, S, (l, hh, i, j) => cross[l * h * maxT * S + (hh * maxT + i) * S + j]),
      };
    });
  }

  destroy(): void {
    if (this.mapBuffers) for (const b of Object.values(this.mapBuffers)) this.gpu.destroyBuffer(b);
    this.plan.destroy();
    this.gpu.destroyBuffer(this.step.buffer);
  }
}

/** Outputs of a greedy chunk from the token history of the first `steps` steps, or null while a row is still open. */
export function greedyResult(hist: Int32Array, steps: number, maxLen: readonly number[], maxT: number): number[][] | null {
  const out: number[][] = [];
  for (let r = 0; r < maxLen.length; r++) {
    const toks: number[] = [];
    let done = maxLen[r] <= 0;
    for (let t = 0; t < steps && !done; t++) {
      const tok = hist[r * maxT + t];
      if (tok === EOS_ID) done = true;
      else {
        toks.push(tok);
        if (toks.length >= maxLen[r]) done = true;
      }
    }
    if (!done) return null;
    out.push(toks);
  }
  return out;
}

/** Splits sentences into chunks of similar source length, decodes each, restores input order (as experiments/decode does). */
async function inChunks(src: readonly Int32Array[], size: number, decode: (chunk: Int32Array[]) => Promise<number[][]>): Promise<number[][]> {
  const order = src.map((_, i) => i).sort((a, b) => src[a].length - src[b].length);
  const out: number[][] = new Array(src.length);
  for (let start = 0; start < order.length; start += size) {
    const ids = order.slice(start, start + size);
    const results = await decode(ids.map((i) => src[i]));
    ids.forEach((i, j) => { out[i] = results[j]; });
  }
  return out;
}

interface Hypothesis {
  readonly tokens: number[];
  readonly score: number;
}

/**
 * The host half of beam search: experiments/decode/index.ts beamChunk's rules, applied to the top
 * candidates the GPU returns. Candidates are ranked by summed log-probability; an EOS counts only
 * among the top K; finished hypotheses score logP / lp(len) with EOS counted; a sentence is done at
 * K finished or when no live hypothesis can beat the best finished one; at the length limit the
 * next step may only emit EOS (charged).
 */
export class BeamBookkeeping {
  private alive: Hypothesis[][];
  private readonly finished: { tokens: number[]; norm: number }[][];
  private readonly done: boolean[];
  private readonly maxLp: number[];

  constructor(private readonly B: number, private readonly K: number, private readonly maxLen: readonly number[], private readonly alpha: number) {
    this.maxLp = maxLen.map((m) => lengthPenalty(m + 1, alpha));
    this.alive = maxLen.map(() => Array.from({ length: K }, (_, k) => ({ tokens: [], score: k === 0 ? 0 : -Infinity })));
    this.finished = maxLen.map(() => []);
    this.done = maxLen.map((m) => m <= 0);
    this.done.forEach((d, b) => { if (d) this.finished[b].push({ tokens: [], norm: 0 }); });
  }

  get allDone(): boolean {
    return this.done.every(Boolean);
  }

  aliveScores(): Float32Array {
    return Float32Array.from(this.alive.flat().map((h) => h.score));
  }

  /** One step: `values`/`indices` are [B, take] (flat index k·V + v). Returns the next step's inputs. */
  advance(values: Float32Array, indices: Int32Array, take: number, V: number): { parents: Int32Array; tokens: Int32Array; force: Uint32Array } {
    const { B, K } = this;
    const parents = new Int32Array(B * K);
    const tokens = new Int32Array(B * K);
    const force = new Uint32Array(B * K);
    const nextAlive: Hypothesis[][] = [];
    for (let b = 0; b < B; b++) {
      const row = (k: number) => b * K + k;
      const alive = this.alive[b];
      if (this.done[b]) {
        for (let k = 0; k < K; k++) { parents[row(k)] = row(k); tokens[row(k)] = EOS_ID; }
        nextAlive.push(alive);
        continue;
      }
      const finished = this.finished[b];
      const kept: { hyp: Hypothesis; parent: number }[] = [];
      for (let j = 0; j < take && kept.length < K; j++) {
        const score = values[b * take + j];
        if (score === -Infinity) break;
        const flat = indices[b * take + j];
        const parent = Math.floor(flat / V);
        const token = flat % V;
        const prev = alive[parent].tokens;
        if (token === EOS_ID) {
          if (j < K) finished.push({ tokens: prev, norm: score / lengthPenalty(prev.length + 1, this.alpha) });
          continue;
        }
        kept.push({ hyp: { tokens: [...prev, token], score }, parent });
      }
      const len = alive[0].tokens.length + 1;
      if (finished.length >= K) {
        this.done[b] = true;
      } else if (finished.length > 0 && kept.length > 0 && this.alpha >= 0) {
        const bestFinished = Math.max(...finished.map((f) => f.norm));
        if (bestFinished >= kept[0].hyp.score / this.maxLp[b]) this.done[b] = true;
      }
      if (kept.length === 0) {
        if (finished.length === 0) finished.push({ tokens: alive[0].tokens, norm: alive[0].score / lengthPenalty(len, this.alpha) });
        this.done[b] = true;
      }
      if (!this.done[b] && len >= this.maxLen[b]) for (let k = 0; k < K; k++) force[row(k)] = 1;
      const padded = [...kept];
      while (padded.length < K) padded.push({ hyp: { tokens: kept[0]?.hyp.tokens ?? [], score: -Infinity }, parent: kept[0]?.parent ?? 0 });
      padded.forEach(({ hyp, parent }, k) => {
        parents[row(k)] = row(parent);
        tokens[row(k)] = hyp.tokens.length > 0 ? hyp.tokens[hyp.tokens.length - 1] : EOS_ID;
      });
      nextAlive.push(padded.map((p) => p.hyp));
    }
    this.alive = nextAlive;
    return { parents, tokens, force };
  }

  result(): number[][] {
    return this.finished.map((list) => list.reduce((best, f) => (f.norm > best.norm ? f : best), list[0]).tokens);
  }
}
