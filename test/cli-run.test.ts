/**
 * The CLI contract with real (tiny) Transformer training on wasm: `ablate run --json` field
 * names, duplicate configs skipped unless --force, a bad spec changing nothing, and `runs`,
 * `export`, `translate` on the resulting database.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FINAL_METRICS } from '../contract/metrics';
import { Workbench } from '../main/service/workbench';
import { ablate, snapshotTables, tempDir, tinySpec } from './support/workbench';

const dir = tempDir();
const db = join(dir, 'cli.sqlite');
const specFile = join(dir, 'tiny.yaml');
let first: Awaited<ReturnType<typeof ablate>>;

beforeAll(async () => {
  writeFileSync(specFile, tinySpec({ variants: ['{ name: "h1", heads: 1 }'] }));
  // Started outside the project, as a user's `npx ablate` may be: run processes must still find their loader.
  first = await ablate(['run', specFile, '--db', db, '--backend', 'wasm', '--json'], { cwd: dir });
}, 300_000);

describe('ablate run --json', () => {
  it('prints exactly a JSON array of runs with the contract field names', () => {
    expect(first.code, first.stderr).toBe(0);
    const runs = JSON.parse(first.stdout) as Record<string, unknown>[];
    expect(runs).toHaveLength(2);
    for (const run of runs) {
      expect(Object.keys(run)).toEqual(expect.arrayContaining(['id', 'variant', 'seed', 'state', 'backend', 'metrics']));
      expect(run.state).toBe('done');
      expect(run.backend).toBe('wasm');
      const metrics = run.metrics as Record<string, number | null>;
      expect(Object.keys(metrics).sort()).toEqual([...FINAL_METRICS].sort());
      for (const name of FINAL_METRICS) expect(typeof metrics[name], name).toBe('number');
      // exp(valid_loss) is the perplexity the paper reports.
      expect(metrics.valid_ppl).toBeCloseTo(Math.exp(metrics.valid_loss as number), 6);
    }
    expect(runs.map((r) => r.variant)).toEqual(['base', 'h1']);
  });

  it('skips configs already done, and trains them again with --force', async () => {
    const again = await ablate(['run', specFile, '--db', db, '--backend', 'wasm', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/skipped base seed 1: same config as run 1/);
    const runs = JSON.parse(again.stdout) as { id: number }[];
    expect(runs.map((r) => r.id)).toEqual([1, 2]); // the existing runs, not new ones
    const queued = await ablate(['queue', specFile, '--db', db, '--force', '--json']);
    expect(queued.code, queued.stderr).toBe(0);
    expect(JSON.parse(queued.stdout).queued).toEqual([3, 4]);
  });
});

describe('a bad spec', () => {
  it('exits non-zero with one line naming the field, and changes nothing in the database', async () => {
    const before = snapshotTables(db);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, tinySpec({ name: 'bad', variants: ['{ name: a, heads: 2 }', '{ name: b }', '{ name: c, heads: -1 }'] }));
    for (const cmd of ['run', 'queue']) {
      const res = await ablate([cmd, bad, '--db', db]);
      expect(res.code).toBe(1);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toContain('variants[2].heads: must be a positive integer');
      expect(res.stdout).toBe('');
    }
    expect(snapshotTables(db)).toEqual(before);
  });

  it('names the file and line of a YAML syntax error', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'name: x\ndata: { task: synthetic-copy\nbase: {}\n');
    const res = await ablate(['queue', broken, '--db', db]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/broken\.yaml: line \d+, column \d+: /);
  });
});

describe('runs, export, translate', () => {
  it('lists runs with state, config hash and step', async () => {
    const res = await ablate(['runs', '--db', db, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const runs = JSON.parse(res.stdout) as { id: number; state: string; config_hash: string; step: number }[];
    expect(runs.map((r) => r.state)).toEqual(['done', 'done', 'queued', 'queued']);
    expect(runs[0].config_hash).toMatch(/^[0-9a-f]{16}$/);
    expect(runs[0].config_hash).toBe(runs[2].config_hash);
    expect(runs[0].step).toBe(40);
    const text = await ablate(['runs', '--db', db]);
    expect(text.stdout.split('\n')[0]).toMatch(/^id\s+experiment\s+variant\s+seed\s+state\s+hash\s+step/);
  });

  it('exports the result table as LaTeX booktabs and CSV', async () => {
    const latex = await ablate(['export', '--db', db, '--format', 'latex', '--experiment', 'tiny']);
    expect(latex.code, latex.stderr).toBe(0);
    expect(latex.stdout).toContain('\\toprule');
    expect(latex.stdout).toContain('\\bottomrule');
    const out = join(dir, 'table.csv');
    const csv = await ablate(['export', '--db', db, '--format', 'csv', '--out', out]);
    expect(csv.code, csv.stderr).toBe(0);
    const bad = await ablate(['export', '--db', db, '--format', 'pdf']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--format: expected one of csv, md, latex, got "pdf"/);
  });

  it('translates stdin lines with a run\'s checkpoint, one output line per input line', async () => {
    const res = await ablate(['translate', '--db', db, '--run', '1', '--beam', '2'], { input: 'w1 w2 w3\n\nw4 w5 w6 w7\n' });
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines).toHaveLength(4); // three lines and the final newline
    expect(lines[1]).toBe('');
    const missing = await ablate(['translate', '--db', db, '--run', '99']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--run 99: no such run/);
  });

  it('returns attention maps from a run\'s checkpoint, each row a probability distribution', async () => {
    const wb = await Workbench.open({ dbPath: db, dataDir: join(dir, '.ablate'), autoStart: false });
    try {
      const maps = await wb.attention(2, 'w1 w2 w3');
      const [layer] = maps.encoderSelf;
      expect(maps.encoderSelf).toHaveLength(1); // layers: 1
      expect(layer).toHaveLength(1); // variant h1: one head
      expect(layer[0]).toHaveLength(maps.sourceTokens.length);
      expect(maps.cross[0][0]).toHaveLength(maps.targetTokens.length);
      expect(maps.cross[0][0][0]).toHaveLength(maps.sourceTokens.length);
      // Softmax rows (eq. 1) sum to one.
      for (const row of [...layer[0], ...maps.cross[0][0], ...maps.decoderSelf[0][0]]) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      await expect(wb.attention(99, 'w1')).rejects.toThrow('run 99 does not exist');
    } finally {
      await wb.close();
    }
  });
});
