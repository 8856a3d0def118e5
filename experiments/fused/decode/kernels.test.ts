/**
 * The decode kernels in both shapes (runtime/gpu.ts KernelShape) against float64 references of their
 * definitions: single-query attention (softmax(q·Kᵀ/√d_k)·V over the cache or over the source with
 * PAD keys masked), log-softmax with PAD/BOS/UNK cut and forced-EOS rows (tf.logSoftmax) and its
 * first-maximum argmax (tf.argMax), the beam's top 2K by value then flat index (tf.topk's order), and
 * the cache reorder (rows gathered by parent). Each test asserts which kernel ran: the `cpu` shape
 * needs d_k, d_v, V, the cache width in multiples of 4 and falls back to `gpu` otherwise.
 */
import { describe, expect, it } from 'vitest';
import { BOS_ID, EOS_ID, PAD_ID, UNK_ID } from '../../data/types';
import { expectClose, randn } from '../../../test/support/fused';
import { acquireGpu, type Dispatch, type Gpu, type KernelShape } from '../runtime/gpu';
import { beamTopK, logSoftmax, queryAttention, reorderCache } from './kernels';

const kernelOf = (d: Dispatch) => d.pipeline.label.split('|')[0];
const ids = { pad: PAD_ID, bos: BOS_ID, unk: UNK_ID, eos: EOS_ID };
// gpu: widths that are not whole vec4s (and V > one 64-thread workgroup); cpu: whole vec4s.
const DIMS: Record<KernelShape, { dk: number; dv: number; V: number }> = { gpu: { dk: 6, dv: 10, V: 70 }, cpu: { dk: 8, dv: 12, V: 72 } };

/** softmax(scores)·V in float64 for one query; masked keys excluded (exp(−1e9) is 0 in f32). */
function attend(q: ArrayLike<number>, keys: number[][], values: number[][], scale: number, masked: boolean[]) {
  const s = keys.map((k, j) => (masked[j] ? -Infinity : k.reduce((a, x, c) => a + x * q[c], 0) * scale));
  const m = Math.max(...s);
  const e = s.map((x) => Math.exp(x - m));
  const l = e.reduce((a, b) => a + b, 0);
  const p = e.map((x) => x / l);
  return { p, o: values[0].map((_, c) => values.reduce((a, v, j) => a + p[j] * v[c], 0)) };
}

async function readInts(gpu: Gpu, buf: GPUBuffer, n: number): Promise<Int32Array> {
  return new Int32Array((await gpu.read(buf, 0, n * 4)).buffer);
}

describe.each(['gpu', 'cpu'] as const)('decode kernels (%s shape)', (shape) => {
  const { dk, dv, V } = DIMS[shape];
  const attentionKernel = shape === 'cpu' ? 'decode_query_attention_rows' : 'decode_query_attention';

  it(`self-attention over the cache: positions 0..t, probabilities in row t of the map (d_k ${dk}, d_v ${dv})`, async () => {
    const gpu = await acquireGpu();
    const [R, h, maxT, t] = [3, 2, 5, 3];
    const kvw = h * (dk + dv);
    const q = randn(R * h * dk, 1);
    const cache = randn(R * maxT * kvw, 2);
    const out = gpu.createBuffer('out', R * h * dv * 4);
    const probs = gpu.upload('probs', new Float32Array(R * h * maxT * maxT));
    const d = queryAttention(gpu, 'self', { R, heads: h, dk, dv, scale: true, self: true, stride: maxT, S: 0, copies: 1, probs: { ld: maxT, rows: maxT, offset: 0 }, shape }, {
      state: gpu.upload('state', Uint32Array.of(t, 0, 0, 0)), q: gpu.upload('q', q), kv: gpu.upload('cache', cache), out, probs,
    });
    expect(kernelOf(d)).toBe(attentionKernel);
    await gpu.run([d]);
    const [gotO, gotP] = [await gpu.read(out), await gpu.read(probs)];
    for (let r = 0; r < R; r++) {
      for (let hh = 0; hh < h; hh++) {
        const row = (j: number) => Array.from(cache.subarray((r * maxT + j) * kvw, (r * maxT + j + 1) * kvw));
        const keys = Array.from({ length: t + 1 }, (_, j) => row(j).slice(hh * dk, (hh + 1) * dk));
        const values = Array.from({ length: t + 1 }, (_, j) => row(j).slice(h * dk + hh * dv, h * dk + (hh + 1) * dv));
        const want = attend(q.subarray((r * h + hh) * dk, (r * h + hh + 1) * dk), keys, values, 1 / Math.sqrt(dk), keys.map(() => false));
        expectClose(gotO.subarray((r * h + hh) * dv, (r * h + hh + 1) * dv), want.o, 1e-5, 1e-4, `o[${r},${hh}]`);
        expectClose(gotP.subarray(((r * h + hh) * maxT + t) * maxT, ((r * h + hh) * maxT + t) * maxT + t + 1), want.p, 1e-6, 1e-4, `p[${r},${hh}]`);
      }
    }
  });

  it('cross-attention: row r reads sentence r / copies, PAD source keys get no weight', async () => {
    const gpu = await acquireGpu();
    const [B, copies, h, S] = [2, 2, 2, 4];
    const R = B * copies;
    const kvw = h * (dk + dv);
    const q = randn(R * h * dk, 3);
    const memory = randn(B * S * kvw, 4);
    const keyIds = Int32Array.of(5, 6, 7, PAD_ID, 8, PAD_ID, PAD_ID, PAD_ID);
    const out = gpu.createBuffer('out', R * h * dv * 4);
    const probs = gpu.upload('probs', new Float32Array(R * h * S));
    const d = queryAttention(gpu, 'cross', { R, heads: h, dk, dv, scale: false, self: false, stride: 0, S, copies, probs: { ld: S, rows: 1, offset: 0 }, shape }, {
      state: gpu.upload('state', Uint32Array.of(2, 0, 0, 0)), q: gpu.upload('q', q), kv: gpu.upload('memory', memory), keyIds: gpu.upload('ids', keyIds), out, probs,
    });
    expect(kernelOf(d)).toBe(attentionKernel);
    await gpu.run([d]);
    const [gotO, gotP] = [await gpu.read(out), await gpu.read(probs)];
    for (let r = 0; r < R; r++) {
      const b = Math.floor(r / copies);
      for (let hh = 0; hh < h; hh++) {
        const row = (j: number) => Array.from(memory.subarray((b * S + j) * kvw, (b * S + j + 1) * kvw));
        const keys = Array.from({ length: S }, (_, j) => row(j).slice(hh * dk, (hh + 1) * dk));
        const values = Array.from({ length: S }, (_, j) => row(j).slice(h * dk + hh * dv, h * dk + (hh + 1) * dv));
        const want = attend(q.subarray((r * h + hh) * dk, (r * h + hh + 1) * dk), keys, values, 1, keys.map((_, j) => keyIds[b * S + j] === PAD_ID));
        expectClose(gotO.subarray((r * h + hh) * dv, (r * h + hh + 1) * dv), want.o, 1e-5, 1e-4, `o[${r},${hh}]`);
        expectClose(gotP.subarray((r * h + hh) * S, (r * h + hh + 1) * S), want.p, 1e-6, 1e-4, `p[${r},${hh}]`);
      }
    }
  });

  it(`cpu shape needs whole vec4s: d_k 6 falls back to the gpu kernel`, async () => {
    const gpu = await acquireGpu();
    const d = queryAttention(gpu, 'odd', { R: 1, heads: 1, dk: 6, dv: 8, scale: true, self: true, stride: 2, S: 0, copies: 1, shape }, {
      state: gpu.dummy, q: gpu.dummy, kv: gpu.dummy, out: gpu.dummyOut,
    });
    expect(kernelOf(d)).toBe('decode_query_attention');
  });

  // Row 0 plain, row 1 forced to EOS, row 2 with its maximum twice (the first one wins) and a larger logit at UNK (cut).
  const R = 3;
  const logits = randn(R * V, 5, 3);
  logits[2 * V + 10] = 20;
  logits[2 * V + 40] = 20;
  logits[2 * V + UNK_ID] = 25;
  const force = Uint32Array.of(0, 1, 0);
  const wantLogp = Array.from({ length: R }, (_, r) => {
    const x = Array.from(logits.subarray(r * V, (r + 1) * V));
    const m = Math.max(...x);
    const lse = Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0));
    return x.map((v, i) => ([PAD_ID, BOS_ID, UNK_ID].includes(i) || (force[r] && i !== EOS_ID) ? -Infinity : v - m - lse));
  });
  const softmaxKernel = shape === 'cpu' ? 'decode_log_softmax_rows' : 'decode_log_softmax';

  it(`log-softmax over V = ${V}: −∞ at PAD/BOS/UNK and, in forced rows, everywhere but EOS`, async () => {
    const gpu = await acquireGpu();
    const logp = gpu.createBuffer('logp', R * V * 4);
    const d = logSoftmax(gpu, 'ls', { R, V, greedy: false, maxT: 4, ids, shape }, {
      state: gpu.upload('state', new Uint32Array(4)), logits: gpu.upload('logits', logits), force: gpu.upload('force', force), logp,
      tokens: gpu.createBuffer('tokens', R * 4), hist: gpu.createBuffer('hist', R * 4 * 4),
    });
    expect(kernelOf(d)).toBe(softmaxKernel);
    await gpu.run([d]);
    const got = await gpu.read(logp);
    for (let r = 0; r < R; r++) {
      const want = wantLogp[r];
      const gotRow = Array.from(got.subarray(r * V, (r + 1) * V));
      expect(gotRow.map((v) => v === -Infinity), `row ${r}: where −∞`).toEqual(want.map((v) => v === -Infinity));
      expectClose(gotRow.map((v) => (v === -Infinity ? 0 : v)), want.map((v) => (v === -Infinity ? 0 : v)), 1e-5, 1e-5, `logp[${r}]`);
    }
  });

  it('greedy: the first maximum becomes the next input and enters the history at t', async () => {
    const gpu = await acquireGpu();
    const [maxT, t] = [4, 2];
    const tokens = gpu.upload('tokens', new Int32Array(R));
    const hist = gpu.upload('hist', new Int32Array(R * maxT).fill(-7));
    const d = logSoftmax(gpu, 'ls', { R, V, greedy: true, maxT, ids, shape }, {
      state: gpu.upload('state', Uint32Array.of(t, 0, 0, 0)), logits: gpu.upload('logits', logits), force: gpu.upload('force', force), tokens, hist,
    });
    expect(kernelOf(d)).toBe(softmaxKernel);
    await gpu.run([d]);
    const want = wantLogp.map((row) => row.indexOf(Math.max(...row)));
    expect(want[1]).toBe(EOS_ID);
    expect(want[2]).toBe(10);
    expect(Array.from(await readInts(gpu, tokens, R))).toEqual(want);
    const h = await readInts(gpu, hist, R * maxT);
    expect([0, 1, 2].map((r) => h[r * maxT + t])).toEqual(want);
    expect([0, 1, 2].map((r) => h[r * maxT + t - 1])).toEqual([-7, -7, -7]);
  });

  it('beam top-k: the best 2K of alive + log p per sentence, by value then flat index', async () => {
    const gpu = await acquireGpu();
    const [B, K, Vb] = [2, 3, 9];
    const take = 2 * K;
    const alive = Float32Array.of(-0.5, -1.25, -Infinity, 0, -2, -2);
    const logp = randn(B * K * Vb, 6).map((v) => -Math.abs(v));
    logp[3 * Vb + 4] = -0.1; // sentence 1: equal scores at rows 4 and 5 (the smaller flat index first)
    logp[4 * Vb + 1] = -0.1 + 2;
    logp[5 * Vb + 1] = -0.1 + 2;
    logp[2] = -Infinity;
    const out = gpu.createBuffer('topk', B * take * 8);
    const d = beamTopK(gpu, 'topk', { B, K, V: Vb, take, shape }, { alive: gpu.upload('alive', alive), logp: gpu.upload('logp', logp), out });
    expect(kernelOf(d)).toBe(shape === 'cpu' ? 'decode_beam_topk_rows' : 'decode_beam_topk');
    await gpu.run([d]);
    const raw = await gpu.read(out);
    const words = new Uint32Array(raw.buffer);
    for (let b = 0; b < B; b++) {
      const cands = Array.from({ length: K * Vb }, (_, f) => ({ v: Math.fround(alive[b * K + Math.floor(f / Vb)] + logp[(b * K) * Vb + f]), f }));
      cands.sort((x, y) => (y.v - x.v) || (x.f - y.f) || 0);
      const want = cands.filter((c) => c.v !== -Infinity).concat(cands.filter((c) => c.v === -Infinity)).slice(0, take);
      const got = Array.from({ length: take }, (_, j) => ({ v: raw[(b * take + j) * 2], f: words[(b * take + j) * 2 + 1] }));
      expect(got, `sentence ${b}`).toEqual(want);
    }
  });

  it('cache reorder: positions < t of each row come from its parent, later ones stay', async () => {
    const gpu = await acquireGpu();
    const [R2, maxT, t] = [3, 4, 3];
    const width = shape === 'cpu' ? 8 : 6;
    const cache = randn(R2 * maxT * width, 7);
    const parents = Int32Array.of(2, 0, 0);
    const cacheB = gpu.upload('cache', cache);
    const ds = reorderCache(gpu, 'reorder', { R: R2, width, maxT, shape }, {
      state: gpu.upload('state', Uint32Array.of(t, 0, 0, 0)), parents: gpu.upload('parents', parents), cache: cacheB, scratch: gpu.createBuffer('scratch', cache.byteLength),
    });
    expect(ds.map(kernelOf)).toEqual(shape === 'cpu' ? ['decode_reorder_vec4', 'decode_reorder_vec4'] : ['decode_reorder', 'decode_reorder']);
    await gpu.run(ds.map((d) => ({ ...d, groups: [d.groups[0], t, 1] as const })));
    const got = await gpu.read(cacheB);
    const want = new Float32Array(cache);
    for (let r = 0; r < R2; r++) for (let j = 0; j < t; j++) want.set(cache.subarray((parents[r] * maxT + j) * width, (parents[r] * maxT + j + 1) * width), (r * maxT + j) * width);
    expect(Array.from(got)).toEqual(Array.from(want));
  });
});
