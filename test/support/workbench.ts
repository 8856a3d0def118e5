/** Shared helpers for the workbench and CLI tests: temp folders, toy specs, table snapshots. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
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

/** A real, tiny Transformer spec (seconds per run on wasm) for the CLI tests. */
export function tinySpec(opts: { name?: string; steps?: number; eval?: number; checkpoint?: number; variants?: string[]; task?: string; dropout?: number } = {}): string {
  const variants = opts.variants ?? [];
  return [
    `name: ${opts.name ?? 'tiny'}`,
    `data: { task: ${opts.task ?? 'synthetic-copy'}, vocab: 8, min_len: 3, max_len: 6, train_size: 300, valid_size: 24, test_size: 16, seed: 1, tokenizer: { kind: word, vocab: 32, shared: true } }`,
    `base: { layers: 1, d_model: 16, d_ff: 32, heads: 2, dropout: ${opts.dropout ?? 0.1}, label_smoothing: 0.1 }`,
    `train: { steps: ${opts.steps ?? 40}, batch_tokens: 200, warmup: 20, eval_every: ${opts.eval ?? 20}, checkpoint_every: ${opts.checkpoint ?? 20}, eval_bleu_sentences: 16, samples: 2, seeds: [1], decode: { beam: 2, alpha: 0.6, max_len_offset: 3 } }`,
    ...(variants.length ? ['variants:', ...variants.map((v) => `  - ${v}`)] : []),
  ].join('\n');
}

/** Runs `ablate ARGS` as a child process (the CLI contract is what outside checks call). */
export function ablate(args: string[], opts: { input?: string; cwd?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/ablate.mjs'), ...args], { cwd: opts.cwd ?? ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** `ablate ARGS` as a child the caller can signal while it works: its exit (code, output) in `done`. */
export function ablateChild(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/ablate.mjs'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, done, stderr: () => stderr };
}
