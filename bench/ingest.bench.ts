/**
 * Metric storage: ingest rows/s through Store.insertMetrics (goal ≥ 100k rows/s) against raw
 * better-sqlite3 inserts measured in the same run, and the latency of the compare queries on a
 * database of ~1M metric rows over 200 runs (goal < 50 ms), against plain SQL reading the same rows.
 *
 *   npm run bench ingest            (full size)
 *   npm run bench ingest -- --quick (a tenth of the rows, for a smoke run)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { MetricPoint } from '../contract/run-protocol';
import { expandSpec, parseSpec } from '../contract/spec';
import { buildResultTable } from '../db/export';
import { openStore, type Store } from '../db/store';

const TRAIN_NAMES = ['loss', 'lr', 'tokens_per_second'];
const VALID_NAMES = ['loss', 'valid_ppl', 'valid_bleu'];

/** The points a training run reports for steps [from, to): train metrics every step, valid ones every 9th. */
function runPoints(from: number, to: number, t0: number): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (let step = from; step < to; step++) {
    for (const name of TRAIN_NAMES) out.push({ split: 'train', name, step, value: 10 / Math.sqrt(step + 1) + Math.random() * 0.01, time: t0 + step * 50 });
    if (step % 9 === 0) for (const name of VALID_NAMES) out.push({ split: 'valid', name, step, value: name === 'valid_bleu' ? step / 100 : 5 / Math.log(step + 3), time: t0 + step * 50 });
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median wall time of `fn` in ms over `reps` calls after two warm-up calls. */
function time(fn: () => unknown, reps: number): number {
  fn();
  fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const a = performance.now();
    fn();
    t.push(performance.now() - a);
  }
  return median(t);
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function newStoreWithRuns(file: string, runs: number): { store: Store; runIds: number[] } {
  const store = openStore(file);
  const exp = store.upsertExperiment('bench', {}, null);
  const runIds = store.insertRuns(
    exp.id,
    Array.from({ length: runs }, (_, i) => ({ variant: 'base', seed: i, config: {}, configHash: `h${i}`, backendRequested: 'cpu', totalSteps: 1 })),
  );
  return { store, runIds };
}

function benchIngest(dir: string, totalRows: number): void {
  console.log(`\n-- ingest: ~${fmt(totalRows)} metric rows per measurement (file DB, WAL, synchronous=NORMAL) --`);
  // Reference 1: the floor — raw prepared INSERT into a key-less rowid table, one transaction for all rows.
  const points = runPoints(0, Math.ceil(totalRows / 3.34), Date.now());
  const n = points.length;
  const rawFile = join(dir, 'raw.sqlite');
  const raw = new Database(rawFile);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.exec('CREATE TABLE m (run_id INTEGER, split TEXT, name TEXT, step INTEGER, value REAL, time INTEGER)');
  const ins = raw.prepare('INSERT INTO m VALUES (?, ?, ?, ?, ?, ?)');
  let a = performance.now();
  raw.transaction(() => {
    for (const p of points) ins.run(1, p.split, p.name, p.step, p.value, p.time);
  })();
  const refPlain = n / ((performance.now() - a) / 1000);
  raw.close();

  // Reference 2: raw prepared plain INSERT into the store's own metrics table (same key), one transaction.
  const { store: s2, runIds: r2 } = newStoreWithRuns(join(dir, 'ref2.sqlite'), 1);
  s2.close();
  const raw2 = new Database(join(dir, 'ref2.sqlite'));
  raw2.pragma('synchronous = NORMAL');
  const ins2 = raw2.prepare('INSERT INTO metrics (run_id, split, name, step, value, kind, time) VALUES (?, ?, ?, ?, ?, 0, ?)');
  a = performance.now();
  raw2.transaction(() => {
    for (const p of points) ins2.run(r2[0], p.split, p.name, p.step, p.value, p.time);
  })();
  const refSameTable = n / ((performance.now() - a) / 1000);
  raw2.close();

  console.log(`reference: raw INSERT, key-less table, 1 transaction          ${fmt(refPlain).padStart(10)} rows/s`);
  console.log(`reference: raw INSERT, metrics table (PK), 1 transaction      ${fmt(refSameTable).padStart(10)} rows/s   (${(refSameTable / refPlain).toFixed(2)}× key-less)`);
  console.log(`store.insertMetrics (INSERT OR REPLACE, NaN tag, 1 transaction per call):`);
  for (const batch of [10, 50, 200, 500]) {
    // Four runs interleaved, as concurrent runs report: each call carries one run's next `batch` points.
    const { store, runIds } = newStoreWithRuns(join(dir, `store-${batch}.sqlite`), 4);
    a = performance.now();
    for (let off = 0, k = 0; off < n; off += batch, k++) store.insertMetrics(runIds[k % 4], points.slice(off, off + batch));
    const rate = n / ((performance.now() - a) / 1000);
    store.close();
    console.log(`  batches of ${String(batch).padStart(3)} points                                 ${fmt(rate).padStart(10)} rows/s   ${(rate / refPlain).toFixed(2)}× raw key-less, ${(rate / refSameTable).toFixed(2)}× raw same table, goal 100k: ${rate >= 1e5 ? 'met' : 'MISSED'}`);
  }
}

function benchQueries(dir: string, runs: number, stepsPerRun: number): void {
  const file = join(dir, 'compare.sqlite');
  const store = openStore(file);
  // Realistic configs: 5 experiments of 8 variants (Table 3 rows) × 5 seeds = 40 runs each.
  const spec = parseSpec({
    name: 'bench',
    data: { task: 'synthetic-reorder' },
    train: { seeds: [1, 2, 3, 4, 5] },
    variants: [
      { name: '(A) h=1', heads: 1, d_k: 128, d_v: 128 },
      { name: '(A) h=8', heads: 8, d_k: 16, d_v: 16 },
      { name: '(B) d_k=16', d_k: 16 },
      { name: '(C) N=1', layers: 1 },
      { name: '(C) d_ff=256', d_ff: 256 },
      { name: '(D) dropout=0', dropout: 0 },
      { name: '(E) learned positions', positional: 'learned' },
    ],
  });
  const expanded = expandSpec(spec);
  const experiments: number[] = [];
  const runIds: number[] = [];
  const t0 = Date.now();
  let rows = 0;
  const a = performance.now();
  for (let e = 0; runIds.length < runs; e++) {
    const exp = store.upsertExperiment(`bench-${e}`, spec, null);
    experiments.push(exp.id);
    const ids = store.insertRuns(
      exp.id,
      expanded.slice(0, Math.min(expanded.length, runs - runIds.length)).map((r) => ({ variant: r.config.variant, seed: r.config.seed, config: r.config, configHash: `${r.hash}-${e}`, backendRequested: 'cpu', totalSteps: stepsPerRun })),
    );
    for (const id of ids) {
      // Reported as a run does: every 10 steps a batch.
      for (let s = 0; s < stepsPerRun; s += 10) {
        const pts = runPoints(s, Math.min(stepsPerRun, s + 10), t0);
        store.insertMetrics(id, pts);
        rows += pts.length;
      }
      const final = { train_loss: 2 + Math.random(), valid_loss: 1.5 + Math.random(), valid_ppl: 4 + Math.random(), valid_bleu: 20 + 5 * Math.random(), test_bleu: 19 + 5 * Math.random(), params: 1e6, train_seconds: 100 + 10 * Math.random(), tokens_per_second: 5000 };
      store.insertMetrics(id, Object.entries(final).map(([name, value]) => ({ split: 'final', name, step: stepsPerRun, value, time: t0 })));
      rows += 8;
      store.updateRun(id, { state: 'done', step: stepsPerRun, params: 1e6 });
    }
    runIds.push(...ids);
  }
  const buildSec = (performance.now() - a) / 1000;
  store.close();
  console.log(`\n-- compare queries: ${fmt(rows)} metric rows over ${runIds.length} runs in ${experiments.length} experiments (${(statSync(file).size / 2 ** 20).toFixed(0)} MiB) --`);
  console.log(`(built through insertMetrics in batches of ~34 rows: ${fmt(rows / buildSec)} rows/s)`);

  const s = openStore(file);
  const raw = new Database(file, { readonly: true });
  const reps = 15;
  const line = (what: string, ms: number, ref: number | null, rowsOut: number) =>
    console.log(`${what.padEnd(58)} ${ms.toFixed(2).padStart(8)} ms ${String(rowsOut).padStart(7)} rows  ${ref === null ? ''.padEnd(28) : `${(ms / ref).toFixed(2)}× reference (${ref.toFixed(2)} ms)`.padEnd(28)}  goal 50 ms: ${ms < 50 ? 'met' : 'MISSED'}`);
  console.log('references: getMetrics → the plain per-row SELECT of the same points as raw arrays (no objects);');
  console.log('            listRuns → SELECT * FROM runs (no join, no final metrics, no JSON parsing)');
  // Spread the compared runs over the database, not one contiguous block.
  const pick = (k: number) => Array.from({ length: k }, (_, i) => runIds[Math.floor((i * runIds.length) / k)]);
  for (const k of [2, 10, 50]) {
    const ids = pick(k);
    for (const q of [
      { label: `train loss`, names: ['loss'], splits: ['train'] },
      { label: `loss + valid_ppl + valid_bleu, all splits`, names: ['loss', 'valid_ppl', 'valid_bleu'], splits: undefined },
    ]) {
      const got = s.getMetrics({ runIds: ids, names: q.names, splits: q.splits });
      const ms = time(() => s.getMetrics({ runIds: ids, names: q.names, splits: q.splits }), reps);
      const sql = `SELECT run_id, split, name, step, value, kind, time FROM metrics WHERE run_id IN (${ids.map(() => '?').join(',')})${q.splits ? ` AND split IN (${q.splits.map(() => '?').join(',')})` : ''} AND name IN (${q.names.map(() => '?').join(',')}) ORDER BY run_id, split, name, step`;
      const stmt = raw.prepare(sql).raw();
      const args = [...ids, ...(q.splits ?? []), ...q.names];
      const ref = time(() => stmt.all(...args), reps);
      line(`getMetrics ${String(k).padStart(2)} runs × ${q.label}`, ms, ref, got.length);
      // What Compare loads through (Workbench.getMetrics samples these before making per-point objects).
      const series = time(() => s.getMetricSeries({ runIds: ids, names: q.names, splits: q.splits }), reps);
      line(`  getMetricSeries (columns), same points`, series, ref, got.length);
    }
  }
  const all = s.listRuns();
  const refRuns = raw.prepare('SELECT * FROM runs ORDER BY id');
  line('listRuns() with final metrics (all runs)', time(() => s.listRuns(), reps), time(() => refRuns.all(), reps), all.length);
  line('listRuns({ experimentId }) with final metrics', time(() => s.listRuns({ experimentId: experiments[0] }), reps), null, s.listRuns({ experimentId: experiments[0] }).length);
  const table = buildResultTable(s, experiments[0]);
  line(`buildResultTable (${table.rows.length} variants × 5 seeds)`, time(() => buildResultTable(s, experiments[0]), reps), null, table.rows.length);
  raw.close();
  s.close();
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const dir = mkdtempSync(join(tmpdir(), 'ablate-bench-ingest-'));
  try {
    benchIngest(dir, quick ? 50_000 : 300_000);
    // 200 runs × 1500 steps × (3 train + 1/3 valid) names + 8 final ≈ 1.0M rows.
    benchQueries(dir, 200, quick ? 150 : 1500);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
