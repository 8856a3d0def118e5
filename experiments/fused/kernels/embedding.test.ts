import { describe, expect, it } from 'vitest';
import { acquireGpu } from '../runtime/gpu';
import { dropoutScale, StepParams } from './common';
import { embeddingBackward, embeddingForward, positionsBackward, tokenIndex } from './embedding';
import { sinusoidalTable } from '../../model/positional';
import { dot, expectClose, finiteDiff, randn } from '../../../test/support/fused';

const SEED = 99;
const STEP = 3;
const SITE = 5;

function cpuEmbed(ids: readonly number[], table: ArrayLike<number>, pos: ArrayLike<number> | null, B: number, len: number, d: number, p: number): Float64Array {
  const out = new Float64Array(B * len * d);
  for (let r = 0; r < B * len; r++) {
    for (let c = 0; c < d; c++) {
      const i = r * d + c;
      const x = table[ids[r] * d + c] * Math.sqrt(d) + (pos ? pos[(r % len) * d + c] : 0);
      out[i] = x * dropoutScale(SEED, STEP, SITE, i, p);
    }
  }
  return out;
}

describe('embedding kernels', () => {
  it('tokenIndex is a stable counting sort by id', () => {
    const { offsets, order } = tokenIndex([3, 1, 3, 0, 1, 3], 5);
    expect(Array.from(offsets)).toEqual([0, 1, 3, 3, 6, 6]);
    expect(Array.from(order)).toEqual([3, 1, 4, 0, 2, 5]);
    expect(() => tokenIndex([5], 5)).toThrow(RangeError);
  });

  for (const [kind, p] of [['sinusoidal', 0], ['learned', 0.2], ['none', 0.2]] as const) {
    it(`${kind} positions, dropout ${p}: forward vs float64 reference, table/position gradients vs finite differences`, async () => {
      const gpu = await acquireGpu();
      const [B, len, d, V] = [2, 5, 6, 7];
      const ids = [1, 4, 4, 6, 0, 1, 2, 4, 0, 0]; // repeated ids, PAD, an id (3, 5) never used
      const table = randn(V * d, 1);
      const pos = kind === 'sinusoidal' ? sinusoidalTable(len + 2, d) : kind === 'learned' ? randn((len + 2) * d, 2) : null;
      const r = randn(B * len * d, 3);
      const stepParams = new StepParams(gpu);
      stepParams.set({ step: STEP, seed: SEED, stepSize: 0, invBias2: 0, tokenScale: 0 });
      const out = gpu.createBuffer('out', B * len * d * 4);
      const dTable0 = randn(V * d, 4); // accumulate onto an existing gradient (tied embeddings)
      const dTable = gpu.upload('dtable', dTable0);
      const dPos = gpu.upload('dpos', new Float32Array((len + 2) * d).fill(7)); // stale values: rows ≥ len must be zeroed
      const { offsets, order } = tokenIndex(ids, V);
      const o = { B, len, d, vocab: V, p, site: SITE };
      await gpu.run([
        embeddingForward(gpu, 'emb', o, stepParams.buffer, { ids: gpu.upload('ids', Int32Array.from(ids)), table: gpu.upload('table', table), pos: pos ? gpu.upload('pos', pos) : undefined, out }),
        embeddingBackward(gpu, 'emb/bwd', { ...o, accumulate: true }, stepParams.buffer, { dOut: gpu.upload('dout', r), offsets: gpu.upload('off', offsets), order: gpu.upload('ord', order), dTable }),
        ...(kind === 'learned' ? [positionsBackward(gpu, 'pos/bwd', { ...o, tableRows: len + 2 }, stepParams.buffer, { dOut: gpu.upload('dout2', r), dPos })] : []),
      ]);
      expectClose(await gpu.read(out), cpuEmbed(ids, table, pos, B, len, d, p), 1e-5, 1e-6, 'out');
      const fdTable = finiteDiff((t) => dot(r, cpuEmbed(ids, t, pos, B, len, d, p)), table);
      expectClose(await gpu.read(dTable), fdTable.map((g, i) => g + dTable0[i]), 1e-4, 1e-4, 'dtable');
      if (pos && kind === 'learned') {
        const fdPos = finiteDiff((t) => dot(r, cpuEmbed(ids, table, t, B, len, d, p)), pos);
        expectClose(await gpu.read(dPos), fdPos, 1e-4, 1e-4, 'dpos'); // rows ≥ len: finite differences give 0
      }
    });
  }
});
