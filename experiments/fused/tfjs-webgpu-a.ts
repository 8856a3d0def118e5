import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { selectBackend } from '../backend';
import { createModel } from '../model/transformer';
import { Trainer } from '../train/loop';
const sel = await selectBackend('webgpu');
console.log(sel.device, tf.getBackend());
const c = { vocab: 1000, d: 64, heads: 4, dff: 256, layers: 2, batch: 32, s: 20, t: 20 };
const model = createModel({ layers: 2, d_model: 64, d_ff: 256, heads: 4, d_k: 16, d_v: 16, dropout: 0.1, label_smoothing: 0.1, positional: 'sinusoidal', share_embeddings: true, norm: 'post', attention_scale: true, share_qk: false }, c.vocab, c.vocab, 1);
const trainer = new Trainer(model, { warmup: 4000, lrFactor: 1, clipNorm: 0, labelSmoothing: 0.1, seed: 1 });
const tok = (i: number) => 4 + ((i * 7919) % (c.vocab - 4));
const batch = { size: 32, srcLen: 20, tgtLen: 20, src: Int32Array.from({ length: 640 }, (_, i) => tok(i)), tgtIn: Int32Array.from({ length: 640 }, (_, i) => tok(i + 3)), tgtOut: Int32Array.from({ length: 640 }, (_, i) => tok(i + 5)), targetTokens: 640 };
for (let i = 0; i < 4; i++) { const t0 = performance.now(); const r = await trainer.trainStepAsync(batch); console.log(`tfjs-webgpu step ${i + 1}: ${(performance.now() - t0).toFixed(0)} ms, loss ${r.loss.toFixed(4)}`); }
process.exit(0);
