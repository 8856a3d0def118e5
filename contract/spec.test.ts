import { describe, expect, it } from 'vitest';
import { configField, expandSpec, parseSpec, SpecError } from './spec';

const minimal = { name: 'exp', data: { task: 'synthetic-reverse' } };

function issuesOf(raw: unknown): readonly string[] {
  try {
    parseSpec(raw);
  } catch (e) {
    if (e instanceof SpecError) return e.issues;
    throw e;
  }
  return [];
}

describe('spec validation', () => {
  it('names the variant index and field of a bad value', () => {
    const issues = issuesOf({ ...minimal, variants: [{ name: 'a', heads: 2 }, { name: 'b' }, { name: 'c', heads: -1 }] });
    expect(issues).toContain('variants[2].heads: must be a positive integer');
  });

  it('lists the allowed values of an enum field', () => {
    expect(issuesOf({ ...minimal, base: { positional: 'rotary' } })).toContain('base.positional: one of sinusoidal, learned, none');
  });

  it('rejects unknown fields instead of ignoring a typo', () => {
    expect(issuesOf({ ...minimal, base: { head: 4 } }).join()).toMatch(/base/);
  });

  it('requires exactly one of corpus or task', () => {
    expect(issuesOf({ name: 'x', data: {} }).join()).toMatch(/exactly one of corpus or task/);
  });
});

describe('spec expansion', () => {
  it('puts base first, then one run per variant and seed, with d_k defaulting to d_model/heads', () => {
    const spec = parseSpec({ ...minimal, base: { d_model: 64, heads: 4 }, train: { seeds: [1, 2] }, variants: [{ name: '(A) h=1', heads: 1, d_k: 64, d_v: 64 }] });
    const runs = expandSpec(spec);
    expect(runs.map((r) => [r.config.variant, r.config.seed])).toEqual([['base', 1], ['base', 2], ['(A) h=1', 1], ['(A) h=1', 2]]);
    expect(runs[0].config.model.d_k).toBe(16);
    expect(runs[2].config.model.heads).toBe(1);
    expect(runs[2].config.changes).toEqual({ heads: 1, d_k: 64, d_v: 64 });
  });

  it('gives equal configs equal hashes and different configs different hashes', () => {
    const a = expandSpec(parseSpec({ ...minimal, base: { heads: 4, d_model: 64 } }));
    const b = expandSpec(parseSpec({ name: 'other', base: { d_model: 64, heads: 4 }, data: { task: 'synthetic-reverse' } }));
    const c = expandSpec(parseSpec({ ...minimal, base: { heads: 2, d_model: 64 } }));
    expect(a[0].hash).toBe(b[0].hash);
    expect(a[0].hash).not.toBe(c[0].hash);
  });

  it('expands a grid into its cartesian product', () => {
    const runs = expandSpec(parseSpec({ ...minimal, grid: { heads: [1, 2], dropout: [0, 0.1] } }));
    expect(runs.map((r) => r.config.variant)).toEqual(['base', 'heads=1, dropout=0', 'heads=1, dropout=0.1', 'heads=2, dropout=0', 'heads=2, dropout=0.1']);
  });
});

describe('a run’s config field', () => {
  it('reads the resolved model field, then the train field, then the variant’s change', () => {
    const [base, variant] = expandSpec(parseSpec({ name: 'e', data: { task: 'synthetic-copy' }, variants: [{ name: 'h=1', heads: 1, train: { warmup: 7 } }] }));
    expect(configField(base.config, 'heads')).toBe(4);
    expect(configField(variant.config, 'heads')).toBe(1);
    expect(configField(variant.config, 'warmup')).toBe(7);
    expect(configField({ ...variant.config, changes: { custom: 'x' } }, 'custom')).toBe('x');
    expect(configField(base.config, 'nope')).toBeUndefined();
  });
});

describe('input the spec refuses, one line each (issue 15)', () => {
  const one = (raw: unknown) => {
    const issues = issuesOf(raw);
    expect(issues.length, JSON.stringify(raw).slice(0, 200)).toBeGreaterThan(0);
    for (const i of issues) expect(i).not.toContain('\n');
    return issues.join('; ');
  };

  it('a word or char vocabulary too small to hold a token', () => {
    expect(one({ ...minimal, data: { task: 'synthetic-copy', tokenizer: { kind: 'word', vocab: 1 } } })).toMatch(/data\.tokenizer\.vocab: must be at least 5 for a word tokenizer.*got 1/);
    expect(one({ ...minimal, data: { task: 'synthetic-copy', tokenizer: { kind: 'char', vocab: 4 } } })).toMatch(/tokenizer\.vocab/);
    expect(issuesOf({ ...minimal, data: { task: 'synthetic-copy', tokenizer: { kind: 'bpe', vocab: 1 } } })).toEqual([]);
  });

  it('more heads than d_model, or heads not dividing d_model without d_k and d_v', () => {
    expect(one({ ...minimal, base: { d_model: 8, heads: 16 } })).toBe('base.heads: 16 heads is more than d_model 8');
    expect(one({ ...minimal, base: { d_model: 128, heads: 3 } })).toBe('base.heads: 3 does not divide d_model 128; set d_k and d_v explicitly');
    expect(one({ ...minimal, variants: [{ name: 'h3', heads: 3 }] })).toMatch(/^variants\[0\]\.heads: 3 does not divide/);
    expect(one({ ...minimal, grid: { heads: [2, 3] } })).toMatch(/grid \(heads=3\)\.heads: 3 does not divide d_model 128/);
    expect(issuesOf({ ...minimal, base: { d_model: 128, heads: 3, d_k: 40, d_v: 40 } })).toEqual([]);
  });

  it('min_len above max_len instead of clamping it', () => {
    expect(one({ ...minimal, data: { task: 'synthetic-copy', min_len: 20, max_len: 10 } })).toBe('data.min_len: 20 is greater than max_len 10');
  });

  it('names longer than 200 characters, and control or bidi characters in a variant name', () => {
    expect(one({ ...minimal, name: 'x'.repeat(201) })).toBe('name: must be at most 200 characters');
    expect(one({ ...minimal, variants: [{ name: 'v'.repeat(201) }] })).toBe('variants[0].name: must be at most 200 characters');
    for (const bad of ['a\u0000b', 'evil\u202Etxt.exe', 'two\nlines', 'bell\u0007'])
      expect(one({ ...minimal, variants: [{ name: bad }] })).toBe('variants[0].name: must not contain control characters or bidirectional marks');
    expect(one({ ...minimal, name: 'a\u202Eb' })).toMatch(/^name: letters, digits/);
  });

  it('model sizes that cannot fit: widths over 65536 and an estimated parameter count over 1e9', () => {
    expect(one({ ...minimal, base: { d_k: 100000 } })).toBe('base.d_k: must be at most 65536');
    for (const f of ['d_model', 'd_ff', 'd_v']) expect(one({ ...minimal, base: { [f]: 70000 } })).toBe(`base.${f}: must be at most 65536`);
    expect(one({ ...minimal, base: { d_model: 65536, heads: 1, d_ff: 65536, layers: 6 } })).toMatch(/^base: about 4\.1e\+11 parameters, more than the limit of 1e\+9/);
    expect(one({ ...minimal, base: { layers: 1000 } })).toBe('base.layers: must be at most 128');
  });

  it('grids, seeds and runs over the caps, naming the numbers, without expanding anything', () => {
    const values = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
    const huge = { ...minimal, grid: { layers: values, d_model: values, d_ff: values, heads: values, dropout: values.map((v) => v / 1000), label_smoothing: values.map((v) => v / 1000) } };
    const t0 = performance.now();
    const msg = one(huge);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(msg).toMatch(/grid: 1000000 cells \(10 layers × 10 d_model × .*\) is more than 1000/);
    expect(one({ ...minimal, train: { seeds: Array.from({ length: 101 }, (_, i) => i) } })).toBe('train.seeds: must list at most 100 seeds');
    const dropouts = Array.from({ length: 20 }, (_, i) => i / 40);
    expect(one({ ...minimal, train: { seeds: Array.from({ length: 100 }, (_, i) => i) }, grid: { dropout: dropouts } })).toBe('(spec): 2100 runs ((1 base + 0 variants + 20 grid cells) × 100 seeds) is more than 2000 per spec');
  });

  it('lists at most 20 issues of at most 300 characters (70k unknown keys stay one short line)', () => {
    const base = Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, 1]));
    const t0 = performance.now();
    const issues = issuesOf({ ...minimal, base });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(issues.length).toBeLessThanOrEqual(21);
    for (const i of issues) expect(i.length).toBeLessThanOrEqual(300);
  });
});
