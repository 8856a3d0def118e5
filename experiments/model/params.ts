/**
 * The model's weights: names, shapes and initialisers, as a list computed from the config alone so
 * the parameter count of a big config needs no allocation (countParameters) and the model builds
 * exactly these variables (createModel). Names are stable: checkpoints key on them.
 *
 * Initialisation (like fairseq and PyTorch's nn.Transformer): Xavier/Glorot uniform for every
 * projection matrix, zeros for biases, ones/zeros for LayerNorm gain/bias, N(0, d_model^-0.5) for
 * token embeddings (and learned positions). Each weight draws from its own generator seeded by
 * (model seed, weight name) (experiments/seeding.ts), so the same seed gives the same weights on
 * every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../contract/spec';
import { initSeed } from '../seeding';
import { MAX_LEARNED_POSITIONS } from './positional';

export type Init = 'xavier' | 'zeros' | 'ones' | 'embedding';

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
}

/** Names of the weights of one attention sub-layer (prefix e.g. "encoder/0/self_attn"). */
export interface AttentionNames {
  readonly wq: string;
  /** Same name as wq under share_qk (one projection for queries and keys). */
  readonly wk: string;
  readonly wv: string;
  readonly wo: string;
}

export function attentionNames(prefix: string, shareQk: boolean): AttentionNames {
  return { wq: `${prefix}/wq`, wk: shareQk ? `${prefix}/wq` : `${prefix}/wk`, wv: `${prefix}/wv`, wo: `${prefix}/wo` };
}

/** Embedding table names: one shared table (tied with the pre-softmax projection) or three weights. */
export function embeddingNames(config: ModelConfig): { src: string; tgt: string; out: string } {
  return config.share_embeddings
    ? { src: 'embedding/shared', tgt: 'embedding/shared', out: 'embedding/shared' }
    : { src: 'encoder/embedding', tgt: 'decoder/embedding', out: 'decoder/output_projection' };
}

/** Every weight of the model, in the stable order of Seq2SeqModel.variables. */
export function parameterSpecs(config: ModelConfig, srcVocab: number, tgtVocab: number): ParamSpec[] {
  const { d_model: d, d_ff: dff, heads: h, d_k: dk, d_v: dv, layers } = config;
  if (config.share_embeddings && srcVocab !== tgtVocab) {
    throw new Error(`share_embeddings needs one vocabulary: source has ${srcVocab} ids, target ${tgtVocab}`);
  }
  const specs: ParamSpec[] = [];
  const add = (name: string, shape: number[], init: Init) => specs.push({ name, shape, init });
  const attention = (prefix: string) => {
    add(`${prefix}/wq`, [d, h * dk], 'xavier');
    if (!config.share_qk) add(`${prefix}/wk`, [d, h * dk], 'xavier');
    add(`${prefix}/wv`, [d, h * dv], 'xavier');
    add(`${prefix}/wo`, [h * dv, d], 'xavier');
  };
  const norm = (prefix: string) => {
    add(`${prefix}/gamma`, [d], 'ones');
    add(`${prefix}/beta`, [d], 'zeros');
  };
  const ffn = (prefix: string) => {
    add(`${prefix}/w1`, [d, dff], 'xavier');
    add(`${prefix}/b1`, [dff], 'zeros');
    add(`${prefix}/w2`, [dff, d], 'xavier');
    add(`${prefix}/b2`, [d], 'zeros');
  };
  const emb = embeddingNames(config);
  if (config.share_embeddings) add(emb.src, [srcVocab, d], 'embedding');
  else {
    add(emb.src, [srcVocab, d], 'embedding');
    add(emb.tgt, [tgtVocab, d], 'embedding');
    add(emb.out, [d, tgtVocab], 'xavier');
  }
  if (config.positional === 'learned') {
    add('encoder/positions', [MAX_LEARNED_POSITIONS, d], 'embedding');
    add('decoder/positions', [MAX_LEARNED_POSITIONS, d], 'embedding');
  }
  for (let l = 0; l < layers; l++) {
    attention(`encoder/${l}/self_attn`);
    norm(`encoder/${l}/self_attn_norm`);
    ffn(`encoder/${l}/ffn`);
    norm(`encoder/${l}/ffn_norm`);
  }
  for (let l = 0; l < layers; l++) {
    attention(`decoder/${l}/self_attn`);
    norm(`decoder/${l}/self_attn_norm`);
    attention(`decoder/${l}/cross_attn`);
    norm(`decoder/${l}/cross_attn_norm`);
    ffn(`decoder/${l}/ffn`);
    norm(`decoder/${l}/ffn_norm`);
  }
  if (config.norm === 'pre') {
    norm('encoder/final_norm');
    norm('decoder/final_norm');
  }
  return specs;
}

/** Trainable scalars of a config (tied embeddings counted once), without building the model. */
export function countParameters(config: ModelConfig, srcVocab: number, tgtVocab: number): number {
  return parameterSpecs(config, srcVocab, tgtVocab).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}

/** Initial value of one weight. */
export function initialValue(spec: ParamSpec, dModel: number, seed: number): tf.Tensor {
  const shape = [...spec.shape];
  const s = initSeed(seed, spec.name);
  switch (spec.init) {
    case 'zeros':
      return tf.zeros(shape);
    case 'ones':
      return tf.ones(shape);
    case 'embedding':
      return tf.randomNormal(shape, 0, Math.pow(dModel, -0.5), 'float32', s);
    case 'xavier': {
      // Glorot & Bengio (2010): U(-a, a), a = sqrt(6 / (fan_in + fan_out)); weights are [fan_in, fan_out].
      const limit = Math.sqrt(6 / (shape[0] + shape[1]));
      return tf.randomUniform(shape, -limit, limit, 'float32', s);
    }
  }
}
