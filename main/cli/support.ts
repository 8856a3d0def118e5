/**
 * What the queue-running commands (`run`, `queue`, `worker`, `runs`, `export`, `translate`) share:
 * option parsing with one-line errors, the database and data-dir defaults, the runs-as-JSON shape
 * of the CLI contract, and the live progress display (cli-progress bars on a TTY, plain periodic
 * lines otherwise) — all on stderr, so stdout carries only the result.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { RunRow } from '../../contract/rows';
import { FINAL_METRICS } from '../../contract/metrics';
import { BACKENDS, type BackendName } from '../../contract/backends';
import { PRESETS } from '../../experiments/presets';
import type { WorkbenchEvent } from '../../contract/api';
import { UserError } from '../../contract/errors';
import { runLabel } from '../service/scheduler';
import { defaultDataDir, Workbench } from '../service/workbench';

export const DEFAULT_DB = 'ablate.sqlite';

export interface DbOptions {
  db: string;
  dataDir?: string;
}

export function addDbOptions(cmd: Command): Command {
  return cmd
    .option('--db <file>', 'workbench database (SQLite)', DEFAULT_DB)
    .option('--data-dir <dir>', 'checkpoints and data caches (default: .ablate/ next to the database)');
}

let lastDb: string | undefined;

/** The database the running command opened (names the file in a SQLite error's one line). */
export function currentDb(): string | undefined {
  return lastDb;
}

export function resolveDb(opts: DbOptions, mustExist: boolean): { dbPath: string; dataDir: string } {
  const dbPath = resolve(opts.db);
  lastDb = opts.db;
  if (mustExist && !existsSync(dbPath)) throw new UserError(`--db ${opts.db}: no such database (create one with \`ablate run\` or \`ablate queue\`)`);
  if (existsSync(dbPath) && statSync(dbPath).isDirectory()) throw new UserError(`--db ${opts.db}: is a folder; name the database file (e.g. ${join(opts.db, DEFAULT_DB)})`);
  return { dbPath, dataDir: resolve(opts.dataDir ?? defaultDataDir(dbPath)) };
}

/**
 * The workbench on an existing database for commands that only read (runs, export, translate): no
 * scheduler, no worker lock, so it never touches a queue another process is working on.
 */
export async function openReader(opts: DbOptions): Promise<Workbench> {
  const { dbPath, dataDir } = resolveDb(opts, true);
  return Workbench.open({ dbPath, dataDir, autoStart: false });
}

export function parseSlots(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--slots: expected a positive integer, got "${value}"`);
  return n;
}

/** The --backend option's help: every name a run can ask for (contract/backends.ts). */
export const BACKEND_HELP = `backend for the runs (${BACKENDS.join(', ')}; default auto)`;

/** The spec argument's help: a file or one of the presets shipped (experiments/presets). */
export const SPEC_HELP = `spec file (YAML/JSON) or preset name (${PRESETS.map((p) => p.name).join(', ')})`;

export function parseBackend(value: string | undefined): BackendName | undefined {
  if (value === undefined) return undefined;
  if (!(BACKENDS as readonly string[]).includes(value)) throw new UserError(`--backend: expected one of ${BACKENDS.join(', ')}, got "${value}"`);
  return value as BackendName;
}

export function parsePositiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag}: expected a positive integer, got "${value}"`);
  return n;
}

/** The CLI contract's run object (`ablate run --json`, `ablate runs --json`); keep field names stable. */
export function runJson(run: RunRow) {
  const metrics: Record<string, number | null> = {};
  for (const name of FINAL_METRICS) {
    const v = run.metrics[name];
    // JSON has no NaN/Infinity: a missing or non-finite metric is null.
    metrics[name] = typeof v === 'number' && Number.isFinite(v) ? v : null;
  }
  return {
    id: run.id,
    experiment: run.experiment,
    variant: run.variant,
    seed: run.seed,
    state: run.state,
    backend: run.backend,
    config_hash: run.configHash,
    step: run.step,
    total_steps: run.totalSteps,
    error: run.error,
    metrics,
    ...(run.cluster ? { cluster: run.cluster } : {}),
  };
}

const fmt = (v: number | undefined, digits: number) => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

function etaText(s: number | null): string {
  if (s === null) return '?';
  if (s < 90) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/** A progress bar's fields; the time left is `left` (cli-progress owns the name `eta`). */
export function progressPayload(label: string, loss: number, etaSeconds: number | null): { label: string; loss: string; left: string } {
  return { label, loss: fmt(loss, 3), left: etaText(etaSeconds) };
}

/** The line `ablate run` ends with: how to see the curves of what it trained. */
export function curvesHint(db: string): string {
  const flag = db === DEFAULT_DB ? '' : ` --db ${/^[\w./-]+$/.test(db) ? db : JSON.stringify(db)}`;
  return `see the curves: npx ablate serve${flag}   (then open http://127.0.0.1:8737/)`;
}

/**
 * Shows the workbench's progress on stderr until the returned function is called: a bar per run
 * (step, loss, ETA) on a terminal, a line per run every `intervalMs` otherwise, and one line when
 * a run ends.
 */
export function showProgress(wb: Workbench, opts: { intervalMs?: number } = {}): { log: (line: string) => void; stop: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  const intervalMs = opts.intervalMs ?? 10_000;
  const multibar = tty
    ? new cliProgress.MultiBar(
        // `{left}`, not `{eta}`: cli-progress fills its own `eta` (seconds, NULL at first) over a payload of that name.
        { stream: process.stderr, format: ' {label} |{bar}| {value}/{total} steps | loss {loss} | ETA {left}', hideCursor: true, clearOnComplete: false, stopOnComplete: false, barsize: 24 },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const bars = new Map<number, cliProgress.SingleBar>();
  const lastLine = new Map<number, number>();
  const finished = new Set<number>();
  const labels = new Map<number, string>();
  const log = (line: string) => {
    if (multibar) multibar.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  };
  const label = (id: number) => {
    if (!labels.has(id)) {
      const run = wb.runRow(id);
      labels.set(id, run ? runLabel(run) : `run ${id}`);
    }
    return labels.get(id) as string;
  };
  const onEvent = (e: WorkbenchEvent) => {
    if (e.type === 'progress') {
      if (finished.has(e.runId)) return;
      const payload = progressPayload(label(e.runId), e.loss, e.etaSeconds);
      if (multibar) {
        let bar = bars.get(e.runId);
        if (!bar) {
          bar = multibar.create(e.totalSteps, e.step, payload);
          bars.set(e.runId, bar);
        }
        bar.setTotal(e.totalSteps);
        bar.update(e.step, payload);
      } else {
        const now = Date.now();
        if (now - (lastLine.get(e.runId) ?? 0) >= intervalMs) {
          lastLine.set(e.runId, now);
          log(`${payload.label}: step ${e.step}/${e.totalSteps} loss ${payload.loss} ${Math.round(e.tokensPerSecond)} tok/s ETA ${payload.left}`);
        }
      }
    } else if (e.type === 'runs-changed') {
      for (const run of e.runs) {
        if (run.state === 'running') {
          finished.delete(run.id);
          continue;
        }
        if (finished.has(run.id) || !bars.has(run.id) && !lastLine.has(run.id) && run.state === 'queued') continue;
        if (run.state === 'done' || run.state === 'failed' || run.state === 'cancelled') {
          finished.add(run.id);
          bars.get(run.id)?.update(run.step);
          bars.get(run.id)?.stop();
          const m = run.metrics;
          if (run.state === 'done') log(`${runLabel(run)} done: valid ppl ${fmt(m.valid_ppl, 2)}, valid BLEU ${fmt(m.valid_bleu, 2)}${m.test_bleu !== undefined ? `, test BLEU ${fmt(m.test_bleu, 2)}` : ''}, ${fmt(m.train_seconds, 1)} s`);
          else if (run.state === 'failed') log(`${runLabel(run)} failed: ${run.error ?? 'unknown reason'}`);
          else log(`${runLabel(run)} cancelled`);
        }
      }
    }
  };
  const off = wb.onEvents((events) => events.forEach(onEvent));
  return {
    log,
    stop: () => {
      off();
      // MultiBar.log only buffers until the next redraw and stop() does not flush: redraw once so
      // the last run's "done" line is printed.
      multibar?.update();
      multibar?.stop();
    },
  };
}

/** Ctrl-C / SIGTERM: stop runs gracefully (they become interrupted and resume with `ablate worker`), then exit. */
export function stopOnSignal(wb: Workbench, log: (line: string) => void): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping; interrupted runs resume with \`ablate worker\``);
    void wb.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
