/// <reference types="@webgpu/types" />
/**
 * The encoder–decoder Transformer of Vaswani et al. 2017 composed from the fused kernels, with a
 * hand-written backward and Adam: one training step is one command encoder of static dispatches.
 *
 * The math and weight names are those of experiments/model/transformer.ts (the tfjs engine, the
 * reference): post-norm LayerNorm(x + Dropout(f(x))) or pre-norm x + Dropout(f(LayerNorm(x))) with a
 * final LayerNorm per stack; sinusoidal, learned or no positions; tied ("embedding/shared", also the
 * pre-softmax projection, logits = x·Eᵀ) or separate embeddings (logits = x·W_out); share_qk (K uses
 * W^Q); attention_scale; independent h, d_k, d_v. Loss: train/loss.ts's label-smoothed cross-entropy.
 *
 * Static memory plan for one bucket (batch B, source length s, target length t): parameters,
 * gradients and Adam moments in four flat slabs (each weight a 256-byte aligned entry; a LayerNorm's
 * γ and β one [γ | β] entry), every activation the backward needs in its own buffer, and a few
 * rotating gradient buffers per stack. All dispatches and bind groups are built in the constructor;
 * a step writes the batch (ids, token indexes) and the step uniforms with queue.writeBuffer, records
 * the dispatches into one encoder and submits once. The loss comes back through a ring of staging
 * buffers, asynchronously.
 *
 * Fused LayerNorm placement: after sub-layer j the kernel computes s_j = x + dropout(f_j) and
 * y_j = LN(s_j). Post-norm: x is the sub-layer's input, LN its own norm, y_j the next input.
 * Pre-norm: x is the residual stream s_{j−1}, LN the *next* sub-layer's norm (or the stack's final
 * norm), y_j the next sub-layer's normalized input; one extra LN (no f) normalizes the embeddings.
 */
import type { ModelConfig } from '../../../contract/spec';
import { attentionNames, embeddingNames, parameterSpecs } from '../../model/params';
import { MAX_LEARNED_POSITIONS, sinusoidalTable } from '../../model/positional';
import type { SmoothingSupport } from '../../train/loss';
import { PAPER_ADAM, type AdamOptions } from '../../train/optimizer';
import { type Binding, BufferUsage, type Dispatch, type Gpu } from '../runtime/gpu';
import { MemoryPlan, SlabLayout } from '../runtime/memory';
import { ReadPacer } from '../runtime/pacer';
import { adamStepScalars, adamUpdate, gradNorm, NORM_PARTS } from '../kernels/adam';
import { attentionBackward, attentionForward, type AttentionShapeOptions, MAX_ATTENTION_LEN, MAX_HEAD_DIM } from '../kernels/attention';
import { fusedClassifier } from '../kernels/classifier';
import { StepParams } from '../kernels/common';
import { embeddingBackward, embeddingForward, positionsBackward, tokenIndex } from '../kernels/embedding';
import { normPartialBlocks, residualNormBackward, residualNormForward } from '../kernels/layernorm';
import { columnSum, matmul, matmulAuto, type MatmulOptions, splitKFactor } from '../kernels/matmul';

export interface Bucket {
  readonly batch: number;
  readonly srcLen: number;
  readonly tgtLen: number;
}

export interface FusedTrainOptions {
  readonly labelSmoothing: number;
  readonly smoothing?: SmoothingSupport;
  /** Global-norm clip; 0 disables (and skips the norm's two dispatches). */
  readonly clipNorm: number;
  /** Dropout RNG seed. */
  readonly seed: number;
  readonly adam?: AdamOptions;
  /** Split weight-gradient products over K from this many rows (default SPLIT_K_MIN_K; tests lower it). */
  readonly splitMinK?: number;
  /**
   * Largest buffer the logits may take, in bytes (default: the device's maxStorageBufferBindingSize
   * and maxBufferSize; tests lower it). Logits larger than that come in row chunks (`logitChunks`).
   */
  readonly maxBindingBytes?: number;
}

/**
 * Rows of the logits [rows, vocab] that one buffer holds: all of them where they fit one storage
 * binding, else chunks of `floor(limit / (vocab · 4))` rows. Why: the paper's base model at 25k target
 * tokens × vocab 37,000 has 3.4 GiB of logits, and Dawn binds at most 2–4 GiB (WebGPU's limits are
 * 32-bit; gpuweb#6338). Each chunk is its own buffer: its own logits product, classifier and backward
 * products; the per-token losses, targets and the decoder output stay whole.
 */
export function logitChunks(rows: number, vocab: number, limitBytes: number): { row0: number; rows: number }[] {
  const per = Math.floor(limitBytes / (4 * Math.max(vocab, 1)));
  if (per < 1) throw new Error(`one row of logits (vocab ${vocab}: ${4 * vocab} bytes) exceeds this GPU's largest storage binding (${limitBytes} bytes)`);
  const out: { row0: number; rows: number }[] = [];
  for (let row0 = 0; row0 < rows || out.length === 0; row0 += per) out.push({ row0, rows: Math.min(per, rows - row0) });
  return out;
}

/** One batch of the bucket's exact shape, row-major int32 ids (PAD = 0). */
export interface FusedBatch {
  readonly src: Int32Array;
  readonly tgtIn: Int32Array;
  readonly tgtOut: Int32Array;
}

function cpuMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}

export interface StepStats {
  readonly dispatches: number;
  readonly submits: number;
  /** Host milliseconds to upload the batch, record and submit the step. */
  readonly hostMs: number;
  /** Of which recording the dispatches and submitting (without the batch upload and token indexing). */
  readonly recordMs: number;
  /**
   * CPU milliseconds the process spent over the same span (all its threads: Node's and Dawn's). On a
   * shared machine wall time grows with other jobs' load; CPU time is the host's own cost.
   */
  readonly hostCpuMs: number;
  /** Mean label-smoothed loss over non-pad targets, when the GPU is done. */
  readonly loss: Promise<number>;
  /** GPU milliseconds of the step from timestamp queries (null without `timestamp-query`), with the loss. */
  readonly gpuMs: Promise<number | null>;
}

type SublayerKind = 'self' | 'cross' | 'ffn';
interface Sublayer {
  readonly kind: SublayerKind;
  /** Weight prefix, e.g. "decoder/1/cross_attn" or "encoder/0/ffn". */
  readonly prefix: string;
  /** Own norm prefix ("…/self_attn_norm"). */
  readonly norm: string;
  readonly index: number;
}

const LOSS_RING = 4;

/**
 * The parameter side of a run: the slab layout, the four slabs (weights, gradients, Adam m and v),
 * the per-step uniform block and the optimizer step. Engines for several buckets (padded shapes)
 * share one store, so a run's weights live once whatever the batch shape.
 */
export class ParameterStore {
  readonly slab = new SlabLayout();
  /** name → element offset and size in the slabs (γ and β point into their [γ | β] entry). */
  readonly params = new Map<string, { offset: number; size: number; shape: readonly number[] }>();
  readonly params_: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  readonly stepParams: StepParams;
  /** Optimizer updates applied so far. */
  t = 0;

  constructor(
    readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly srcVocab: number,
    readonly tgtVocab: number,
  ) {
    const d = config.d_model;
    for (const spec of parameterSpecs(config, srcVocab, tgtVocab)) {
      const size = spec.shape.reduce((a, b) => a * b, 1);
      if (spec.name.endsWith('/gamma')) {
        const prefix = spec.name.slice(0, -'/gamma'.length);
        const off = this.slab.add(`${prefix}/norm`, 2 * d);
        this.params.set(spec.name, { offset: off, size: d, shape: spec.shape });
        this.params.set(`${prefix}/beta`, { offset: off + d, size: d, shape: spec.shape });
      } else if (!spec.name.endsWith('/beta')) {
        this.params.set(spec.name, { offset: this.slab.add(spec.name, size), size, shape: spec.shape });
      }
    }
    const n = this.slab.floats;
    this.params_ = gpu.createBuffer('params', n * 4);
    this.grads = gpu.createBuffer('grads', n * 4);
    this.m = gpu.createBuffer('adam/m', n * 4);
    this.v = gpu.createBuffer('adam/v', n * 4);
    this.stepParams = new StepParams(gpu);
  }

  destroy(): void {
    for (const b of [this.params_, this.grads, this.m, this.v, this.stepParams.buffer]) this.gpu.destroyBuffer(b);
  }

  buffer(which: 'params' | 'grads' | 'adam/m' | 'adam/v'): GPUBuffer {
    return which === 'params' ? this.params_ : which === 'grads' ? this.grads : which === 'adam/m' ? this.m : this.v;
  }
}

export class FusedTransformer {
  readonly plan: MemoryPlan;
  readonly store: ParameterStore;
  /** Dispatches of one training step, in order. */
  readonly trainDispatches: Dispatch[] = [];
  /** Forward with dropout (as training) + loss, no gradients. */
  readonly trainLossDispatches: Dispatch[] = [];
  /** Forward + loss without gradients and without dropout (evaluation, parity tests). */
  readonly evalDispatches: Dispatch[] = [];
  private readonly rowsE: number;
  private readonly rowsD: number;
  /** The logits' row chunks, in row order (one unless the logits exceed a storage binding). */
  private readonly logitBuffers: { buffer: GPUBuffer; floats: number }[];
  private readonly host: { src: Int32Array; tgtIn: Int32Array; tgtOut: Int32Array; srcOff: Uint32Array; srcOrder: Uint32Array; tgtOff: Uint32Array; tgtOrder: Uint32Array };
  private readonly lossRing: { buffer: GPUBuffer; busy: Promise<void> | null }[] = [];
  /** When to map a loss read-back (sleeps on a CPU adapter instead of polling), and when the queued steps should be done. */
  private readonly pacer: ReadPacer;
  private pacedUntil = 0;
  private lossNext = 0;
  private readonly adam: AdamOptions;

  constructor(
    private readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly srcVocab: number,
    readonly tgtVocab: number,
    readonly bucket: Bucket,
    readonly options: FusedTrainOptions,
    /** Share the weights/optimizer of another bucket's engine (same config and vocabularies). */
    store?: ParameterStore,
  ) {
    const reason = unsupportedReason(config, Math.max(bucket.srcLen, bucket.tgtLen));
    if (reason) throw new Error(reason); // before any GPU allocation
    if (store && (store.config !== config || store.srcVocab !== srcVocab || store.tgtVocab !== tgtVocab)) throw new Error('a shared parameter store needs the same config and vocabularies');
    this.store = store ?? new ParameterStore(gpu, config, srcVocab, tgtVocab);
    const { d_model: d, d_ff: dff, heads: h, d_k: dk, d_v: dv } = config;
    const { batch: B, srcLen: s, tgtLen: t } = bucket;
    this.adam = options.adam ?? PAPER_ADAM;
    this.rowsE = B * s;
    this.rowsD = B * t;
    const rowsE = this.rowsE;
    const rowsD = this.rowsD;
    const maxRows = Math.max(rowsE, rowsD);
    const hk = h * dk;
    const hv = h * dv;
    const kvw = hk + hv;

    // ---- parameter slabs (the store's) ----
    const plan = (this.plan = new MemoryPlan(gpu));
    const n = this.slab.floats;
    const { params_: paramsB, grads: gradsB, m: mB, v: vB } = this.store;
    const P = (name: string): Binding => this.slab.slice(paramsB, name);
    const G = (name: string): Binding => this.slab.slice(gradsB, name);
    const step = this.stepParams.buffer;

    // ---- batch inputs (rewritten every step) ----
    const srcIds = plan.alloc('batch/src', rowsE);
    const tgtInIds = plan.alloc('batch/tgt_in', rowsD);
    const tgtOutIds = plan.alloc('batch/tgt_out', rowsD);
    const srcOff = plan.alloc('batch/src_index/offsets', srcVocab + 1);
    const srcOrder = plan.alloc('batch/src_index/order', rowsE);
    const tgtOff = plan.alloc('batch/tgt_index/offsets', tgtVocab + 1);
    const tgtOrder = plan.alloc('batch/tgt_index/order', rowsD);
    this.host = {
      src: new Int32Array(rowsE), tgtIn: new Int32Array(rowsD), tgtOut: new Int32Array(rowsD),
      srcOff: new Uint32Array(srcVocab + 1), srcOrder: new Uint32Array(rowsE), tgtOff: new Uint32Array(tgtVocab + 1), tgtOrder: new Uint32Array(rowsD),
    };
    let sinusoids: GPUBuffer | undefined;
    if (config.positional === 'sinusoidal') {
      const table = sinusoidalTable(Math.max(s, t), d);
      sinusoids = plan.alloc('sinusoids', table.length);
      gpu.write(sinusoids, table);
    }
    const names = embeddingNames(config);

    // ---- activations ----
    const A = (name: string, floats: number) => plan.alloc(name, floats);
    const sides = {
      encoder: { rows: rowsE, len: s, ids: srcIds, vocab: srcVocab, off: srcOff, order: srcOrder, table: names.src },
      decoder: { rows: rowsD, len: t, ids: tgtInIds, vocab: tgtVocab, off: tgtOff, order: tgtOrder, table: names.tgt },
    } as const;
    const sublayers: Record<'encoder' | 'decoder', Sublayer[]> = { encoder: [], decoder: [] };
    for (const side of ['encoder', 'decoder'] as const) {
      for (let l = 0; l < config.layers; l++) {
        const kinds: [SublayerKind, string][] = side === 'encoder' ? [['self', 'self_attn'], ['ffn', 'ffn']] : [['self', 'self_attn'], ['cross', 'cross_attn'], ['ffn', 'ffn']];
        for (const [kind, name] of kinds) sublayers[side].push({ kind, prefix: `${side}/${l}/${name}`, norm: `${side}/${l}/${name}_norm`, index: sublayers[side].length });
      }
    }
    const act = (side: 'encoder' | 'decoder') => {
      const rows = sides[side].rows;
      return {
        x0: A(`${side}/x0`, rows * d),
        y0: config.norm === 'pre' ? A(`${side}/y0`, rows * d) : undefined,
        stats0: config.norm === 'pre' ? A(`${side}/stats0`, rows * 2) : undefined,
        fout: A(`${side}/fout`, rows * d),
        per: sublayers[side].map((sl) => ({
          s: A(`${sl.prefix}/s`, rows * d),
          y: A(`${sl.prefix}/y`, rows * d),
          stats: A(`${sl.prefix}/stats`, rows * 2),
          q: sl.kind === 'ffn' ? undefined : A(`${sl.prefix}/q`, rows * hk),
          kv: sl.kind === 'ffn' ? undefined : A(`${sl.prefix}/kv`, (sl.kind === 'cross' ? rowsE : rows) * kvw),
          ctx: sl.kind === 'ffn' ? undefined : A(`${sl.prefix}/ctx`, rows * hv),
          lse: sl.kind === 'ffn' ? undefined : A(`${sl.prefix}/lse`, B * h * sides[side].len),
          hidden: sl.kind === 'ffn' ? A(`${sl.prefix}/hidden`, rows * dff) : undefined,
        })),
        // backward: rotating gradient buffers and dropout-masked copies
        g: [A(`${side}/grad0`, rows * d), A(`${side}/grad1`, rows * d), A(`${side}/grad2`, rows * d)],
        df: config.dropout > 0 ? A(`${side}/dfout`, rows * d) : undefined,
      };
    };
    const enc = act('encoder');
    const dec = act('decoder');
    // [rowsD, tgtVocab] in row chunks of at most one storage binding each (one chunk, 'logits', unless huge).
    const limits = gpu.device.limits;
    const chunks = logitChunks(rowsD, tgtVocab, Math.min(options.maxBindingBytes ?? Infinity, limits.maxStorageBufferBindingSize, limits.maxBufferSize));
    const logits = chunks.map((c, i) => ({ ...c, buffer: A(chunks.length === 1 ? 'logits' : `logits/${i}`, c.rows * tgtVocab) }));
    this.logitBuffers = logits.map((c) => ({ buffer: c.buffer, floats: c.rows * tgtVocab }));
    const rowLoss = A('loss/rows', rowsD * 2);
    const lossSums = A('loss/sums', 2);
    // Read-back ring: [loss sum, NLL sum, pad, pad, t_begin (u64), t_end (u64)] per step.
    for (let i = 0; i < LOSS_RING; i++) this.lossRing.push({ buffer: plan.alloc(`loss/staging${i}`, 8, BufferUsage.MAP_READ | BufferUsage.COPY_DST), busy: null });
    this.pacer = new ReadPacer(gpu.features.softwareAdapter);
    const dctx = A('scratch/dctx', maxRows * hv);
    const dq = A('scratch/dq', maxRows * hk);
    // dK and dV keep the K/V buffer's layout (row stride h·d_k + h·d_v) but need separate buffers:
    // WebGPU forbids two writable bindings of one buffer in a dispatch.
    const dkS = A('scratch/dk', maxRows * kvw);
    const dvS = A('scratch/dv', maxRows * kvw);
    const dhidden = A('scratch/dhidden', maxRows * dff);
    const attD = A('scratch/attention_D', B * h * Math.max(s, t));
    const lnPartial = A('scratch/ln_partial', normPartialBlocks(maxRows) * 2 * d);
    const dmem = A('scratch/dmemory', rowsE * d);
    const normPartial = A('scratch/norm_partial', NORM_PARTS);
    const gnorm = A('grad_norm', 2);
    // Split-K partial products of weight gradients (matmulAuto): the largest split·size over the 2-D
    // weights with K = the longest row count (gradients of shape [·, ·] sum over batch rows).
    let SPLIT_SCRATCH = 4;
    for (const [, e] of this.params) if (e.shape.length === 2) SPLIT_SCRATCH = Math.max(SPLIT_SCRATCH, splitKFactor(e.shape[0], e.shape[1], maxRows, options.splitMinK) * e.size);
    const splitScratch = A('scratch/split_k', SPLIT_SCRATCH);
    plan.allocate();

    // ---- forward ----
    const mm = (out: Dispatch[], label: string, o: MatmulOptions, b: { a: Binding; b: Binding; c: Binding; bias?: Binding; gate?: Binding }) => out.push(matmul(gpu, label, o, b));
    const attShape = (side: 'encoder' | 'decoder', kind: SublayerKind): AttentionShapeOptions => {
      const S = kind === 'self' ? sides[side].len : s;
      return {
        B, t: sides[side].len, S, heads: h, dk, dv, scale: config.attention_scale, causal: side === 'decoder' && kind === 'self',
        ldq: hk, ldk: kvw, ldv: kvw, ldo: hv, kOffset: 0, vOffset: hk,
      };
    };
    const sites = { next: 1 };
    const siteOf = new Map<string, number>();
    const site = (key: string) => {
      if (!siteOf.has(key)) siteOf.set(key, sites.next++);
      return siteOf.get(key)!;
    };
    /** The encoder output: the last fused kernel's y (post-norm: its LayerNorm; pre-norm: the final norm). */
    const memory = () => enc.per[enc.per.length - 1].y;
    /** The norm after sub-layer j: its own (post) or the next one's / the final norm (pre). */
    const normAfter = (side: 'encoder' | 'decoder', j: number) => {
      if (config.norm === 'post') return sublayers[side][j].norm;
      return j + 1 < sublayers[side].length ? sublayers[side][j + 1].norm : `${side}/final_norm`;
    };

    const buildForward = (out: Dispatch[], p: number) => {
      for (const side of ['encoder', 'decoder'] as const) {
        const a = side === 'encoder' ? enc : dec;
        const sd = sides[side];
        const rows = sd.rows;
        out.push(embeddingForward(gpu, `${side}/embed`, { B, len: sd.len, d, vocab: sd.vocab, p, site: site(`${side}/embed`) }, step, {
          ids: sd.ids, table: P(sd.table), pos: config.positional === 'sinusoidal' ? sinusoids : config.positional === 'learned' ? P(`${side}/positions`) : undefined, out: a.x0,
        }));
        if (config.norm === 'pre') {
          out.push(residualNormForward(gpu, `${side}/norm0`, { rows, d }, step, { x: a.x0, y: a.y0!, stats: a.stats0!, gammaBeta: P(`${sublayers[side][0].norm}/norm`) }));
        }
        let cur: GPUBuffer = config.norm === 'pre' ? a.y0! : a.x0;
        let stream: GPUBuffer = a.x0;
        sublayers[side].forEach((sl, j) => {
          const act = a.per[j];
          if (sl.kind === 'ffn') {
            mm(out, `${sl.prefix}/w1`, { M: rows, N: dff, K: d, relu: true }, { a: cur, b: P(`${sl.prefix}/w1`), c: act.hidden!, bias: P(`${sl.prefix}/b1`) });
            mm(out, `${sl.prefix}/w2`, { M: rows, N: d, K: dff }, { a: act.hidden!, b: P(`${sl.prefix}/w2`), c: a.fout, bias: P(`${sl.prefix}/b2`) });
          } else {
            const an = attentionNames(sl.prefix, config.share_qk);
            const kvIn = sl.kind === 'cross' ? memory() : cur;
            const kvRows = sl.kind === 'cross' ? rowsE : rows;
            mm(out, `${sl.prefix}/q`, { M: rows, N: hk, K: d }, { a: cur, b: P(an.wq), c: act.q! });
            // Under share_qk an.wk is W^Q: K = x·W^Q is computed into the K/V buffer all the same, so the
            // backward's dK has its own columns (its W^Q gradient is accumulated below).
            mm(out, `${sl.prefix}/k`, { M: kvRows, N: hk, K: d, ldc: kvw }, { a: kvIn, b: P(an.wk), c: act.kv! });
            mm(out, `${sl.prefix}/v`, { M: kvRows, N: hv, K: d, ldc: kvw, cOffset: hk }, { a: kvIn, b: P(an.wv), c: act.kv! });
            const shape = attShape(side, sl.kind);
            out.push(attentionForward(gpu, `${sl.prefix}/attention`, shape, {
              q: act.q!, k: act.kv!, v: act.kv!, keyIds: sl.kind === 'self' ? sd.ids : srcIds, out: act.ctx!, lse: act.lse!,
            }));
            mm(out, `${sl.prefix}/o`, { M: rows, N: d, K: hv }, { a: act.ctx!, b: P(an.wo), c: a.fout });
          }
          out.push(residualNormForward(gpu, `${sl.prefix}/residual_norm`, { rows, d, p, site: site(sl.prefix) }, step, {
            x: config.norm === 'post' ? cur : stream, f: a.fout, s: act.s, y: act.y, stats: act.stats, gammaBeta: P(`${normAfter(side, j)}/norm`),
          }));
          cur = act.y;
          stream = act.s;
        });
      }
      const decOut = dec.per[dec.per.length - 1].y;
      // logits[row0 .. row0 + rows) = decOut[row0 .. row0 + rows) · Eᵀ (tied) or · W_out, per chunk.
      for (const c of logits) {
        const label = logits.length === 1 ? 'logits' : `logits@${c.row0}/logits`; // profiles group by the last part
        mm(out, label, { M: c.rows, N: tgtVocab, K: d, transB: config.share_embeddings, aOffset: c.row0 * d }, { a: decOut, b: P(names.out), c: c.buffer });
      }
    };
    const classifier = (writeGrad: boolean) => [
      ...logits.map((c) => fusedClassifier(gpu, `${logits.length === 1 ? '' : `logits@${c.row0}/`}${writeGrad ? 'loss' : 'loss/eval'}`, {
        N: c.rows, row0: c.row0, vocab: tgtVocab, labelSmoothing: options.labelSmoothing, smoothing: options.smoothing, writeGrad,
      }, step, { logits: c.buffer, targets: tgtOutIds, rowLoss })),
      columnSum(gpu, 'loss/sum', { rows: rowsD, cols: 2 }, rowLoss, lossSums),
    ];

    buildForward(this.trainDispatches, config.dropout);
    // The training forward's loss without gradients (same dropout masks as trainStep at the same step):
    // gradient checks by finite differences through dropout.
    this.trainLossDispatches.push(...this.trainDispatches, ...classifier(false));
    this.trainDispatches.push(...classifier(true));
    if (config.dropout > 0) buildForward(this.evalDispatches, 0);
    else this.evalDispatches.push(...this.trainDispatches.slice(0, this.trainDispatches.length - logits.length - 1));
    this.evalDispatches.push(...classifier(false));

    // ---- backward ----
    const out = this.trainDispatches;
    const p = config.dropout;
    const decOut = dec.per[dec.per.length - 1].y;
    let dmemWritten = false;
    /** A weight gradient (long K = rows): split over K when the output has few tiles. */
    const dW = (label: string, name: string, o: MatmulOptions, a: Binding, b: Binding, accumulate: boolean) => {
      if (splitKFactor(o.M, o.N, o.K, options.splitMinK) * o.M * o.N > SPLIT_SCRATCH) throw new Error(`${label}: split-K scratch too small`);
      out.push(...matmulAuto(gpu, label, { ...o, accumulate, splitMinK: options.splitMinK }, { a, b, c: G(name), scratch: splitScratch }));
    };
    // logits = x·Eᵀ (tied) or x·W: dX into the decoder's first gradient buffer, dE / dW into the slab,
    // chunk by chunk (dX rows are disjoint; dE / dW sums over the chunks' rows).
    logits.forEach((c, i) => {
      const at = logits.length === 1 ? 'logits' : `logits@${c.row0}`;
      if (config.share_embeddings) {
        mm(out, `${at}/dx`, { M: c.rows, N: d, K: tgtVocab, cOffset: c.row0 * d }, { a: c.buffer, b: P(names.out), c: dec.g[0] });
        dW(`${at}/dw`, names.out, { M: tgtVocab, N: d, K: c.rows, transA: true, bOffset: c.row0 * d }, c.buffer, decOut, i > 0);
      } else {
        mm(out, `${at}/dx`, { M: c.rows, N: d, K: tgtVocab, transB: true, cOffset: c.row0 * d }, { a: c.buffer, b: P(names.out), c: dec.g[0] });
        dW(`${at}/dw`, names.out, { M: d, N: tgtVocab, K: c.rows, transA: true, aOffset: c.row0 * d }, decOut, c.buffer, i > 0);
      }
    });
    for (const side of ['decoder', 'encoder'] as const) {
      const a = side === 'encoder' ? enc : dec;
      const sd = sides[side];
      const rows = sd.rows;
      // Gradient buffers: gY = gradient of the current y (the next sub-layer's input); gS = gradient reaching
      // the residual stream s directly (pre-norm), spare = free buffer.
      let gY: GPUBuffer = side === 'encoder' ? dmem : a.g[0];
      let gS: GPUBuffer | undefined;
      let free: GPUBuffer[] = side === 'encoder' ? [a.g[0], a.g[1], a.g[2]] : [a.g[1], a.g[2]];
      const take = () => free.shift()!;
      for (let j = sublayers[side].length - 1; j >= 0; j--) {
        const sl = sublayers[side][j];
        const act = a.per[j];
        const input: GPUBuffer = j > 0 ? a.per[j - 1].y : config.norm === 'pre' ? a.y0! : a.x0;
        const ds = take();
        const normName = normAfter(side, j);
        out.push(...residualNormBackward(gpu, `${sl.prefix}/residual_norm/bwd`, { rows, d, p, site: site(sl.prefix), hasF: true }, step, {
          dy: gY, s: act.s, stats: act.stats, gammaBeta: P(`${normName}/norm`), dres: gS, ds, df: p > 0 ? a.df : undefined, partial: lnPartial, dGammaBeta: G(`${normName}/norm`),
        }));
        const df = p > 0 ? a.df! : ds;
        // dIn: post-norm accumulates onto ds (the residual path); pre-norm writes the sub-layer input's gradient fresh.
        const dIn: GPUBuffer = config.norm === 'post' ? ds : gY;
        let dInWritten = config.norm === 'post';
        const addDIn = (label: string, o: MatmulOptions, A_: Binding, B_: Binding) => {
          mm(out, label, { ...o, accumulate: dInWritten }, { a: A_, b: B_, c: dIn });
          dInWritten = true;
        };
        if (sl.kind === 'ffn') {
          dW(`${sl.prefix}/dw2`, `${sl.prefix}/w2`, { M: dff, N: d, K: rows, transA: true }, act.hidden!, df, false);
          out.push(columnSum(gpu, `${sl.prefix}/db2`, { rows, cols: d }, df, G(`${sl.prefix}/b2`)));
          mm(out, `${sl.prefix}/dhidden`, { M: rows, N: dff, K: d, transB: true }, { a: df, b: P(`${sl.prefix}/w2`), c: dhidden, gate: act.hidden! });
          dW(`${sl.prefix}/dw1`, `${sl.prefix}/w1`, { M: d, N: dff, K: rows, transA: true }, input, dhidden, false);
          out.push(columnSum(gpu, `${sl.prefix}/db1`, { rows, cols: dff }, dhidden, G(`${sl.prefix}/b1`)));
          addDIn(`${sl.prefix}/dx`, { M: rows, N: d, K: dff, transB: true }, dhidden, P(`${sl.prefix}/w1`));
        } else {
          const an = attentionNames(sl.prefix, config.share_qk);
          const cross = sl.kind === 'cross';
          const kvIn: GPUBuffer = cross ? memory() : input;
          const kvRows = cross ? rowsE : rows;
          dW(`${sl.prefix}/dwo`, an.wo, { M: hv, N: d, K: rows, transA: true }, act.ctx!, df, false);
          mm(out, `${sl.prefix}/dctx`, { M: rows, N: hv, K: d, transB: true }, { a: df, b: P(an.wo), c: dctx });
          out.push(...attentionBackward(gpu, `${sl.prefix}/attention/bwd`, attShape(side, sl.kind), {
            q: act.q!, k: act.kv!, v: act.kv!, keyIds: cross ? srcIds : sd.ids, out: act.ctx!, lse: act.lse!, dOut: dctx, D: attD,
            dq, dk: dkS, dv: dvS, // columns [0, h·d_k) of dkS and [h·d_k, h·d_k + h·d_v) of dvS
          }));
          // Under share_qk, an.wk names W^Q: its dK part accumulates onto the dQ part.
          dW(`${sl.prefix}/dwq`, an.wq, { M: d, N: hk, K: rows, transA: true }, input, dq, false);
          dW(`${sl.prefix}/dwk`, an.wk, { M: d, N: hk, K: kvRows, transA: true, ldb: kvw }, kvIn, dkS, config.share_qk);
          dW(`${sl.prefix}/dwv`, an.wv, { M: d, N: hv, K: kvRows, transA: true, ldb: kvw, bOffset: hk }, kvIn, dvS, false);
          addDIn(`${sl.prefix}/dx_q`, { M: rows, N: d, K: hk, transB: true }, dq, P(an.wq));
          if (cross) {
            mm(out, `${sl.prefix}/dmem_k`, { M: rowsE, N: d, K: hk, transB: true, lda: kvw, accumulate: dmemWritten }, { a: dkS, b: P(an.wk), c: dmem });
            mm(out, `${sl.prefix}/dmem_v`, { M: rowsE, N: d, K: hv, transB: true, lda: kvw, aOffset: hk, accumulate: true }, { a: dvS, b: P(an.wv), c: dmem });
            dmemWritten = true;
          } else {
            addDIn(`${sl.prefix}/dx_k`, { M: rows, N: d, K: hk, transB: true, lda: kvw }, dkS, P(an.wk));
            addDIn(`${sl.prefix}/dx_v`, { M: rows, N: d, K: hv, transB: true, lda: kvw, aOffset: hk }, dvS, P(an.wv));
          }
        }
        if (config.norm === 'post') {
          free.push(gY);
          gY = ds;
        } else {
          if (gS) free.push(gS);
          gS = ds;
        }
      }
      let dx0: GPUBuffer;
      if (config.norm === 'pre') {
        dx0 = take();
        out.push(...residualNormBackward(gpu, `${side}/norm0/bwd`, { rows, d, hasF: false }, step, {
          dy: gY, s: a.x0, stats: a.stats0!, gammaBeta: P(`${sublayers[side][0].norm}/norm`), dres: gS, ds: dx0, partial: lnPartial, dGammaBeta: G(`${sublayers[side][0].norm}/norm`),
        }));
      } else dx0 = gY;
      const tied = config.share_embeddings;
      out.push(embeddingBackward(gpu, `${side}/embed/bwd`, { B, len: sd.len, d, vocab: sd.vocab, p, site: site(`${side}/embed`), accumulate: tied }, step, {
        dOut: dx0, offsets: sd.off, order: sd.order, dTable: G(sd.table),
      }));
      if (config.positional === 'learned') {
        out.push(positionsBackward(gpu, `${side}/positions/bwd`, { B, len: sd.len, d, vocab: sd.vocab, p, site: site(`${side}/embed`), tableRows: MAX_LEARNED_POSITIONS }, step, { dOut: dx0, dPos: G(`${side}/positions`) }));
      }
      free = [];
    }

    // ---- optimizer ----
    if (options.clipNorm > 0) out.push(...gradNorm(gpu, 'grad_norm', { n, maxNorm: options.clipNorm }, { grads: gradsB, partial: normPartial, norm: gnorm }));
    out.push(adamUpdate(gpu, 'adam', { n, clip: options.clipNorm > 0, adam: this.adam }, step, { params: paramsB, grads: gradsB, m: mB, v: vB, norm: options.clipNorm > 0 ? gnorm : undefined }));
  }

  /** Frees this bucket's activations (and the parameter store too when `withStore`). */
  destroy(withStore = false): void {
    this.plan.destroy();
    if (withStore) this.store.destroy();
  }

  /** Copies weights in (by tfjs name) and resets the optimizer; `get` returns each weight's values. */
  setWeights(get: (name: string) => ArrayLike<number>): void {
    this.writeSlab('params', get);
    const zeros = new Float32Array(this.slab.floats);
    this.gpu.write(this.store.m, zeros);
    this.gpu.write(this.store.v, zeros);
    this.store.t = 0;
  }

  private writeSlab(which: 'params' | 'adam/m' | 'adam/v', get: (name: string) => ArrayLike<number> | undefined): void {
    const slab = new Float32Array(this.slab.floats);
    for (const [name, e] of this.params) {
      const v = get(name);
      if (!v) throw new Error(`no ${which === 'params' ? 'weight' : `Adam ${which.slice(5)}`} for ${name}`);
      if (v.length !== e.size) throw new Error(`${which} ${name}: ${v.length} values, want ${e.size}`);
      slab.set(v, e.offset);
    }
    this.gpu.write(this.store.buffer(which), slab);
  }

  /**
   * Everything a resumed run needs, by the tfjs engine's weight names (the groups of a checkpoint:
   * weights, Adam m, Adam v, and the step t): see experiments/train/checkpoint.ts.
   */
  async exportState(): Promise<{ t: number; weights: Map<string, Float32Array>; m: Map<string, Float32Array>; v: Map<string, Float32Array> }> {
    return { t: this.store.t, weights: await this.readSlab('params'), m: await this.readSlab('adam/m'), v: await this.readSlab('adam/v') };
  }

  /** Restores exportState()'s result (or a tfjs checkpoint's tensors): the next step is t + 1. */
  importState(state: { t: number; weights: ReadonlyMap<string, ArrayLike<number>>; m: ReadonlyMap<string, ArrayLike<number>>; v: ReadonlyMap<string, ArrayLike<number>> }): void {
    this.writeSlab('params', (n) => state.weights.get(n));
    this.writeSlab('adam/m', (n) => state.m.get(n));
    this.writeSlab('adam/v', (n) => state.v.get(n));
    this.store.t = state.t;
  }

  /** Reads a slab ('params', 'grads', 'adam/m', 'adam/v') back by weight name. Not for the steady state. */
  async readSlab(which: 'params' | 'grads' | 'adam/m' | 'adam/v'): Promise<Map<string, Float32Array>> {
    const all = await this.gpu.read(this.store.buffer(which), 0, this.slab.floats * 4);
    const out = new Map<string, Float32Array>();
    for (const [name, e] of this.params) out.set(name, all.slice(e.offset, e.offset + e.size));
    return out;
  }

  get step(): number {
    return this.store.t;
  }

  /** Uploads a batch (ids and the token indexes of the embedding backward) and the step uniforms. */
  private upload(batch: FusedBatch, step: number, stepSize: number, invBias2: number): void {
    const h = this.host;
    if (batch.src.length !== this.rowsE || batch.tgtIn.length !== this.rowsD || batch.tgtOut.length !== this.rowsD) {
      throw new Error(`batch shape does not match the bucket ${this.bucket.batch}×${this.bucket.srcLen}/${this.bucket.tgtLen}`);
    }
    h.src.set(batch.src);
    h.tgtIn.set(batch.tgtIn);
    h.tgtOut.set(batch.tgtOut);
    tokenIndex(h.src, this.srcVocab, h.srcOff, h.srcOrder);
    tokenIndex(h.tgtIn, this.store.tgtVocab, h.tgtOff, h.tgtOrder);
    let count = 0;
    for (let i = 0; i < h.tgtOut.length; i++) {
      const y = h.tgtOut[i];
      if (!(y >= 0 && y < this.tgtVocab)) throw new RangeError(`target id ${y} outside the vocabulary of ${this.tgtVocab}`);
      if (y !== 0) count++;
    }
    const g = this.gpu;
    const pl = this.plan;
    g.write(pl.get('batch/src'), h.src);
    g.write(pl.get('batch/tgt_in'), h.tgtIn);
    g.write(pl.get('batch/tgt_out'), h.tgtOut);
    g.write(pl.get('batch/src_index/offsets'), h.srcOff);
    g.write(pl.get('batch/src_index/order'), h.srcOrder);
    g.write(pl.get('batch/tgt_index/offsets'), h.tgtOff);
    g.write(pl.get('batch/tgt_index/order'), h.tgtOrder);
    this.stepParams.set({ step, seed: this.options.seed, stepSize, invBias2, tokenScale: 1 / Math.max(count, 1) });
    this.tokens = count;
  }

  private tokens = 0;

  get slab(): SlabLayout {
    return this.store.slab;
  }

  get params(): ParameterStore['params'] {
    return this.store.params;
  }

  get stepParams(): StepParams {
    return this.store.stepParams;
  }

  /**
   * Records and submits one training step (one encoder, one submit); the loss resolves later. Resolves
   * at once unless the GPU is LOSS_RING steps behind, when it first waits for the oldest read-back
   * (back-pressure: the host never runs more than a few steps ahead).
   */
  async trainStep(batch: FusedBatch, lr: number): Promise<StepStats> {
    const slot = this.lossRing[this.lossNext];
    this.lossNext = (this.lossNext + 1) % LOSS_RING;
    if (slot.busy) await slot.busy; // callers await each trainStep before starting the next
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const t = this.store.t + 1;
    const { stepSize, invBias2 } = adamStepScalars(lr, t, this.adam);
    this.upload(batch, t, stepSize, invBias2);
    const ts = this.gpu.timestamps;
    const rec = this.gpu.beginStep(ts !== null);
    rec.recordAll(this.trainDispatches);
    const copies = [{ src: this.plan.get('loss/sums'), srcOffset: 0, dst: slot.buffer, dstOffset: 0, bytes: 8 }];
    if (ts) copies.push({ src: ts.resolve, srcOffset: 0, dst: slot.buffer, dstOffset: 16, bytes: 16 });
    const stats = rec.end(copies);
    this.store.t = t;
    const tokens = Math.max(this.tokens, 1);
    // On a CPU adapter the map is asked for only when the step should be done (ReadPacer: dawn.node
    // polls on this thread while a map is pending, taking a core from the kernels; config A on
    // lavapipe: ~30 % less process CPU per step, measured 4.0 vs 5.8 CPU-s over the same steps).
    const submittedAt = performance.now();
    const expected = this.pacer.submitted(1, this.pacedUntil);
    this.pacedUntil = expected;
    const read = this.pacer.settle(expected).then(() => slot.buffer.mapAsync(GPUMapMode.READ, 0, 32)).then(() => {
      this.pacer.resolved(1, submittedAt);
      const bytes = slot.buffer.getMappedRange(0, 32).slice(0);
      slot.buffer.unmap();
      slot.busy = null;
      this.gpu.throwIfFailed(); // a device error since the last read: this loss is not to be trusted
      const [sum] = new Float32Array(bytes, 0, 1);
      const [begin, end] = new BigUint64Array(bytes, 16, 2);
      return { loss: sum / tokens, gpuMs: ts ? Number(end - begin) / 1e6 : null };
    });
    // A failed read (a device error) rejects `loss` only: the slot and the GPU time settle quietly, so
    // the one error surfaces once, where the step's loss is awaited, not as unhandled rejections.
    slot.busy = read.then(() => undefined, () => undefined);
    return {
      dispatches: stats.dispatches, submits: stats.submits, hostMs: performance.now() - started, recordMs: stats.hostMs, hostCpuMs: cpuMs(process.cpuUsage(cpuStarted)),
      loss: read.then((r) => r.loss), gpuMs: read.then((r) => r.gpuMs, () => null),
    };
  }

  /**
   * Forward and loss without dropout or gradients (evaluation); reads back the logits too when asked.
   * Returns (mean smoothed loss, summed NLL, target tokens).
   */
  async evaluate(batch: FusedBatch, readLogits = false): Promise<{ loss: number; sumNll: number; tokens: number; logits?: Float32Array }> {
    this.upload(batch, this.store.t, 0, 0);
    await this.gpu.run(this.evalDispatches);
    const [sum, nll] = await this.gpu.read(this.plan.get('loss/sums'), 0, 8);
    let logits: Float32Array | undefined;
    if (readLogits) {
      logits = new Float32Array(this.rowsD * this.store.tgtVocab);
      let at = 0;
      for (const c of this.logitBuffers) {
        logits.set((await this.gpu.read(c.buffer, 0, c.floats * 4)).subarray(0, c.floats), at);
        at += c.floats;
      }
    }
    return { loss: sum / Math.max(this.tokens, 1), sumNll: nll, tokens: this.tokens, logits };
  }

  /** The training loss (dropout on, masks of step t + 1) of the current weights, without gradients. */
  async trainingLoss(batch: FusedBatch): Promise<number> {
    this.upload(batch, this.store.t + 1, 0, 0);
    await this.gpu.run(this.trainLossDispatches);
    const [sum] = await this.gpu.read(this.plan.get('loss/sums'), 0, 8);
    return sum / Math.max(this.tokens, 1);
  }

  /** Forward + backward only (no update), for gradient tests: leaves the gradients in the 'grads' slab. */
  async computeGradients(batch: FusedBatch): Promise<{ loss: number }> {
    this.upload(batch, this.store.t + 1, 0, 0);
    const adamAt = this.trainDispatches.length - 1 - (this.options.clipNorm > 0 ? 2 : 0);
    await this.gpu.run(this.trainDispatches.slice(0, adamAt));
    const [sum] = await this.gpu.read(this.plan.get('loss/sums'), 0, 8);
    return { loss: sum / Math.max(this.tokens, 1) };
  }
}

/** A batch as the data pipeline makes it (experiments/data/types.ts Batch): row-major, PAD = 0. */
export interface HostBatch extends FusedBatch {
  readonly size: number;
  readonly srcLen: number;
  readonly tgtLen: number;
}

/** The smallest bucket (by padded tokens) that holds the batch, or undefined. */
export function chooseBucket(buckets: readonly Bucket[], b: HostBatch): Bucket | undefined {
  const fits = buckets.filter((k) => k.batch >= b.size && k.srcLen >= b.srcLen && k.tgtLen >= b.tgtLen);
  return fits.sort((x, y) => x.batch * (x.srcLen + x.tgtLen) - y.batch * (y.srcLen + y.tgtLen))[0];
}

/**
 * Pads a batch to a bucket's shape with PAD: longer rows, and whole PAD sentences at the end. PAD
 * keys are masked and PAD targets carry no loss, so the loss and every gradient are those of the
 * unpadded batch (tested).
 */
export function padToBucket(b: HostBatch, bucket: Bucket): FusedBatch {
  if (b.size > bucket.batch || b.srcLen > bucket.srcLen || b.tgtLen > bucket.tgtLen) throw new Error(`batch ${b.size}×${b.srcLen}/${b.tgtLen} does not fit bucket ${bucket.batch}×${bucket.srcLen}/${bucket.tgtLen}`);
  const pad = (ids: Int32Array, len: number, to: number) => {
    const out = new Int32Array(bucket.batch * to);
    for (let r = 0; r < b.size; r++) out.set(ids.subarray(r * len, (r + 1) * len), r * to);
    return out;
  };
  return { src: pad(b.src, b.srcLen, bucket.srcLen), tgtIn: pad(b.tgtIn, b.tgtLen, bucket.tgtLen), tgtOut: pad(b.tgtOut, b.tgtLen, bucket.tgtLen) };
}

/**
 * Why the fused engine cannot train `config` at lengths up to `maxLen` (source or target), as one
 * line for queue-time checks; null when it can.
 */
export function unsupportedReason(config: ModelConfig, maxLen: number): string | null {
  if (maxLen > MAX_ATTENTION_LEN) return `fused engine: sequences up to ${MAX_ATTENTION_LEN} tokens (attention kernels), asked for ${maxLen}`;
  if (config.d_k > MAX_HEAD_DIM || config.d_v > MAX_HEAD_DIM) return `fused engine: d_k and d_v up to ${MAX_HEAD_DIM}, got d_k ${config.d_k}, d_v ${config.d_v}`;
  if (config.positional === 'learned' && maxLen > MAX_LEARNED_POSITIONS) return `fused engine: learned positions cover ${MAX_LEARNED_POSITIONS} tokens, asked for ${maxLen}`;
  return null;
}
