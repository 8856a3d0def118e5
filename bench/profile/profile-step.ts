/**
 * Per-kernel profile of one training step (forward + backward of the loss, no optimizer) of the
 * issue's benchmark config A or B on a backend; not a test. Where the time goes:
 *   npx tsx bench/profile/profile-step.ts [A|B] [wasm|cpu]
 * Kernel times nest for custom-gradient ops ("forward" rows include their inner kernels).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createModel } from '../../experiments/model/transformer';
import { labelSmoothedCrossEntropy } from '../../experiments/train/loss';
import { tinyConfig } from '../../test/support/model';

async function main() {
  const which = process.argv[2] === 'B' ? 'B' : 'A';
  await tf.setBackend(process.argv[3] ?? 'wasm');
  const [cfg, vocab, len] = which === 'B'
    ? [tinyConfig({ d_model: 256, heads: 8, d_k: 32, d_v: 32, d_ff: 1024, layers: 3 }), 8000, 32] as const
    : [tinyConfig({ d_model: 64, heads: 4, d_k: 16, d_v: 16, d_ff: 256, layers: 2 }), 1000, 20] as const;
  const model = createModel({ ...cfg, dropout: 0.1 }, vocab, vocab, 1);
  const src = tf.randomUniform([32, len], 4, vocab, 'int32') as tf.Tensor2D;
  const tgtIn = tf.randomUniform([32, len], 4, vocab, 'int32') as tf.Tensor2D;
  const tgtOut = tf.randomUniform([32, len], 4, vocab, 'int32');
  const step = () => tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => labelSmoothedCrossEntropy(model.forward(src, tgtIn, true), tgtOut, { labelSmoothing: 0.1 }));
    value.dataSync();
    tf.dispose(Object.values(grads));
  });
  step();
  const t0 = performance.now();
  step();
  console.log(`config ${which} on ${tf.getBackend()}: step ${(performance.now() - t0).toFixed(1)} ms`);
  const info = await tf.profile(step);
  const byKernel = new Map<string, number>();
  for (const k of info.kernels) {
    const ms = await (k as unknown as { kernelTimeMs: number | Promise<number> }).kernelTimeMs;
    const key = k.name === 'BatchMatMul' ? `BatchMatMul ${JSON.stringify(k.inputShapes)}` : k.name;
    byKernel.set(key, (byKernel.get(key) ?? 0) + (typeof ms === 'number' ? ms : 0));
  }
  for (const [k, v] of [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(v.toFixed(1).padStart(9), k);
  model.dispose();
}
void main();
