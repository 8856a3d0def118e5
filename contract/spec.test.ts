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
