/** Deleting and archiving runs and experiments (issue 13): every row of a deleted run goes, nothing else moves. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type NewRun, type Store } from './store';
import { MIGRATIONS } from './migrations';
import { tempDir } from '../test/support/workbench';

let store: Store | undefined;
afterEach(() => {
  store?.close();
  store = undefined;
});

const newRun = (variant: string, seed: number): NewRun => ({ variant, seed, config: { variant, seed, changes: {} }, configHash: `${variant}-${seed}`, backendRequested: 'auto', totalSteps: 100 });

/** Tables holding rows of a run, keyed by run_id. */
const RUN_TABLES = ['metrics', 'checkpoints', 'samples', 'logs', 'hypotheses', 'experiment_runs', 'run_executors', 'ingest_offsets'] as const;

/** Two experiments; every run has a row in every run table; run 4 (exp b) is reused by exp a. */
function seeded(): { s: Store; file: string; a: number; b: number; runs: number[] } {
  const file = join(tempDir('ablate-delete-'), 'wb.sqlite');
  const s = (store = openStore(file));
  const a = s.upsertExperiment('a', {}, null).id;
  const b = s.upsertExperiment('b', {}, null).id;
  const runs = [...s.insertRuns(a, [newRun('base', 1), newRun('base', 2), newRun('h=1', 1)]), ...s.insertRuns(b, [newRun('base', 9)])];
  for (const id of runs) {
    s.updateRun(id, { state: 'done', checkpointDir: `/ckpt/run-${id}` });
    s.insertMetrics(id, [1, 2, 3].map((step) => ({ split: 'train' as const, name: 'loss', step, value: id + step, time: step })));
    s.insertMetrics(id, [{ split: 'final', name: 'valid_bleu', step: 3, value: 10 * id, time: 3 }]);
    s.addCheckpoint(id, 3, `/ckpt/run-${id}/step-3.ckpt`);
    s.addSamples(id, 3, [{ source: 's', reference: 'r', hypothesis: 'h' }]);
    s.addLog(id, 'info', `run ${id}`);
    s.setHypotheses(id, 'test', 3, ['h1', 'h2'], ['r1', 'r2']);
    s.setRunExecutor(id, 'slurm', { clusterRoot: '/cluster' }, `key-${id}`);
    s.setIngestOffset(id, `/cluster/run-${id}.events`, 10);
  }
  s.linkRuns(a, [{ runId: runs[3], variant: 'reused' }]);
  return { s, file, a, b, runs };
}

/** Row counts per run table for each run, read on a second connection. */
function counts(file: string, runIds: readonly number[]): Record<string, number[]> {
  const raw = new Database(file, { readonly: true });
  try {
    return Object.fromEntries(RUN_TABLES.map((t) => [t, runIds.map((id) => (raw.prepare(`SELECT count(*) AS n FROM ${t} WHERE run_id = ?`).get(id) as { n: number }).n)]));
  } finally {
    raw.close();
  }
}

function foreignKeyProblems(file: string): unknown[] {
  const raw = new Database(file, { readonly: true });
  try {
    return raw.pragma('foreign_key_check') as unknown[];
  } finally {
    raw.close();
  }
}

describe('deleting runs', () => {
  it('removes every row of the deleted run and leaves the other runs exactly as they were', () => {
    const { s, file, runs } = seeded();
    const others = runs.filter((id) => id !== runs[1]);
    const before = counts(file, others);
    const othersBefore = others.map((id) => ({ run: s.getRun(id), metrics: s.getMetrics({ runIds: [id] }) }));
    const plan = s.deleteRuns({ runIds: [runs[1]] });
    expect(plan.runs.map((r) => r.id)).toEqual([runs[1]]);
    expect(plan.metricPoints).toBe(4);
    expect(plan.hypotheses).toBe(2);
    expect(plan.checkpointDirs).toEqual([`/ckpt/run-${runs[1]}`]);
    expect(s.getRun(runs[1])).toBeUndefined();
    expect(Object.values(counts(file, [runs[1]])).flat()).toEqual(RUN_TABLES.map(() => 0));
    expect(counts(file, others)).toEqual(before);
    expect(others.map((id) => ({ run: s.getRun(id), metrics: s.getMetrics({ runIds: [id] }) }))).toEqual(othersBefore);
    expect(s.integrityCheck()).toBe('ok');
    expect(foreignKeyProblems(file)).toEqual([]);
  });

  it('deletes an experiment with its runs and links, keeping a run it reused from another experiment', () => {
    const { s, file, a, b, runs } = seeded();
    const plan = s.planDeletion({ experimentId: a });
    expect(plan.experiment).toEqual({ id: a, name: 'a' });
    expect(plan.runs.map((r) => r.id)).toEqual(runs.slice(0, 3));
    s.deleteRuns({ experimentId: a });
    expect(s.listExperiments().map((e) => e.name)).toEqual(['b']);
    expect(s.listRuns().map((r) => r.id)).toEqual([runs[3]]);
    expect(s.listLinkedRuns(a)).toEqual([]);
    expect(counts(file, [runs[3]]).metrics).toEqual([4]);
    expect(s.listRuns({ experimentId: b })[0].metrics).toEqual({ valid_bleu: 40 });
    expect(s.integrityCheck()).toBe('ok');
    expect(foreignKeyProblems(file)).toEqual([]);
  });

  it('names the experiments whose tables reuse a run that is about to go', () => {
    const { s, runs } = seeded();
    expect(s.planDeletion({ runIds: [runs[3]] }).reusedBy).toEqual([{ runId: runs[3], experiment: 'a' }]);
  });

  it('refuses a queued or running run in one line naming it, and deletes nothing of the selection', () => {
    const { s, file, runs } = seeded();
    s.updateRun(runs[0], { state: 'running' });
    s.updateRun(runs[2], { state: 'queued' });
    const before = counts(file, runs);
    expect(() => s.deleteRuns({ runIds: [runs[0], runs[1], runs[2]] })).toThrow(`cannot delete: run ${runs[0]} (base, seed 1) is running, run ${runs[2]} (h=1, seed 1) is queued; cancel them first`);
    expect(() => s.planDeletion({ experimentId: 1 })).toThrow(/^cannot delete: run \d+ \(base, seed 1\) is running, run \d+ \(h=1, seed 1\) is queued; cancel them first$/);
    expect(counts(file, runs)).toEqual(before);
    s.updateRun(runs[1], { state: 'interrupted' });
    expect(() => s.deleteRuns({ runIds: [runs[1]] })).toThrow(`cannot delete: run ${runs[1]} (base, seed 2) is interrupted on Slurm (its job may still run); cancel it first`);
  });

  it('deletes an interrupted local run (nothing trains it until a scheduler resumes it)', () => {
    const file = join(tempDir('ablate-delete-'), 'wb.sqlite');
    const s = (store = openStore(file));
    const [id] = s.insertRuns(s.upsertExperiment('a', {}, null).id, [newRun('base', 1)]);
    s.updateRun(id, { state: 'interrupted' });
    s.deleteRuns({ runIds: [id] });
    expect(s.listRuns()).toEqual([]);
  });

  it('names a run or an experiment that does not exist', () => {
    const { s } = seeded();
    expect(() => s.deleteRuns({ runIds: [77, 78] })).toThrow('runs 77, 78 do not exist');
    expect(() => s.deleteRuns({ experimentId: 9 })).toThrow('experiment 9 does not exist');
  });
});

describe('archiving', () => {
  it('flags runs and keeps every row; unarchiving clears the flag', () => {
    const { s, file, runs } = seeded();
    const before = counts(file, runs);
    expect(s.setArchived({ runIds: [runs[0]] }, true)).toEqual([runs[0]]);
    expect(s.getRun(runs[0])!.archivedAt).toBeGreaterThan(0);
    expect(s.getRun(runs[1])!.archivedAt).toBeNull();
    expect(counts(file, runs)).toEqual(before);
    expect(s.setArchived({ runIds: [runs[0]] }, true)).toEqual([]); // already archived
    expect(s.setArchived({ runIds: [runs[0]] }, false)).toEqual([runs[0]]);
    expect(s.getRun(runs[0])!.archivedAt).toBeNull();
  });

  it('archives an experiment with its runs; unarchiving it brings every run back, and unarchiving one run brings its experiment back', () => {
    const { s, a, runs } = seeded();
    s.setArchived({ experimentId: a }, true);
    expect(s.getExperiment(a)!.archivedAt).toBeGreaterThan(0);
    expect(runs.slice(0, 3).map((id) => s.getRun(id)!.archivedAt! > 0)).toEqual([true, true, true]);
    expect(s.getRun(runs[3])!.archivedAt).toBeNull(); // the reused run belongs to b
    s.setArchived({ runIds: [runs[1]] }, false);
    expect(s.getExperiment(a)!.archivedAt).toBeNull();
    expect(s.getRun(runs[0])!.archivedAt).toBeGreaterThan(0);
    s.setArchived({ experimentId: a }, false);
    expect(runs.map((id) => s.getRun(id)!.archivedAt)).toEqual([null, null, null, null]);
  });

  it('refuses to archive a running run', () => {
    const { s, runs } = seeded();
    s.updateRun(runs[2], { state: 'running' });
    expect(() => s.setArchived({ runIds: [runs[2]] }, true)).toThrow(`cannot archive: run ${runs[2]} (h=1, seed 1) is running; cancel it first`);
    expect(s.getRun(runs[2])!.archivedAt).toBeNull();
  });
});

describe('migration 6', () => {
  it('keeps commands written before it and accepts the delete, archive and unarchive commands', () => {
    const file = join(tempDir('ablate-delete-'), 'v5.sqlite');
    const v5 = openStore(file, { migrations: MIGRATIONS.slice(0, 5) });
    const id = v5.addCommand({ kind: 'pause' });
    expect(() => v5.addCommand({ kind: 'delete', arg: '{"runIds":[1]}' })).toThrow(/CHECK/);
    v5.close();
    const s = (store = openStore(file));
    expect(s.getCommand(id)).toMatchObject({ kind: 'pause', doneAt: null });
    for (const kind of ['delete', 'archive', 'unarchive'] as const) expect(s.getCommand(s.addCommand({ kind, arg: '{"experimentId":1}' }))?.kind).toBe(kind);
    expect(s.pendingCommands().map((c) => c.kind)).toEqual(['pause', 'delete', 'archive', 'unarchive']);
    expect(s.integrityCheck()).toBe('ok');
  });
});
