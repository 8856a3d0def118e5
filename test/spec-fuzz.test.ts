/**
 * Malformed and aliased YAML specs (issue 15: 4 of 325 fuzzed specs gave stack traces): a few
 * hundred specs mutated from a valid one with a fixed seed — anchors, aliases to nothing, alias
 * bombs, merge keys, tags, stray indicators, deep nesting, cut lines — must each be refused with a
 * one-line SpecError or parse, quickly; never another exception, never a hang.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../contract/errors';
import { parseSpecText } from '../main/service/spec-edge';
import { ROOT } from './support/workbench';

const VALID = [
  'name: fuzz',
  'data: { task: synthetic-copy, vocab: 8, min_len: 3, max_len: 6, tokenizer: { kind: word, vocab: 32 } }',
  'base: { layers: 1, d_model: 16, d_ff: 32, heads: 2, dropout: 0.1 }',
  'train:',
  '  steps: 40',
  '  seeds: [1, 2]',
  '  decode: { beam: 2, alpha: 0.6 }',
  'variants:',
  '  - { name: h1, heads: 1 }',
  '  - name: wide',
  '    d_model: 32',
  'grid:',
  '  dropout: [0, 0.1]',
].join('\n');

/** A small LCG: the same 300 specs on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const SNIPPETS = [
  '&a', '*a', '*nope', '<<: *a', '!!binary', '!!set', '!!omap', '!!timestamp', '!foo', '!!str', '!!int', '? ', ': ', '- ', '{', '}', '[', ']', ',', '"', "'", '|', '>', '#', '%YAML 1.1', '---', '...', '@', '`', '\t', '\\u202e', '\u202e', '\u0000', '\ufeff', 'null', '~', '.inf', '-.nan', '0x1F', '1e999', 'true', 'y',
];

function mutate(r: () => number): string {
  let lines = VALID.split('\n');
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const i = Math.floor(r() * lines.length);
    const kind = Math.floor(r() * 8);
    const line = lines[i];
    const at = Math.floor(r() * (line.length + 1));
    const snippet = SNIPPETS[Math.floor(r() * SNIPPETS.length)];
    if (kind === 0) lines[i] = line.slice(0, at) + snippet + line.slice(at);
    else if (kind === 1) lines[i] = line.slice(0, at) + line.slice(at + 1 + Math.floor(r() * 5));
    else if (kind === 2) lines.splice(i, 0, line);
    else if (kind === 3) lines.splice(i, 1);
    else if (kind === 4) lines[i] = line.replace(/: /, `: &a${Math.floor(r() * 3)} `);
    else if (kind === 5) lines[i] = line.replace(/: ([^{[].*)$/, `: *a${Math.floor(r() * 3)}`);
    else if (kind === 6) lines = [...lines.slice(0, i), `x${i}: &a [${'*a, '.repeat(Math.floor(r() * 12))}1]`, ...lines.slice(i)];
    else lines[i] = ' '.repeat(Math.floor(r() * 6)) + line.trimStart();
  }
  return lines.join('\n');
}

/** Specs meant to break things rather than mutations of a good one. */
const NASTY = [
  // A billion laughs.
  ['a: &a ["x","x","x","x","x","x","x","x","x"]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]'].join('\n'),
  'name: &n x\ndata: *n\n',
  'name: x\ndata: *undefined_anchor\n',
  'a: &a [*a]\n',
  `name: deep\ndata: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
  `name: deep\ndata: ${'{a: '.repeat(3000)}1${'}'.repeat(3000)}\n`,
  '? [a, b]\n: c\n',
  '--- a\n--- b\n',
  'name: x\n\tdata: 1\n',
  '<<: *x\n',
  'name: !!binary aGVsbG8=\ndata: { task: synthetic-copy }\n',
  'name: x\ndata: !!set { a, b }\n',
  '',
  '\ufeff',
  '[1, 2, 3]',
  'name: "unterminated\n',
];

function outcome(text: string): 'parsed' | string {
  try {
    parseSpecText(text, 'fuzz.yaml');
    return 'parsed';
  } catch (err) {
    if (!(err instanceof UserError)) return `NOT A USER ERROR: ${err instanceof Error ? err.stack : String(err)}`;
    return err.message;
  }
}

describe('fuzzed YAML specs (seed 15)', () => {
  const r = rng(15);
  const specs = [...NASTY, ...Array.from({ length: 300 }, () => mutate(r))];

  it(`every one of ${specs.length} parses or is refused with one line, none takes long`, () => {
    const bad: string[] = [];
    let slowest = 0;
    for (const text of specs) {
      const t0 = performance.now();
      const result = outcome(text);
      slowest = Math.max(slowest, performance.now() - t0);
      if (result.startsWith('NOT A USER ERROR') || result.includes('\n') || result.length > 2000) bad.push(`${JSON.stringify(text.slice(0, 120))} → ${result.slice(0, 400)}`);
    }
    expect(bad).toEqual([]);
    expect(slowest).toBeLessThan(1000);
  });

  it('exercises refusals and parses alike (the mutations are not all fatal)', () => {
    const results = specs.map(outcome);
    expect(results.filter((x) => x === 'parsed').length).toBeGreaterThan(10);
    expect(results.filter((x) => x !== 'parsed').length).toBeGreaterThan(150);
  });

  it('through the CLI: one line on stderr, exit 1, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ablate-fuzz-'));
    for (const [i, text] of [NASTY[0], NASTY[2], NASTY[4], 'name: x\nvariants: [{ name: "a\\u202eb" }]\ndata: { task: synthetic-copy }\n'].entries()) {
      const file = join(dir, `s${i}.yaml`);
      writeFileSync(file, text);
      const res = spawnSync(process.execPath, [join(ROOT, 'bin/ablate.mjs'), 'queue', file, '--db', join(dir, 'f.sqlite')], { encoding: 'utf8', timeout: 60_000 });
      expect(res.status, res.stderr).toBe(1);
      expect(res.stderr.trimEnd().split('\n'), res.stderr).toHaveLength(1);
      expect(res.stderr).toMatch(/^ablate: /);
      expect(res.stderr).not.toContain('\u202e');
    }
  }, 240_000);
});
