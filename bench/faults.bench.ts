/**
 * `npm run bench faults [-- --trials N --seed S --only NAME]`: the fault-injection suite. Each fault
 * is injected N times at a random moment (seeded) into real `ablate worker` processes on a real
 * database, then the queue is finished by whatever recovery the product offers (a second worker,
 * `ablate retry`); each trial is judged by:
 *
 * - runs finished: every run `done`;
 * - steps lost: recorded steps at the fault minus the step training resumed from (must be ≤ the
 *   checkpoint interval);
 * - duplicate rows: metric keys or sample rows stored twice;
 * - integrity: PRAGMA integrity_check;
 * - curve identical: the train-loss curve equals an uninterrupted run of the same config.
 *
 * Faults that are not about the engine use the toy run process (test/fixtures/toy-run-process.ts,
 * a linear model over the real protocol: a run in a second); checkpoint corruption uses the real
 * engine (tiny Transformer, wasm) because the checkpoint format is the point. Full disk and a
 * read-only database need `mount -t tmpfs` (root); without it those rows say "skipped".
 * Then the bad-input rows (faults-bad-input.ts): 316 fuzzed specs and 300 malformed WebSocket
 * messages and frames against a real `ablate serve`, in a table of their own.
 * test/faults.test.ts runs one trial of each fault, and a share of each kind of bad input, in `npm test`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canMountTmpfs, fillDisk, withTmpfs } from '../test/support/tmpfs';
import { tempDir, tinySpec, toySpec } from '../test/support/workbench';
import { ablate, markdownTable, peek, sleep, TOY_ENV, until, type Proc } from './faults-cli';
import { badInputTable, runBadInput, type BadInputRow } from './faults-bad-input';
import { Workbench } from '../main/service/workbench';
import type { WorkbenchEvent } from '../contract/api';
import { mulberry32 } from '../experiments/seeding';

export interface TrialResult {
  readonly finished: boolean;
  /** Recorded steps at the fault minus the step training resumed from. */
  readonly stepsLost: number;
  readonly duplicates: number;
  readonly integrity: boolean;
  readonly curveIdentical: boolean;
  /** What went wrong, when something did. */
  readonly problem?: string;
}

export interface Fault {
  readonly name: string;
  readonly engine: 'toy' | 'real';
  /** Checkpoint interval of the runs it trains: the bound on steps lost. */
  readonly interval: number;
  readonly needsMount?: boolean;
  trial(rng: () => number): Promise<TrialResult>;
}

/** The same --seed injects at the same moments. */
export const seeded = mulberry32;

// ---- reading the database ----

const runState = (db: string, id: number) => peek(db, (d) => (d.prepare(`SELECT state FROM runs WHERE id = ?`).get(id) as { state: string } | undefined)?.state);
const recordedStep = (db: string, id: number) => peek(db, (d) => (d.prepare(`SELECT max(step) AS s FROM metrics WHERE run_id = ? AND split = 'train'`).get(id) as { s: number | null }).s ?? 0) ?? 0;
const latestCheckpoint = (db: string, id: number) => peek(db, (d) => d.prepare(`SELECT step, path FROM checkpoints WHERE run_id = ? ORDER BY step DESC LIMIT 1`).get(id) as { step: number; path: string } | undefined);

type Curve = { steps: number[]; values: number[] };

function trainCurve(db: string, id: number): Curve {
  return (
    peek(db, (d) => {
      const rows = d.prepare(`SELECT step, value FROM metrics WHERE run_id = ? AND split = 'train' AND name = 'loss' ORDER BY step`).all(id) as { step: number; value: number }[];
      return { steps: rows.map((r) => r.step), values: rows.map((r) => r.value) };
    }) ?? { steps: [], values: [] }
  );
}

// ---- the reference curves (uninterrupted runs), one per engine, computed once ----

const SPECS = {
  toy: (name: string) => toySpec({ name, steps: 300, checkpointEvery: 20 }),
  real: (name: string) => tinySpec({ name, steps: 60, eval: 20, checkpoint: 20, dropout: 0 }),
};
const INTERVAL = { toy: 20, real: 20 };
const references = new Map<'toy' | 'real', Curve>();

async function referenceCurve(engine: 'toy' | 'real'): Promise<Curve> {
  const cached = references.get(engine);
  if (cached) return cached;
  const dir = tempDir('ablate-faults-ref-');
  const db = join(dir, 'ref.sqlite');
  writeFileSync(join(dir, 'spec.yaml'), SPECS[engine]('reference'));
  const env = engine === 'toy' ? TOY_ENV : {};
  const backend = engine === 'real' ? ['--backend', 'wasm'] : [];
  await ablate(['queue', join(dir, 'spec.yaml'), '--db', db, ...backend], env).done;
  const r = await ablate(['worker', '--db', db], env).done;
  if (r.code !== 0) throw new Error(`reference run failed: ${r.stderr}`);
  const curve = trainCurve(db, 1);
  references.set(engine, curve);
  rmSync(dir, { recursive: true, force: true });
  return curve;
}

/** A queue of one run of the engine's spec in a fresh folder. */
async function freshQueue(engine: 'toy' | 'real', dbDir?: string): Promise<{ dir: string; db: string; env: Record<string, string>; dataDir: string }> {
  const dir = tempDir('ablate-faults-');
  const db = join(dbDir ?? dir, 'faults.sqlite');
  const dataDir = join(dir, 'data');
  writeFileSync(join(dir, 'spec.yaml'), SPECS[engine]('faulted'));
  const env = engine === 'toy' ? TOY_ENV : {};
  const backend = engine === 'real' ? ['--backend', 'wasm'] : [];
  const q = await ablate(['queue', join(dir, 'spec.yaml'), '--db', db, '--data-dir', dataDir, ...backend], env).done;
  if (q.code !== 0) throw new Error(`queue failed: ${q.stderr}`);
  return { dir, db, env, dataDir };
}

type Queue = Awaited<ReturnType<typeof freshQueue>>;

/** Starts `ablate worker` on the queue and resolves once its run has recorded a step. */
async function workerTraining(q: Queue, env: Record<string, string> = q.env): Promise<Proc> {
  const w = ablate(['worker', '--db', q.db, '--data-dir', q.dataDir], env);
  await until(() => runState(q.db, 1) === 'running' && recordedStep(q.db, 1) > 0, 30_000, 'the run to start');
  return w;
}

/** Another worker on the queue, to the end. */
const finishWith = (q: Queue) => ablate(['worker', '--db', q.db, '--data-dir', q.dataDir], q.env).done;

/** Judges a finished trial against the engine's reference curve. */
async function judge(engine: 'toy' | 'real', db: string, atFault: number, resumedFrom: number | null, problem?: string): Promise<TrialResult> {
  const reference = await referenceCurve(engine);
  const curve = trainCurve(db, 1);
  const tolerance = engine === 'toy' ? 0 : 1e-5;
  const curveIdentical =
    curve.steps.length === reference.steps.length &&
    curve.steps.every((s, i) => s === reference.steps[i]) &&
    curve.values.every((v, i) => Math.abs(v - reference.values[i]) <= tolerance * Math.max(1, Math.abs(reference.values[i])));
  const stats = peek(db, (d) => ({
    duplicates:
      (d.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM metrics GROUP BY run_id, split, name, step HAVING count(*) > 1)`).get() as { n: number }).n +
      (d.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM samples GROUP BY run_id, step, source HAVING count(*) > 1)`).get() as { n: number }).n,
    integrity: (d.pragma('integrity_check', { simple: true }) as string) === 'ok',
    finished: (d.prepare(`SELECT count(*) AS n FROM runs WHERE state != 'done'`).get() as { n: number }).n === 0,
  }));
  return {
    finished: stats?.finished ?? false,
    stepsLost: resumedFrom === null ? 0 : Math.max(0, atFault - resumedFrom),
    duplicates: stats?.duplicates ?? -1,
    integrity: stats?.integrity ?? false,
    curveIdentical,
    ...(problem ? { problem } : {}),
  };
}

/** The step training resumed from: the last "resumed from step N" line (a fallback past a corrupt checkpoint says so in a second line). */
const resumedStep = (stderr: string): number | null => {
  const all = [...stderr.matchAll(/resumed from step (\d+)/g)];
  return all.length ? Number(all[all.length - 1][1]) : null;
};

/** The worker's run-process child (the toy or the engine). */
function runProcessOf(workerPid: number): number | undefined {
  try {
    // By its entry file (the toy's or the engine's run-process.ts): the worker may have another child for a moment.
    const pids = execFileSync('pgrep', ['-P', String(workerPid), '-f', 'run-process'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
    return pids[0];
  } catch {
    return undefined;
  }
}

// ---- the faults ----

/** SIGKILL of the worker at a random moment while the run trains; a second worker finishes. */
const workerKill: Fault = {
  name: 'SIGKILL of the worker',
  engine: 'toy',
  interval: INTERVAL.toy,
  async trial(rng) {
    const q = await freshQueue('toy');
    const w = await workerTraining(q);
    await sleep(100 + rng() * 1200);
    w.kill('SIGKILL');
    await w.done;
    const atFault = recordedStep(q.db, 1);
    const again = await finishWith(q);
    return judge('toy', q.db, atFault, resumedStep(again.stderr) ?? 0, again.code === 0 ? undefined : `second worker exited ${again.code}: ${again.stderr.slice(-300)}`);
  },
};

/** SIGKILL of the run process (the out-of-memory killer): the same worker resumes it. */
const runProcessKill: Fault = {
  name: 'SIGKILL of the run process',
  engine: 'toy',
  interval: INTERVAL.toy,
  async trial(rng) {
    const q = await freshQueue('toy');
    const w = await workerTraining(q);
    await sleep(100 + rng() * 1200);
    const pid = runProcessOf(w.pid);
    // Read before the kill: the worker deletes what it will measure again as soon as it resumes.
    const atFault = recordedStep(q.db, 1);
    if (pid) process.kill(pid, 'SIGKILL');
    const r = await w.done;
    const resumed = resumedStep(r.stderr);
    const problem =
      r.code !== 0 || !pid
        ? `worker exited ${r.code}${pid ? '' : ' (no run process found)'}: ${r.stderr.slice(-300)}`
        : resumed === null
          ? `killed at recorded step ${atFault}, not resumed from a checkpoint: ${r.stderr.slice(-300)}`
          : undefined;
    return judge('toy', q.db, atFault, resumed ?? 0, problem);
  },
};

/**
 * The latest checkpoint damaged while no worker runs (SIGTERM at a random moment, which writes a
 * checkpoint at the stop step), then a worker: it must resume from the newest one that verifies.
 */
function checkpointFault(name: string, damage: (path: string) => void, says: RegExp): Fault {
  return {
    name,
    engine: 'real',
    interval: INTERVAL.real,
    async trial(rng) {
      const q = await freshQueue('real');
      const w = ablate(['worker', '--db', q.db, '--data-dir', q.dataDir], q.env);
      // A random step between the first and the second checkpoint (the run's own pace, not wall-clock time).
      const target = INTERVAL.real + 1 + Math.floor(rng() * (INTERVAL.real - 2));
      await until(() => (latestCheckpoint(q.db, 1)?.step ?? 0) >= INTERVAL.real && recordedStep(q.db, 1) >= target, 180_000, `step ${target}`);
      w.kill('SIGTERM');
      await w.done;
      const latest = latestCheckpoint(q.db, 1);
      if (runState(q.db, 1) === 'done' || !latest) return judge('real', q.db, 0, 0, 'the run finished before the fault');
      const atFault = recordedStep(q.db, 1);
      damage(latest.path);
      const again = await finishWith(q);
      const problem = again.code !== 0 ? `worker exited ${again.code}: ${again.stderr.slice(-300)}` : !says.test(again.stderr) ? `the worker did not say which checkpoint it used: ${again.stderr.slice(0, 300)}` : undefined;
      return judge('real', q.db, Math.max(atFault, latest.step), resumedStep(again.stderr) ?? 0, problem);
    },
  };
}

const corrupt = checkpointFault('latest checkpoint corrupted (1 bit per 4 KB)', (path) => {
  const b = readFileSync(path);
  for (let i = 100; i < b.length; i += 4096) b[i] ^= 1 << (i % 8);
  writeFileSync(path, b);
}, /resumed from step \d+ instead: the checkpoint of step \d+ did not verify/);
const truncated = checkpointFault('latest checkpoint truncated', (path) => {
  const b = readFileSync(path);
  writeFileSync(path, b.subarray(0, Math.floor(b.length / 3)));
}, /resumed from step \d+ instead: the checkpoint of step \d+ did not verify/);
/** A clean stop (SIGTERM, as Ctrl-C) between logging steps: the resumed run's curve must be the uninterrupted one, with nothing lost. */
const cleanStop = checkpointFault('SIGTERM of the worker (clean stop)', () => undefined, /resumed from step \d+/);
const deleted = checkpointFault('latest checkpoint deleted', (path) => rmSync(path), /checkpoint file missing: .*; resuming from the previous one/);

/** The checkpoint folder's filesystem fills at a random moment: the run is parked interrupted; once space is back a worker finishes it. */
const fullCheckpointDisk: Fault = {
  name: 'full disk (checkpoints)',
  engine: 'toy',
  interval: INTERVAL.toy,
  needsMount: true,
  async trial(rng) {
    const q = await freshQueue('toy');
    return withTmpfs(q.dataDir, '2m', async () => {
      const w = await workerTraining(q);
      await sleep(rng() * 800);
      const filler = fillDisk(q.dataDir);
      const first = await w.done;
      const atFault = recordedStep(q.db, 1);
      const parked = runState(q.db, 1);
      rmSync(filler);
      const again = await finishWith(q);
      const named = /no space left on device|ENOSPC/i.test(first.stderr);
      const problem =
        parked === 'done'
          ? undefined
          : parked !== 'interrupted'
            ? `run was ${parked} after the disk filled`
            : !named
              ? 'no line naming the full disk'
              : first.code === 0 || first.stderr.includes('queue empty')
                ? 'the first worker claimed an empty queue'
                : again.code !== 0
                  ? `worker exited ${again.code}`
                  : undefined;
      return judge('toy', q.db, atFault, resumedStep(again.stderr) ?? 0, problem);
    });
  },
};

/**
 * The database's filesystem fills: the worker stops with one line (exit 1), no stack, its run
 * marked interrupted while the disk is still full (the reserve beside the database pays for that
 * write); once space is back a worker finishes.
 */
const fullDatabaseDisk: Fault = {
  name: 'full disk (database)',
  engine: 'toy',
  interval: INTERVAL.toy,
  needsMount: true,
  async trial(rng) {
    const dbDir = join(tempDir('ablate-faults-db-'), 'fs');
    return withTmpfs(dbDir, '2m', async () => {
      const q = await freshQueue('toy', dbDir);
      const w = await workerTraining(q);
      await sleep(rng() * 800);
      const filler = fillDisk(dbDir);
      const first = await w.done;
      const atFault = recordedStep(q.db, 1);
      const parked = runState(q.db, 1);
      rmSync(filler);
      const again = await finishWith(q);
      const lines = first.stderr.split('\n').filter((l) => l.includes('cannot write the database'));
      const stack = /\n\s+at /.test(first.stderr);
      const problem =
        first.code === 0
          ? 'worker exited 0 on a full database disk'
          : lines.length !== 1
            ? `${lines.length} lines naming the database`
            : stack
              ? 'stack trace'
              : parked !== 'interrupted'
                ? `the run was ${parked} on the full disk (not interrupted)`
                : again.code !== 0
                  ? `second worker exited ${again.code}: ${again.stderr.slice(-200)}`
                  : undefined;
      return judge('toy', q.db, atFault, resumedStep(again.stderr) ?? 0, problem);
    });
  },
};

/** The database's filesystem is read-only when a worker starts (after a clean stop): one line, no stack; read-write again, a worker finishes. */
const readOnlyDatabase: Fault = {
  name: 'read-only database',
  engine: 'toy',
  interval: INTERVAL.toy,
  needsMount: true,
  async trial(rng) {
    const dbDir = join(tempDir('ablate-faults-ro-'), 'fs');
    return withTmpfs(dbDir, '4m', async () => {
      const q = await freshQueue('toy', dbDir);
      const w = await workerTraining(q);
      await sleep(rng() * 800);
      w.kill('SIGTERM');
      await w.done;
      const atFault = recordedStep(q.db, 1);
      execFileSync('mount', ['-o', 'remount,ro', dbDir]);
      const refused = await finishWith(q);
      execFileSync('mount', ['-o', 'remount,rw', dbDir]);
      const again = await finishWith(q);
      const lines = refused.stderr.trim().split('\n').filter(Boolean);
      const problem =
        refused.code === 0 ? 'worker on a read-only database exited 0' : /\n\s+at /.test(refused.stderr) ? 'stack trace' : lines.length !== 1 ? `${lines.length} lines: ${refused.stderr.slice(0, 300)}` : again.code !== 0 ? `worker exited ${again.code}` : undefined;
      return judge('toy', q.db, atFault, resumedStep(again.stderr) ?? atFault, problem);
    });
  },
};

/** `ablate runs` and `ablate export` read the database again and again while a worker trains. */
const concurrentReaders: Fault = {
  name: 'concurrent CLI readers',
  engine: 'toy',
  interval: INTERVAL.toy,
  async trial() {
    const q = await freshQueue('toy');
    const env = { ...q.env, TOY_STEP_MS: '15' };
    const w = ablate(['worker', '--db', q.db, '--data-dir', q.dataDir], env);
    await until(() => runState(q.db, 1) === 'running', 30_000, 'the run to start');
    const failures: string[] = [];
    let reads = 0;
    while (runState(q.db, 1) === 'running' || reads < 2) {
      const [runs, exp] = await Promise.all([ablate(['runs', '--db', q.db, '--json'], env).done, ablate(['export', '--db', q.db, '--format', 'csv'], env).done]);
      reads += 2;
      if (runs.code !== 0) failures.push(`runs: ${runs.stderr.slice(0, 200)}`);
      if (exp.code !== 0) failures.push(`export: ${exp.stderr.slice(0, 200)}`);
      else if (runs.code === 0) JSON.parse(runs.stdout);
      if (reads > 40) break;
    }
    const r = await w.done;
    return judge('toy', q.db, 0, null, failures.length ? `${failures.length} of ${reads} reads failed: ${failures[0]}` : r.code !== 0 ? `worker exited ${r.code}` : undefined);
  },
};

/** An observer (what `ablate serve` opens) beside a worker: reads live, its pause/resume is carried out by the worker. */
const observerBesideWorker: Fault = {
  name: 'serve beside a worker (observer)',
  engine: 'toy',
  interval: INTERVAL.toy,
  async trial(rng) {
    const q = await freshQueue('toy');
    const env = { ...q.env, TOY_STEP_MS: '20' };
    const w = ablate(['worker', '--db', q.db, '--data-dir', q.dataDir], env);
    await until(() => runState(q.db, 1) === 'running', 30_000, 'the run to start');
    const wb = await Workbench.open({ dbPath: q.db, dataDir: q.dataDir, attach: true });
    const events: WorkbenchEvent[] = [];
    wb.onEvents((b) => events.push(...b));
    let problem: string | undefined;
    try {
      if (!wb.isObserver) problem = 'did not attach as an observer';
      await sleep(300 + rng() * 500);
      await wb.pauseQueue();
      await wb.resumeQueue();
      await until(() => events.some((e) => e.type === 'metrics'), 10_000, 'live metric events').catch(() => (problem ??= 'no live metric events'));
    } finally {
      await wb.close();
    }
    const r = await w.done;
    return judge('toy', q.db, 0, null, problem ?? (r.code !== 0 ? `worker exited ${r.code}` : undefined));
  },
};

export const FAULTS: readonly Fault[] = [workerKill, runProcessKill, cleanStop, corrupt, truncated, deleted, fullCheckpointDisk, fullDatabaseDisk, readOnlyDatabase, concurrentReaders, observerBesideWorker];

export interface FaultRow {
  readonly fault: string;
  readonly trials: number;
  readonly skipped: boolean;
  readonly finished: number;
  readonly maxStepsLost: number;
  readonly interval: number;
  readonly duplicates: number;
  readonly integrity: number;
  readonly identical: number;
  readonly problems: readonly string[];
}

/** Runs `trials` trials of `fault`; a trial that throws counts as failed on every column. */
export async function runFault(fault: Fault, trials: number, rng: () => number): Promise<FaultRow> {
  if (fault.needsMount && !canMountTmpfs()) return { fault: fault.name, trials: 0, skipped: true, finished: 0, maxStepsLost: 0, interval: fault.interval, duplicates: 0, integrity: 0, identical: 0, problems: [] };
  const results: TrialResult[] = [];
  for (let i = 0; i < trials; i++) {
    try {
      results.push(await fault.trial(rng));
    } catch (err) {
      results.push({ finished: false, stepsLost: Number.POSITIVE_INFINITY, duplicates: 0, integrity: false, curveIdentical: false, problem: (err as Error).message });
    }
  }
  return {
    fault: fault.name,
    trials,
    skipped: false,
    finished: results.filter((r) => r.finished && !r.problem).length,
    maxStepsLost: Math.max(0, ...results.map((r) => r.stepsLost)),
    interval: fault.interval,
    duplicates: results.reduce((n, r) => n + Math.max(0, r.duplicates), 0),
    integrity: results.filter((r) => r.integrity).length,
    identical: results.filter((r) => r.curveIdentical).length,
    problems: results.flatMap((r) => (r.problem ? [r.problem] : [])),
  };
}

function table(rows: readonly FaultRow[]): string {
  return markdownTable(
    ['fault', 'trials', 'runs finished', 'recorded steps lost (max / interval)', 'duplicate rows', 'integrity ok', 'curve identical'],
    rows.map((r) =>
      r.skipped
        ? [r.fault, 'skipped (no mount -t tmpfs here)', '', '', '', '', '']
        : [r.fault, String(r.trials), `${r.finished}/${r.trials}`, `${Number.isFinite(r.maxStepsLost) ? r.maxStepsLost : '–'} / ${r.interval}`, String(r.duplicates), `${r.integrity}/${r.trials}`, `${r.identical}/${r.trials}`],
    ),
  );
}

function flag(args: string[], name: string): string | undefined {
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

export async function run(args: string[]): Promise<void> {
  const trials = Number(flag(args, '--trials') ?? process.env.FAULT_TRIALS ?? 5);
  const seed = Number(flag(args, '--seed') ?? 1);
  const only = flag(args, '--only');
  const rng = seeded(seed);
  const rows: FaultRow[] = [];
  for (const fault of FAULTS.filter((f) => !only || f.name.includes(only))) {
    const t0 = Date.now();
    const row = await runFault(fault, trials, rng);
    rows.push(row);
    console.log(`${fault.name}: ${row.skipped ? 'skipped' : `${row.finished}/${row.trials} finished`} (${((Date.now() - t0) / 1000).toFixed(1)} s)${row.problems.length ? `\n  ${row.problems.join('\n  ')}` : ''}`);
  }
  const badInput: BadInputRow[] = await runBadInput(rng, {
    only,
    onRow: (row, seconds) => console.log(`${row.input}: ${row.refused}/${row.cases} refused in one line, ${row.accepted} accepted (${seconds.toFixed(1)} s)${row.problems.length ? `\n  ${row.problems.join('\n  ')}` : ''}`),
  });
  if (rows.length) console.log(`\nfaults, ${trials} trial(s) each, seed ${seed}:\n${table(rows)}`);
  if (badInput.length) console.log(`\nbad input against ablate serve, seed ${seed} (fuzzed specs: their own seed 15):\n${badInputTable(badInput)}`);
}
