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
import { fuzzedSpecs, NASTY } from './support/fuzzed-specs';

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
  const specs = fuzzedSpecs(15);

  it(`every one of ${specs.length} parses or is refused with one line, none hangs`, () => {
    const bad: string[] = [];
    let slowest = 0;
    for (const text of specs) {
      const t0 = performance.now();
      const result = outcome(text);
      slowest = Math.max(slowest, performance.now() - t0);
      if (result.startsWith('NOT A USER ERROR') || result.includes('\n') || result.length > 2000) bad.push(`${JSON.stringify(text.slice(0, 120))} → ${result.slice(0, 400)}`);
    }
    expect(bad).toEqual([]);
    // A hang, not a speed goal (a loaded machine stretches any parse): `npm run bench faults` times them.
    expect(slowest).toBeLessThan(10_000);
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
