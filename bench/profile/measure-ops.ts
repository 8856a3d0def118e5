/**
 * Measures what the custom gradients of ops.ts buy (not a test; run with
 * `npx tsx bench/profile/measure-ops.ts`): forward+backward time of the projection
 * matMul and the embedding lookup with our ops versus tfjs's stock ops, and one training step of
 * the benchmark configs A and B (forward + backward of the loss) with our model.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createModel } from '../../experiments/model/transformer';
import { embeddingLookup, matMul } from '../../experiments/model/ops';
import { labelSmoothedCrossEntropy } from '../../experiments/train/loss';
import { tinyConfig } from '../../test/support/model';

function time(label: string, reps: number, f: () => void): number {
  f(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  const ms = (performance.now() - t0) / reps;
  console.log(`${label}: ${ms.toFixed(1)} ms`);
  return ms;
}

function gradStep(f: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor, x: tf.Tensor, w: tf.Tensor): () => void {
  return () => tf.tidy(() => { tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(f(a, b)))([x, w]).forEach((g) => g.dataSync()); });
}

async function main() {
  for (const backend of ['wasm', 'cpu']) {
    await tf.setBackend(backend);
    console.log(`--- ${backend}`);
    // Config B's FFN projection: [32·32, 256] · [256, 1024].
    const x = tf.randomNormal([1024, 256]);
    const w = tf.randomNormal([256, 1024]);
    const reps = backend === 'cpu' ? 2 : 5;
    const ours = time('matMul fwd+bwd [1024,256]·[256,1024], ours', reps, gradStep((a, b) => matMul(a, b), x, w));
    const stock = time('matMul fwd+bwd [1024,256]·[256,1024], stock tf.matMul', reps, gradStep((a, b) => tf.matMul(a, b), x, w));
    console.log(`  speed-up ×${(stock / ours).toFixed(2)}`);
    const table = tf.randomNormal([8000, 256]);
    const ids = tf.randomUniform([32, 32], 0, 8000, 'int32');
    const embGrad = (lookup: (t: tf.Tensor) => tf.Tensor) => () => tf.tidy(() => { tf.grad((t: tf.Tensor) => tf.sum(lookup(t)))(table).dataSync(); });
    time('embedding fwd+bwd [8000,256] at 32×32 ids, ours (ScatterNd)', reps, embGrad((t) => embeddingLookup(t as tf.Tensor2D, ids)));
    if (backend === 'cpu') {
      // The stock gradient loops over every vocabulary row (minutes at 8000×256): compare at 1000×64.
      const small = tf.randomNormal([1000, 64]);
      const smallIds = tf.randomUniform([32, 32], 0, 1000, 'int32');
      const smallGrad = (lookup: (t: tf.Tensor) => tf.Tensor) => () => tf.tidy(() => { tf.grad((t: tf.Tensor) => tf.sum(lookup(t)))(small).dataSync(); });
      const s1 = time('embedding fwd+bwd [1000,64], ours (ScatterNd)', 1, smallGrad((t) => embeddingLookup(t as tf.Tensor2D, smallIds)));
      const s2 = time('embedding fwd+bwd [1000,64], stock tf.gather (UnsortedSegmentSum)', 1, smallGrad((t) => tf.gather(t, smallIds)));
      console.log(`  speed-up ×${(s2 / s1).toFixed(1)}`);
      tf.dispose([small, smallIds]);
    }
    tf.dispose([x, w, table, ids]);
    for (const [name, cfg, vocab, len] of [
      ['A', tinyConfig({ d_model: 64, heads: 4, d_k: 16, d_v: 16, d_ff: 256, layers: 2 }), 1000, 20],
      ['B', tinyConfig({ d_model: 256, heads: 8, d_k: 32, d_v: 32, d_ff: 1024, layers: 3 }), 8000, 32],
    ] as const) {
      if (backend === 'cpu' && name === 'B') continue; // minutes on pure JS
      const model = createModel({ ...cfg, dropout: 0.1 }, vocab, vocab, 1);
      const src = tf.randomUniform([32, len], 4, vocab, 'int32');
      const tgtIn = tf.randomUniform([32, len], 4, vocab, 'int32');
      const tgtOut = tf.randomUniform([32, len], 4, vocab, 'int32');
      time(`config ${name} fwd+bwd step (${model.paramCount} params, batch 32×${len})`, name === 'A' ? 5 : 2, () => tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => labelSmoothedCrossEntropy(model.forward(src as tf.Tensor2D, tgtIn as tf.Tensor2D, true), tgtOut, { labelSmoothing: 0.1 }));
        value.dataSync();
        tf.dispose(Object.values(grads));
      }));
      tf.dispose([src, tgtIn, tgtOut]);
      model.dispose();
    }
  }
}
void main();
