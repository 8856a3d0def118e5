/**
 * The encoder–decoder Transformer of "Attention Is All You Need" (Vaswani et al. 2017), with the
 * workbench's ablation switches (norm pre|post, positional sinusoidal|learned|none,
 * share_embeddings, attention_scale, share_qk; independent heads, d_k, d_v).
 *
 * Shapes: B batch, s source length, t target length, d d_model, h heads, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../contract/spec';
import type { AttentionWeights as AttentionMaps, DecoderCache, EncoderOutput, Seq2SeqModel } from './types';
import { embeddingLookup, matMul } from './ops';
import {
  type AttentionShape, type AttentionWeights, type DecoderLayerWeights, type EncoderLayerWeights, type FfnWeights, type KeyValues,
  type NormWeights, type SublayerOptions,
  decoderBlock, decoderSelfBias, dropout, encoderBlock, layerNorm, paddingBias, projectKeyValues,
} from './layers';
import { dropoutSeed } from '../seeding';
import { attentionNames, embeddingNames, initialValue, parameterSpecs } from './params';
import { MAX_LEARNED_POSITIONS, SinusoidCache } from './positional';

/**
 * Builds a randomly initialised model; the same (config, vocabularies, seed) gives the same weights.
 * Variable names are stable ("encoder/0/self_attn/wq", …). tfjs registers variable names globally,
 * so only one model per process may be alive at a time: dispose() it before creating another.
 * @example const model = createModel(config, 8000, 8000, 1); const logits = model.forward(src, tgtIn, true);
 */
export function createModel(config: ModelConfig, srcVocabSize: number, tgtVocabSize: number, seed: number): Seq2SeqModel {
  return new Transformer(config, srcVocabSize, tgtVocabSize, seed);
}

class Transformer implements Seq2SeqModel {
  readonly variables: readonly tf.Variable[];
  readonly paramCount: number;
  private readonly byName = new Map<string, tf.Variable>();
  private readonly encoderLayers: EncoderLayerWeights[] = [];
  private readonly decoderLayers: DecoderLayerWeights[] = [];
  private readonly attnShape: AttentionShape;
  private readonly sinusoids: SinusoidCache;
  /** Optimizer step set by the trainer (setDropoutStep) and dropout calls since: the dropout RNG state. */
  private dropoutStep = 0;
  private dropoutCalls = 0;

  constructor(readonly config: ModelConfig, readonly srcVocabSize: number, readonly tgtVocabSize: number, private readonly seed: number) {
    const specs = parameterSpecs(config, srcVocabSize, tgtVocabSize);
    const clash = specs.find((p) => tf.engine().registeredVariables[p.name] !== undefined);
    if (clash) throw new Error(`createModel: a variable named "${clash.name}" is alive in this process; dispose() the other model first`);
    for (const p of specs) {
      const init = initialValue(p, config.d_model, seed);
      this.byName.set(p.name, tf.variable(init, true, p.name));
      init.dispose();
    }
    this.variables = [...this.byName.values()];
    this.paramCount = this.variables.reduce((n, v) => n + v.size, 0);
    this.attnShape = { heads: config.heads, dk: config.d_k, dv: config.d_v, scale: config.attention_scale };
    this.sinusoids = new SinusoidCache(config.d_model);
    const attention = (prefix: string): AttentionWeights => {
      const n = attentionNames(prefix, config.share_qk);
      return { wq: this.w(n.wq), wk: this.w(n.wk), wv: this.w(n.wv), wo: this.w(n.wo) };
    };
    const norm = (prefix: string): NormWeights => ({ gamma: this.w(`${prefix}/gamma`), beta: this.w(`${prefix}/beta`) });
    const ffn = (prefix: string): FfnWeights => ({
      w1: this.w(`${prefix}/w1`), b1: this.w(`${prefix}/b1`), w2: this.w(`${prefix}/w2`), b2: this.w(`${prefix}/b2`),
    });
    for (let l = 0; l < config.layers; l++) {
      const p = `encoder/${l}`;
      this.encoderLayers.push({ selfAttn: attention(`${p}/self_attn`), selfAttnNorm: norm(`${p}/self_attn_norm`), ffn: ffn(`${p}/ffn`), ffnNorm: norm(`${p}/ffn_norm`) });
    }
    for (let l = 0; l < config.layers; l++) {
      const p = `decoder/${l}`;
      this.decoderLayers.push({
        selfAttn: attention(`${p}/self_attn`), selfAttnNorm: norm(`${p}/self_attn_norm`),
        crossAttn: attention(`${p}/cross_attn`), crossAttnNorm: norm(`${p}/cross_attn_norm`),
        ffn: ffn(`${p}/ffn`), ffnNorm: norm(`${p}/ffn_norm`),
      });
    }
  }

  private w(name: string): tf.Variable {
    const v = this.byName.get(name);
    if (!v) throw new Error(`model has no weight "${name}"`);
    return v;
  }

  /**
   * A fresh dropout seed per call, a function of (model seed, step, call index within the step)
   * only: a fresh model told the same step draws the same masks (resumed runs).
   */
  private readonly nextDropoutSeed = (): number => dropoutSeed(this.seed, this.dropoutStep, this.dropoutCalls++);

  setDropoutStep(step: number): void {
    this.dropoutStep = step;
    this.dropoutCalls = 0;
  }

  /**
   * Token embedding × sqrt(d_model) + position encoding (section 3.4, 3.5), then dropout.
   * ids [B, len] → [B·len, d]; positions start at `offset` (incremental decoding).
   */
  private embed(ids: tf.Tensor2D, side: 'encoder' | 'decoder', offset: number, training: boolean): tf.Tensor2D {
    const [b, len] = ids.shape;
    const d = this.config.d_model;
    const names = embeddingNames(this.config);
    const table = this.w(side === 'encoder' ? names.src : names.tgt) as tf.Tensor2D;
    let x = tf.mul(embeddingLookup(table, ids), Math.sqrt(d)) as tf.Tensor3D; // [B, len, d]
    if (this.config.positional !== 'none') {
      if (offset + len > MAX_LEARNED_POSITIONS && this.config.positional === 'learned') {
        throw new Error(`positional: learned covers ${MAX_LEARNED_POSITIONS} positions; got a ${side} sequence of ${offset + len}`);
      }
      const pe = this.config.positional === 'sinusoidal'
        ? tf.tensor2d(this.sinusoids.rowsFrom(offset, len), [len, d])
        : tf.slice(this.w(`${side}/positions`), [offset, 0], [len, d]); // [len, d]
      x = tf.add(x, pe); // [B, len, d]
    }
    return dropout(tf.reshape(x, [b * len, d]) as tf.Tensor2D, this.config.dropout, training, this.nextDropoutSeed);
  }

  /** How this model wraps its residual sub-layers (norm placement, dropout with this model's mask seeds). */
  private sublayerOptions(training: boolean): SublayerOptions {
    return { norm: this.config.norm, dropout: this.config.dropout, training, seed: this.nextDropoutSeed };
  }

  /** Encoder stack. src [B, s] → memory [B·s, d], with the padding bias [B, 1, 1, s]. */
  private runEncoder(src: tf.Tensor2D, training: boolean, maps?: tf.Tensor4D[]): { memory2d: tf.Tensor2D; srcMaskBias: tf.Tensor4D } {
    const [b, s] = src.shape;
    const srcMaskBias = paddingBias(src); // [B, 1, 1, s], built once for every layer
    const o = this.sublayerOptions(training);
    let x = this.embed(src, 'encoder', 0, training); // [B·s, d]
    for (const layer of this.encoderLayers) x = encoderBlock(x, layer, b, s, srcMaskBias, this.attnShape, o, maps);
    if (this.config.norm === 'pre') x = layerNorm(x, this.finalNorm('encoder'));
    return { memory2d: x, srcMaskBias };
  }

  private finalNorm(side: 'encoder' | 'decoder'): NormWeights {
    return { gamma: this.w(`${side}/final_norm/gamma`), beta: this.w(`${side}/final_norm/beta`) };
  }

  /** Pre-softmax linear map (tied to the embedding under share_embeddings). x [rows, d] → [rows, V]. */
  private project(x: tf.Tensor2D): tf.Tensor2D {
    const out = this.w(embeddingNames(this.config).out) as tf.Tensor2D;
    return this.config.share_embeddings ? matMul(x, out, false, true) : matMul(x, out);
  }

  /** Decoder stack over a whole target prefix (teacher forcing). Returns logits [B, t, V]. */
  private runDecoder(
    tgtIn: tf.Tensor2D, memory2d: tf.Tensor2D, srcMaskBias: tf.Tensor4D, training: boolean,
    maps?: { self: tf.Tensor4D[]; cross: tf.Tensor4D[] },
  ): tf.Tensor3D {
    const [b, t] = tgtIn.shape;
    const s = srcMaskBias.shape[3];
    const selfBias = decoderSelfBias(tgtIn); // [B, 1, t, t], built once for every layer
    const o = this.sublayerOptions(training);
    let x = this.embed(tgtIn, 'decoder', 0, training); // [B·t, d]
    for (const layer of this.decoderLayers) {
      const memory = projectKeyValues(memory2d, layer.crossAttn, b, s, this.attnShape);
      x = decoderBlock(x, layer, b, t, { selfBias, memory, memoryBias: srcMaskBias, maps }, this.attnShape, o).y;
    }
    if (this.config.norm === 'pre') x = layerNorm(x, this.finalNorm('decoder'));
    return tf.reshape(this.project(x), [b, t, this.tgtVocabSize]); // [B, t, V]
  }

  forward(src: tf.Tensor2D, tgtIn: tf.Tensor2D, training: boolean): tf.Tensor3D {
    // No tidy here: the caller's tf.variableGrads/tidy owns the intermediates the tape needs.
    const { memory2d, srcMaskBias } = this.runEncoder(src, training);
    return this.runDecoder(tgtIn, memory2d, srcMaskBias, training);
  }

  encode(src: tf.Tensor2D): EncoderOutput {
    return tf.tidy(() => {
      const [b, s] = src.shape;
      const { memory2d, srcMaskBias } = this.runEncoder(src, false);
      return { memory: tf.reshape(memory2d, [b, s, this.config.d_model]) as tf.Tensor3D, srcMaskBias };
    });
  }

  initCache(encoded: EncoderOutput): DecoderCache {
    return tf.tidy(() => {
      const [b, s, d] = encoded.memory.shape;
      const { heads, d_k: dk, d_v: dv } = this.config;
      const memory2d = tf.reshape(encoded.memory, [b * s, d]) as tf.Tensor2D;
      const cross = this.decoderLayers.map((layer) => projectKeyValues(memory2d, layer.crossAttn, b, s, this.attnShape));
      const self = this.decoderLayers.map(() => ({ k: tf.zeros([b, heads, dk, 0]) as tf.Tensor4D, v: tf.zeros([b, heads, 0, dv]) as tf.Tensor4D }));
      return { self, cross, length: 0 };
    });
  }

  decodeStep(encoded: EncoderOutput, cache: DecoderCache, tokens: tf.Tensor1D): { logProbs: tf.Tensor2D; cache: DecoderCache } {
    return tf.tidy((() => {
      const b = tokens.shape[0];
      const o = this.sublayerOptions(false);
      let x = this.embed(tf.reshape(tokens, [b, 1]) as tf.Tensor2D, 'decoder', cache.length, false); // [B, d]
      const self: KeyValues[] = [];
      this.decoderLayers.forEach((layer, l) => {
        // The new position attends to itself and everything before it: no mask.
        const ctx = { past: cache.self[l], selfBias: null, memory: cache.cross[l], memoryBias: encoded.srcMaskBias };
        const out = decoderBlock(x, layer, b, 1, ctx, this.attnShape, o);
        x = out.y;
        self.push(out.self);
      });
      if (this.config.norm === 'pre') x = layerNorm(x, this.finalNorm('decoder'));
      const logProbs = tf.logSoftmax(this.project(x)) as tf.Tensor2D; // [B, V]
      return { logProbs, cache: { self, cross: cache.cross, length: cache.length + 1 } };
    }) as unknown as () => tf.TensorContainer) as unknown as { logProbs: tf.Tensor2D; cache: DecoderCache };
  }

  selectCache(cache: DecoderCache, indices: tf.Tensor1D): DecoderCache {
    return tf.tidy(() => ({
      self: cache.self.map(({ k, v }) => ({ k: tf.gather(k, indices) as tf.Tensor4D, v: tf.gather(v, indices) as tf.Tensor4D })),
      cross: cache.cross.map(({ k, v }) => ({ k: tf.gather(k, indices) as tf.Tensor4D, v: tf.gather(v, indices) as tf.Tensor4D })),
      length: cache.length,
    }));
  }

  attention(src: tf.Tensor2D, tgtIn: tf.Tensor2D): { logits: tf.Tensor3D; weights: AttentionMaps } {
    return tf.tidy(() => {
      const encoderSelf: tf.Tensor4D[] = [];
      const maps = { self: [] as tf.Tensor4D[], cross: [] as tf.Tensor4D[] };
      const { memory2d, srcMaskBias } = this.runEncoder(src, false, encoderSelf);
      const logits = this.runDecoder(tgtIn, memory2d, srcMaskBias, false, maps);
      return { logits, weights: { encoderSelf, decoderSelf: maps.self, cross: maps.cross } };
    });
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}
