import { describe, expect, it } from 'vitest';
import { expandSpec, parseSpec } from './spec';
import { specWarnings } from './spec-warnings';

const spec = (base: Record<string, unknown>, variants: Record<string, unknown>[]) =>
  expandSpec(parseSpec({ name: 'w', data: { task: 'synthetic-copy' }, base, train: { seeds: [1, 2] }, variants }));

describe('spec warnings', () => {
  it('warns once per variant when changed heads inherit an explicit base d_k and d_v', () => {
    expect(specWarnings(spec({ d_model: 256, heads: 4, d_k: 64, d_v: 64 }, [{ name: 'h8', heads: 8 }]))).toEqual([
      "h8: heads 8 keeps the base d_k 64 and d_v 64, so h·d_k = 8·64 = 512, h·d_v = 8·64 = 512 ≠ d_model 256; the paper's rows (A) keep h·d_k = h·d_v = d_model: set d_k and d_v in this variant if that is what you mean",
    ]);
  });

  it('is silent when d_k and d_v follow d_model / heads, or the variant sets them', () => {
    expect(specWarnings(spec({ d_model: 256, heads: 4 }, [{ name: 'h8', heads: 8 }]))).toEqual([]);
    expect(specWarnings(spec({ d_model: 256, heads: 4, d_k: 64, d_v: 64 }, [{ name: 'h8', heads: 8, d_k: 32, d_v: 32 }]))).toEqual([]);
    // Row (B) of the paper: a d_k change alone is deliberate.
    expect(specWarnings(spec({ d_model: 256, heads: 4 }, [{ name: 'dk16', d_k: 16 }]))).toEqual([]);
  });
});
