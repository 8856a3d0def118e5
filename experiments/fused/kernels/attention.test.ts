import { describe, expect, it } from 'vitest';
import { acquireGpu, type Dispatch, type KernelShape } from '../runtime/gpu';
import { attentionBackward, attentionForward, type AttentionShapeOptions } from './attention';
import { dot, expectClose, finiteDiff, randn } from '../../../test/support/fused';

/**
 * Float64 reference with the tfjs model's masking (layers.ts): logits·scale + (−1e9 at PAD keys) +
 * (−1e9 above the diagonal when causal), softmax, times V. q [B·t, h·dk], k [B·S, h·dk], v [B·S, h·dv]
 * dense; returns o [B·t, h·dv].
 */
function cpuAttention(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, keyIds: readonly number[], o: AttentionShapeOptions): Float64Array {
  const { B, t, S, heads: h, dk, dv } = o;
  const scale = o.scale ? 1 / Math.sqrt(dk) : 1;
  const out = new Float64Array(B * t * h * dv);
  for (let b = 0; b < B; b++) {
    for (let hh = 0; hh < h; hh++) {
      for (let i = 0; i < t; i++) {
        const sc = new Float64Array(S);
        for (let j = 0; j < S; j++) {
          let s = 0;
          for (let c = 0; c < dk; c++) s += q[(b * t + i) * h * dk + hh * dk + c] * k[(b * S + j) * h * dk + hh * dk + c];
          sc[j] = s * scale + (keyIds[b * S + j] === 0 ? -1e9 : 0) + (o.causal && j > i ? -1e9 : 0);
        }
        const m = Math.max(...sc);
        const e = sc.map((x) => Math.exp(x - m));
        const l = e.reduce((a, x) => a + x, 0);
        for (let c = 0; c < dv; c++) {
          let acc = 0;
          for (let j = 0; j < S; j++) acc += (e[j] / l) * v[(b * S + j) * h * dv + hh * dv + c];
          out[(b * t + i) * h * dv + hh * dv + c] = acc;
        }
      }
    }
  }
  return out;
}

type Case = { name: string; o: AttentionShapeOptions; keyIds: number[] };
// \`gpu\` shape: odd head sizes (3, 5, 2) that the \`cpu\` shape cannot take; \`cpu\` shape: head sizes in
// whole vec4s (it falls back to the gpu kernels otherwise, checked by the kernel names).
const CASES: Record<KernelShape | 'subgroup', Case[]> = {
  gpu: [
    { name: 'cross-attention, padded keys, h·d_k ≠ d_v·h, scaled', o: { B: 2, t: 4, S: 6, heads: 2, dk: 3, dv: 5, scale: true, causal: false }, keyIds: [5, 6, 7, 8, 9, 0, 4, 4, 5, 0, 0, 0] },
    { name: 'causal self-attention with padding, unscaled', o: { B: 2, t: 5, S: 5, heads: 3, dk: 4, dv: 2, scale: false, causal: true }, keyIds: [1, 6, 7, 8, 9, 1, 4, 5, 0, 0] },
    { name: 'keys longer than a workgroup (S = 70)', o: { B: 1, t: 3, S: 70, heads: 1, dk: 2, dv: 3, scale: true, causal: false }, keyIds: Array.from({ length: 70 }, (_, j) => (j < 66 ? 4 : 0)) },
  ],
  cpu: [
    { name: 'cross-attention, padded keys, h·d_k ≠ d_v·h, scaled', o: { B: 2, t: 4, S: 6, heads: 2, dk: 4, dv: 8, scale: true, causal: false }, keyIds: [5, 6, 7, 8, 9, 0, 4, 4, 5, 0, 0, 0] },
    { name: 'causal self-attention with padding, unscaled', o: { B: 2, t: 5, S: 5, heads: 3, dk: 8, dv: 4, scale: false, causal: true }, keyIds: [1, 6, 7, 8, 9, 1, 4, 5, 0, 0] },
    { name: 'keys longer than a workgroup (S = 70)', o: { B: 1, t: 3, S: 70, heads: 1, dk: 4, dv: 4, scale: true, causal: false }, keyIds: Array.from({ length: 70 }, (_, j) => (j < 66 ? 4 : 0)) },
  ],
  subgroup: [],
};
// The subgroup kernels (cpu shape, adapters with subgroups of ≥ 8 lanes: lavapipe) on the cpu cases
// plus head sizes that take several fetch rounds per row (d_k 36: 9 vec4s; d_v 64: 16) and query /
// key counts that leave the last workgroup of 8 rows ragged (t 13, S 11).
CASES.subgroup.push(...CASES.cpu,
  { name: 'several fetch rounds per row (d_k 36, d_v 64), ragged blocks, causal', o: { B: 1, t: 11, S: 11, heads: 2, dk: 36, dv: 64, scale: true, causal: true }, keyIds: [...Array(9).fill(3), 0, 0] },
  { name: 'one vec4 per head (d_k 4, d_v 4): 8 rows a fetch, 13 queries over 11 keys', o: { B: 1, t: 13, S: 11, heads: 3, dk: 4, dv: 4, scale: false, causal: false }, keyIds: [...Array(10).fill(5), 0] },
);
type Variant = 'gpu' | 'cpu' | 'subgroup';
const KERNELS: Record<Variant, RegExp[]> = {
  gpu: [/^attention_fwd$/, /^attention_bwd_q$/, /^attention_bwd_kv$/],
  cpu: [/^attention_fwd_rows$/, /^attention_bwd_q_rows$/, /^attention_bwd_kv_rows$/],
  subgroup: [/^attention_fwd_sg_\d+_\d+$/, /^attention_bwd_q_sg_\d+_\d+$/, /^attention_bwd_kv_sg_\d+_\d+$/],
};
const OPTIONS: Record<Variant, Pick<AttentionShapeOptions, 'shape' | 'subgroups'>> = {
  gpu: { shape: 'gpu' },
  cpu: { shape: 'cpu', subgroups: false },
  subgroup: { shape: 'cpu', subgroups: true },
};
const kernelOf = (d: Dispatch) => d.pipeline.label.split('|')[0];

describe.each(['gpu', 'cpu', 'subgroup'] as const)('fused multi-head attention (%s kernels)', (variant) => {
  const shape = OPTIONS[variant].shape;
  for (const { name, o: shapeless, keyIds } of CASES[variant]) {
    it(`${name}: forward vs float64 reference, backward vs finite differences`, async () => {
      const gpu = await acquireGpu();
      const o = { ...shapeless, ...OPTIONS[variant] };
      const { B, t, S, heads: h, dk, dv } = o;
      const q = randn(B * t * h * dk, 1);
      const k = randn(B * S * h * dk, 2);
      const v = randn(B * S * h * dv, 3);
      const r = randn(B * t * h * dv, 4); // loss = Σ r ⊙ o
      const B_ = (name: string, n: number) => gpu.createBuffer(name, n * 4);
      const [qB, kB, vB] = [gpu.upload('q', q), gpu.upload('k', k), gpu.upload('v', v)];
      const ids = gpu.upload('ids', Int32Array.from(keyIds));
      const out = B_('o', B * t * h * dv);
      const lse = B_('lse', B * h * t);
      const [dq, dk_, dv_] = [B_('dq', q.length), B_('dk', k.length), B_('dv', v.length)];
      const dispatches = [
        attentionForward(gpu, 'att', o, { q: qB, k: kB, v: vB, keyIds: ids, out, lse }),
        ...attentionBackward(gpu, 'att/bwd', o, { q: qB, k: kB, v: vB, keyIds: ids, out, lse, dOut: gpu.upload('do', r), D: B_('D', B * h * t), dq, dk: dk_, dv: dv_ }),
      ];
      dispatches.forEach((d, n) => expect(kernelOf(d)).toMatch(KERNELS[variant][n]));
      await gpu.run(dispatches);
      // fp32 dot products of ≤ 70 terms: ~1e-6 relative.
      expectClose(await gpu.read(out), cpuAttention(q, k, v, keyIds, o), 1e-5, 1e-5, 'o');
      const loss = (qv: ArrayLike<number>, kv: ArrayLike<number>, vv: ArrayLike<number>) => dot(r, cpuAttention(qv, kv, vv, keyIds, o));
      // float64 central differences (h = 1e-5, error ~1e-10) vs fp32 gradients: 1e-4 abs + 1e-4 rel.
      expectClose(await gpu.read(dq), finiteDiff((x) => loss(x, k, v), q), 1e-4, 1e-4, 'dQ');
      expectClose(await gpu.read(dk_), finiteDiff((x) => loss(q, x, v), k), 1e-4, 1e-4, 'dK');
      expectClose(await gpu.read(dv_), finiteDiff((x) => loss(q, k, x), v), 1e-4, 1e-4, 'dV');
    });
  }

  it('reads Q, K, V as column blocks of one fused projection and writes into a column block of a wider output', async () => {
    const gpu = await acquireGpu();
    // Head sizes and offsets in whole vec4s for the \`cpu\` shape.
    const o0: AttentionShapeOptions = shape === 'cpu' ? { B: 2, t: 3, S: 3, heads: 2, dk: 4, dv: 8, scale: true, causal: true, ...OPTIONS[variant] } : { B: 2, t: 3, S: 3, heads: 2, dk: 2, dv: 3, scale: true, causal: true, shape };
    const pad = shape === 'cpu' ? 4 : 1;
    const { B, t, heads: h, dk, dv } = o0;
    const rows = B * t;
    const width = 2 * h * dk + h * dv; // [Q | K | V]
    const qkv = randn(rows * width, 5);
    const cols = (off: number, w: number) => {
      const out = new Float64Array(rows * w);
      for (let r = 0; r < rows; r++) for (let c = 0; c < w; c++) out[r * w + c] = qkv[r * width + off + c];
      return out;
    };
    const keyIds = [1, 5, 6, 1, 7, 0];
    const want = cpuAttention(cols(0, h * dk), cols(h * dk, h * dk), cols(2 * h * dk, h * dv), keyIds, o0);
    const o: AttentionShapeOptions = { ...o0, ldq: width, ldk: width, ldv: width, kOffset: h * dk, vOffset: 2 * h * dk, ldo: h * dv + 2 * pad, oOffset: pad };
    const qkvB = gpu.upload('qkv', qkv);
    const out = gpu.createBuffer('o', rows * (h * dv + 2 * pad) * 4);
    const d = attentionForward(gpu, 'att', o, { q: qkvB, k: qkvB, v: qkvB, keyIds: gpu.upload('ids', Int32Array.from(keyIds)), out, lse: gpu.createBuffer('lse', B * h * t * 4) });
    expect(kernelOf(d)).toMatch(KERNELS[variant][0]);
    await gpu.run([d]);
    const got = await gpu.read(out);
    const gotDense = new Float64Array(rows * h * dv);
    for (let r = 0; r < rows; r++) for (let c = 0; c < h * dv; c++) gotDense[r * h * dv + c] = got[r * (h * dv + 2 * pad) + pad + c];
    expectClose(gotDense, want, 1e-5, 1e-5, 'o');
  });
});
