/** Shared helpers for the workbench and CLI tests: temp folders, toy specs, table snapshots. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const TOY_ENTRY = join(ROOT, 'test/fixtures/toy-run-process.ts');

export function tempDir(prefix = 'ablate-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A valid spec for the toy process: its train section drives the toy (steps, eval, checkpoints, lr). */
export function toySpec(opts: { name?: string; steps?: number; variants?: string[]; checkpointEvery?: number } = {}): string {
  const variants = opts.variants ?? [];
  return [
    `name: ${opts.name ?? 'toy'}`,
    'data: { task: synthetic-copy }',
    'base: { layers: 1, d_model: 16, heads: 2, d_ff: 32 }',
    `train: { steps: ${opts.steps ?? 40}, eval_every: 10, checkpoint_every: ${opts.checkpointEvery ?? 10}, warmup: 10, seeds: [1] }`,
    ...(variants.length ? ['variants:', ...variants.map((v) => `  - ${v}`)] : []),
  ].join('\n');
}

/** Every row of every table (sqlite_* excluded), for "nothing changed" comparisons. */
export function snapshotTables(dbPath: string): Record<string, unknown[]> {
  const db = new Database(dbPath, { readonly: true });
  try {
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
    const out: Record<string, unknown[]> = {};
    // Some tables are WITHOUT ROWID: order by the rows' JSON instead.
    for (const t of tables) out[t] = (db.prepare(`SELECT * FROM "${t}"`).all() as unknown[]).map((r) => JSON.stringify(r)).sort();
    return out;
  } finally {
    db.close();
  }
}

/** (run, split, name, step) keys stored more than once: must be empty. */
export function duplicateMetricKeys(dbPath: string): unknown[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare(`SELECT run_id, split, name, step, count(*) AS n FROM metrics GROUP BY run_id, split, name, step HAVING n > 1`).all();
  } finally {
    db.close();
  }
}
