/**
 * Spec files at the edge (main/spec-file.ts) and the shipped presets: syntax and schema errors name
 * file, field and line; relative corpus paths resolve against the spec's folder; `table3-mini`
 * holds rows (A)–(E) of Table 3 of "Attention Is All You Need", each changing only what the
 * paper's row changes.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { specWarnings } from '../../contract/spec-warnings';
import { learnedPositionProblems } from '../../experiments/data/positions';
import { describe, expect, it } from 'vitest';
import { PRESETS, findPreset } from '../../experiments/presets';
import { SpecError } from '../../contract/spec';
import { expandLoaded, loadSpecArg, parseSpecText, readSpecFile } from './spec-edge';
import { tempDir } from '../../test/support/workbench';

function errorOf(f: () => unknown): SpecError {
  try {
    f();
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('expected a SpecError');
}

describe('spec files', () => {
  it('names the line of a YAML syntax error', () => {
    const err = errorOf(() => parseSpecText('name: x\ndata: { task: synthetic-copy\nbase: {}\n', 'exp.yaml'));
    expect(err.message).toMatch(/^exp\.yaml: line \d+, column \d+: /);
  });

  it('names the field path, the allowed values and the line of a schema error', () => {
    const text = ['name: x', 'data: { task: synthetic-copy }', 'base:', '  positional: rotary', 'variants:', '  - { name: a, heads: 2 }', '  - { name: b }', '  - { name: c, heads: -1 }'].join('\n');
    const err = errorOf(() => parseSpecText(text, 'exp.yaml'));
    expect(err.issues).toContain('base.positional: one of sinusoidal, learned, none (line 4)');
    expect(err.issues).toContain('variants[2].heads: must be a positive integer (line 8)');
  });

  it('reads JSON specs with the same schema', () => {
    const spec = parseSpecText(JSON.stringify({ name: 'j', data: { task: 'synthetic-reverse' }, variants: [{ name: 'h1', heads: 1 }] }), 'exp.json');
    expect(expandLoaded({ spec, specDir: null }).map((r) => r.config.variant)).toEqual(['base', 'h1']);
  });

  it('resolves relative corpus paths against the spec file\'s folder', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'specs'));
    writeFileSync(join(dir, 'specs', 'exp.yaml'), 'name: c\ndata:\n  corpus: { train: [../data/train.en, ../data/train.de], valid: data.tsv }\n');
    const runs = expandLoaded(readSpecFile(join(dir, 'specs', 'exp.yaml')));
    expect(runs[0].config.data.corpus?.train).toEqual([join(dir, 'data', 'train.en'), join(dir, 'data', 'train.de')]);
    expect(runs[0].config.data.corpus?.valid).toBe(join(dir, 'specs', 'data.tsv'));
  });

  it('looks up presets by name and lists them when the name is unknown', () => {
    expect(loadSpecArg('quick').source).toBe('preset quick');
    expect(() => loadSpecArg('no-such-preset')).toThrow('no-such-preset: no such spec file or preset (presets: quick, table3-mini, table3-multi30k, table3-multi30k-cpu)');
  });

  it('swaps in a corpus folder for --corpus, and names a missing file', () => {
    const dir = tempDir();
    for (const f of ['train.en', 'train.de', 'valid.en', 'valid.de']) writeFileSync(join(dir, f), 'a\n');
    const runs = expandLoaded(loadSpecArg('table3-mini', { corpus: dir }));
    expect(runs[0].config.data.corpus).toEqual({ train: [join(dir, 'train.en'), join(dir, 'train.de')], valid: [join(dir, 'valid.en'), join(dir, 'valid.de')] });
    expect(runs[0].config.data.task).toBeUndefined();
    // table3-mini's word vocabulary of 64 fits only its synthetic task: real text gets BPE 8,000.
    expect(runs[0].config.data.tokenizer).toMatchObject({ kind: 'bpe', vocab: 8000 });
    expect(() => loadSpecArg('table3-mini', { corpus: join(dir, 'missing') })).toThrow(/missing .*train\.en/);
  });

  it('keeps the tokenizer of a spec that already reads a corpus under --corpus (its model was sized with it)', () => {
    const dir = tempDir();
    for (const f of ['train.en', 'train.de', 'valid.en', 'valid.de']) writeFileSync(join(dir, f), 'a\n');
    const runs = expandLoaded(loadSpecArg('table3-multi30k-cpu', { corpus: dir }));
    expect(runs[0].config.data.corpus?.train).toEqual([join(dir, 'train.en'), join(dir, 'train.de')]);
    // The preset's text: `tokenizer: { kind: bpe, vocab: 2000, shared: true }`.
    expect(runs[0].config.data.tokenizer).toMatchObject({ kind: 'bpe', vocab: 2000, shared: true });
  });
});

describe('presets', () => {
  it('every preset is a valid spec', () => {
    for (const p of PRESETS) expect(() => parseSpecText(p.yaml, p.name), p.name).not.toThrow();
  });

  it('quick is a small real ablation: base plus a variant, one seed', () => {
    const runs = expandLoaded(loadSpecArg('quick'));
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.length).toBeLessThanOrEqual(3);
    expect(new Set(runs.map((r) => r.config.seed)).size).toBe(1);
  });

  for (const [name, wantRows] of [['table3-mini', 'ABCDE'], ['table3-multi30k', 'ABCDE'], ['table3-multi30k-cpu', 'ABD']] as const)
  it(`${name} has rows ${[...wantRows].join(', ')}, each changing only the fields its row of Table 3 changes`, () => {
    const preset = findPreset(name)!;
    const runs = expandLoaded({ spec: parseSpecText(preset.yaml), specDir: null });
    const base = runs[0].config.model;
    // The paper's base model has h·d_k = d_model and d_ff = 4·d_model; the mini base keeps both ratios.
    expect(base.heads * base.d_k).toBe(base.d_model);
    expect(base.d_ff).toBe(4 * base.d_model);
    const allowed: Record<string, string[]> = { A: ['heads', 'd_k', 'd_v'], B: ['d_k'], C: ['layers', 'd_ff', 'd_model'], D: ['dropout', 'label_smoothing'], E: ['positional'] };
    const rows = new Set<string>();
    for (const run of runs.filter((r) => r.config.variant !== 'base')) {
      const row = /^\(([A-E])\)/.exec(run.config.variant)?.[1];
      expect(row, run.config.variant).toBeDefined();
      rows.add(row!);
      for (const field of Object.keys(run.config.changes)) expect(allowed[row!], `${run.config.variant} changes ${field}`).toContain(field);
      // Row (A) varies the head count at constant computation: h·d_k = h·d_v = d_model.
      if (row === 'A') expect([run.config.model.heads * run.config.model.d_k, run.config.model.heads * run.config.model.d_v]).toEqual([base.d_model, base.d_model]);
    }
    expect([...rows].sort()).toEqual([...wantRows]);
    if (rows.has('E')) expect(runs.find((r) => r.config.variant.startsWith('(E)'))!.config.model.positional).toBe('learned');
    expect(new Set(runs.map((r) => r.hash)).size).toBe(runs.length);
  });

  it('table3-multi30k reads ../shared/data/multi30k in place, three seeds, checkpoint averaging, and its learned-position row fits every dev/test sentence', () => {
    const runs = expandLoaded(loadSpecArg('table3-multi30k'));
    const base = runs[0].config;
    expect(base.data.corpus?.test).toEqual([resolve('../shared/data/multi30k/test.en'), resolve('../shared/data/multi30k/test.de')]);
    expect(new Set(runs.map((r) => r.config.seed))).toEqual(new Set([1, 2, 3]));
    expect(runs).toHaveLength(16 * 3);
    expect(base.train.average_last).toBe(5);
    expect(specWarnings(runs)).toEqual([]);
    if (existsSync(resolve('../shared/data/multi30k/test.en'))) expect(learnedPositionProblems(runs)).toEqual([]);
  });

  it('table3-multi30k-cpu is the reduced grid: the same corpus, base and rows (A) h=1, (B) d_k/4, (D) no dropout, three seeds each', () => {
    const runs = expandLoaded(loadSpecArg('table3-multi30k-cpu'));
    const base = runs[0].config;
    expect(base.data.corpus?.test).toEqual([resolve('../shared/data/multi30k/test.en'), resolve('../shared/data/multi30k/test.de')]);
    expect(runs).toHaveLength(4 * 3);
    for (const variant of ['base', '(A) h=1', '(B) d_k=4', '(D) P_drop=0.0'])
      expect(runs.filter((r) => r.config.variant === variant).map((r) => r.config.seed).sort(), variant).toEqual([1, 2, 3]);
    // The paper's rows: (A) h=1 at constant computation, (B) d_k a quarter of the base's (64 → 16), (D) P_drop 0.
    const model = (variant: string) => runs.find((r) => r.config.variant === variant)!.config.model;
    expect([model('(A) h=1').heads, model('(A) h=1').d_k]).toEqual([1, base.model.d_model]);
    expect(model('(B) d_k=4').d_k * 4).toBe(base.model.d_k);
    expect(model('(D) P_drop=0.0').dropout).toBe(0);
    expect(specWarnings(runs)).toEqual([]);
  });
});
