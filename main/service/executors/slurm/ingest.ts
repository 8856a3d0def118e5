/**
 * Ingest of a cluster run's events files into the database. Each file (one per attempt) is read
 * from the byte offset saved for it, whole lines only, and the rows those lines mean are committed
 * together with the new offset in ONE transaction: a desktop that dies mid-ingest either committed
 * both or neither, so a restart reads on from the saved offset without losing or doubling a line.
 *
 * Every row is idempotent, so reading a file again from 0 changes nothing:
 * - metrics: keyed (run, split, name, step), written with INSERT OR REPLACE (a later attempt redoes
 *   the steps after its checkpoint: the same keys, the later attempt's values);
 * - samples and logs: `event_key` = `<file>#<seq>[#i]`, INSERT OR IGNORE;
 * - checkpoints: (run, step), INSERT OR IGNORE at the line's time;
 * - final metrics: at the `done` line's time (not the time of ingest);
 * - `ready` of a resumed attempt drops what lies after its start step, as the local scheduler does
 *   on a resume: replaying the attempts in order gives the same rows as the live ingest did.
 */
import { existsSync, readdirSync } from 'node:fs';
import { posix } from 'node:path';
import type { Store } from '../../../../db/store';
import type { EventLine } from '../../../../contract/events-line';
import type { MetricPoint, RunToParent } from '../../../../contract/run-protocol';
import { readEventsFrom } from './events-file';
import { localEventsSource, type EventsSource } from './events-source';
import { parseAttemptFileName } from './sbatch';

export interface IngestOptions {
  /** Start here instead of the saved offset (0: read the whole file again). */
  readonly fromOffset?: number;
  /** The attempt is over: an unterminated last line is consumed (see readEventsFrom). */
  readonly final?: boolean;
  /** Called for every message, inside the transaction that records its rows, in file order. */
  readonly forward?: (msg: RunToParent, line: EventLine) => void;
  /** Bytes per transaction (default 16 MiB). */
  readonly maxBytes?: number;
  /** Where the file is read (default this machine's filesystem; shellEventsSource: over ssh). */
  readonly source?: EventsSource;
}

export interface IngestResult {
  readonly lines: number;
  /** Metric points written. */
  readonly points: number;
  readonly torn: number;
  readonly offset: number;
  /** The last done/failed/stopped message read in this call, if any. */
  readonly terminal: Extract<RunToParent, { type: 'done' | 'failed' | 'stopped' }> | null;
  /** The time its line was written (null without one). */
  readonly terminalTime: number | null;
  /** The highest step a line of this call named. */
  readonly lastStep: number | null;
}

/** The events files of a run folder's attempts, oldest first (submission, then requeue count). */
export function attemptFiles(eventsDir: string, submissionId?: string): string[] {
  return existsSync(eventsDir) ? orderAttemptFiles(eventsDir, readdirSync(eventsDir), submissionId) : [];
}

/** attemptFiles, with the folder listed through `source` (over ssh from a desktop). */
export async function listAttemptFiles(source: EventsSource, eventsDir: string, submissionId?: string): Promise<string[]> {
  return orderAttemptFiles(eventsDir, await source.list(eventsDir), submissionId);
}

/** The attempt files among `names` (of `eventsDir`), as paths, oldest first; other names are left out. */
function orderAttemptFiles(eventsDir: string, names: readonly string[], submissionId?: string): string[] {
  return names
    .map((name) => ({ name, a: parseAttemptFileName(name) }))
    .filter((f): f is { name: string; a: NonNullable<typeof f.a> } => f.a !== null && (!submissionId || f.a.submissionId === submissionId))
    .sort((x, y) => (x.a.submissionId < y.a.submissionId ? -1 : x.a.submissionId > y.a.submissionId ? 1 : x.a.restarts - y.a.restarts || x.a.arrayJobId - y.a.arrayJobId))
    .map((f) => posix.join(eventsDir, f.name));
}

const byKey = (a: MetricPoint, b: MetricPoint): number => (a.split < b.split ? -1 : a.split > b.split ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : a.step - b.step);

/** Reads `path` from its saved offset to its end and records it (rows + offset per transaction). */
export async function ingestFile(store: Store, runId: number, path: string, opts: IngestOptions = {}): Promise<IngestResult> {
  const key = posix.basename(path);
  let offset = opts.fromOffset ?? store.ingestOffset(path);
  let lines = 0;
  let points = 0;
  let torn = 0;
  let terminal: IngestResult['terminal'] = null;
  let terminalTime: number | null = null;
  let lastStep: number | null = null;
  const handle = await (opts.source ?? localEventsSource).open(path);
  try {
    for (;;) {
      const r = await readEventsFrom(handle, offset, { final: opts.final, maxBytes: opts.maxBytes });
      if (r.nextOffset === offset && !r.lines.length && !r.torn.length) break;
      store.transaction(() => {
        let pending: MetricPoint[] = [];
        const flushPoints = () => {
          if (!pending.length) return;
          pending.sort(byKey);
          store.insertMetrics(runId, pending);
          points += pending.length;
          pending = [];
        };
        for (const t of r.torn) store.addLogKeyed(runId, Date.now(), 'warn', `events file ${key}: unreadable line at byte ${t.offset} passed over (${t.error}): ${t.head}`, `${key}@${t.offset}`);
        for (const { line } of r.lines) {
          const m = line.msg;
          const seqKey = `${key}#${line.seq}`;
          if ('step' in m && typeof m.step === 'number') lastStep = Math.max(lastStep ?? m.step, m.step);
          switch (m.type) {
            case 'ready':
              flushPoints();
              store.deleteMetricsAfter(runId, m.startStep);
              break;
            case 'metrics':
              for (const p of m.points) pending.push(p);
              break;
            case 'samples':
              store.addSamplesKeyed(runId, m.step, m.samples, seqKey);
              break;
            case 'hypotheses':
              store.setHypotheses(runId, m.split, m.step, m.hypotheses, m.references);
              break;
            case 'checkpoint':
              flushPoints();
              store.addCheckpointOnce(runId, m.step, m.path, line.time);
              break;
            case 'log':
              store.addLogKeyed(runId, line.time, m.level, m.text, seqKey);
              break;
            case 'failed':
              store.addLogKeyed(runId, line.time, 'error', `attempt ${key.replace(/\.jsonl$/, '')} failed (${m.kind}) at step ${m.step}: ${m.reason}`, seqKey);
              terminal = m;
              terminalTime = line.time;
              break;
            case 'done':
            case 'stopped':
              terminal = m;
              terminalTime = line.time;
              break;
            default:
              break;
          }
          // After this line's own rows: the recorder's rows for it (final metrics stamped at ingest
          // time) are replaced by the line's below, so live and replayed ingest agree.
          opts.forward?.(m, line);
          if (m.type === 'done') points += writeFinals(store, runId, m, line.time);
        }
        flushPoints();
        store.setIngestOffset(runId, path, r.nextOffset);
      });
      lines += r.lines.length;
      torn += r.torn.length;
      offset = r.nextOffset;
      if (!r.more) break;
    }
  } finally {
    await handle.close();
  }
  return { lines, points, torn, offset, terminal, terminalTime, lastStep };
}

/** A `done` line's final metrics, stamped with the time the job wrote it (so every ingest writes the same rows). */
export function writeFinals(store: Store, runId: number, m: Extract<RunToParent, { type: 'done' }>, time: number): number {
  const finals = Object.entries(m.metrics)
    .filter(([, v]) => typeof v === 'number')
    .map(([name, value]) => ({ split: 'final' as const, name, step: m.step, value: value as number, time }));
  store.insertMetrics(runId, finals);
  return finals.length;
}

/** Records every attempt of a run folder again from offset 0, oldest first (idempotent: changes nothing already recorded). */
export async function reingestRun(store: Store, runId: number, eventsDir: string, source: EventsSource = localEventsSource, onFile?: (path: string, r: IngestResult) => void): Promise<number> {
  let lines = 0;
  for (const path of await listAttemptFiles(source, eventsDir)) {
    const r = await ingestFile(store, runId, path, { fromOffset: 0, final: false, source });
    onFile?.(path, r);
    lines += r.lines;
  }
  return lines;
}

/** The last done/failed/stopped line of an events file (null when it has none, or, on this machine, when it does not exist). */
export async function lastTerminal(path: string, source: EventsSource = localEventsSource): Promise<{ msg: NonNullable<IngestResult['terminal']>; time: number } | null> {
  if (source === localEventsSource && !existsSync(path)) return null;
  const handle = await source.open(path);
  let terminal: { msg: NonNullable<IngestResult['terminal']>; time: number } | null = null;
  try {
    let offset = 0;
    for (;;) {
      const r = await readEventsFrom(handle, offset, { final: true });
      for (const { line } of r.lines) if (line.msg.type === 'done' || line.msg.type === 'failed' || line.msg.type === 'stopped') terminal = { msg: line.msg, time: line.time };
      offset = r.nextOffset;
      if (!r.more) break;
    }
  } finally {
    await handle.close();
  }
  return terminal;
}
