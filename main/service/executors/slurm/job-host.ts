/**
 * The pieces of the in-job run host (job-entry.ts) that can be tested without a process around
 * them: where a new attempt resumes from, the events writer, and the command that starts the host.
 *
 * Why a host at all: run-process.ts talks only over a parent channel (fork IPC or Electron's
 * parentPort) and exits without one, so the batch script cannot exec it directly. The script
 * execs job-entry.ts instead — the batch shell's pid becomes the host, so Slurm's USR1 and TERM
 * reach it — and the host forks the unchanged run process, exactly as the local scheduler does
 * (forkSpawner in run-host.ts). If the host is killed (-9), the run process sees its IPC channel
 * close and exits at once (run-process.ts's 'disconnect' handler): nothing outlives the job.
 */
import { closeSync, existsSync, openSync, readdirSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, join, posix, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RUN_PROTOCOL_VERSION, type RunToParent } from '../../../../contract/run-protocol';
import { EVENT_LINE_VERSION } from '../../../../contract/events-line';
import { encodeEventLine, readEventsFrom } from './events-file';

/** The in-job entry, in source form (the cluster runs the project's TypeScript through tsx). */
export const JOB_ENTRY = fileURLToPath(new URL('./job-entry.ts', import.meta.url));
/** Notes the signals that come before job-entry.ts has its handlers (see the file). */
export const JOB_SIGNALS = fileURLToPath(new URL('./job-signals.mjs', import.meta.url));
const SIGNALS_SLOT = Symbol.for('ablate.earlySignals');
/** The signals the host acts on (and the preload notes). */
export const HOST_SIGNALS = ['SIGUSR1', 'SIGTERM', 'SIGINT'] as const;
export type HostSignal = (typeof HOST_SIGNALS)[number];

/** This checkout's root folder (job-entry.ts, job-signals.mjs and tsx are found under it). */
export const PROJECT_ROOT = fileURLToPath(new URL('../../../../', import.meta.url)).replace(/\/$/, '');

/**
 * What the batch script execs: Node with the early-signal preload, then tsx's loader, as absolute
 * URLs (the job's working directory is the run folder, where a bare `--import tsx` would not
 * resolve), and the entry. The project must sit on a filesystem the nodes see, with its
 * node_modules: at this checkout's path, or at `checkout` (a cluster reached over ssh: the same
 * files at another path), run by `node` (default: this Node's path).
 */
export function nodeHostCommand(opts: { node?: string; entry?: string; checkout?: string } = {}): string[] {
  const there = (path: string) => {
    if (!opts.checkout) return path;
    const rel = relative(PROJECT_ROOT, path);
    if (rel.startsWith('..')) throw new Error(`${path} is outside the checkout ${PROJECT_ROOT}: cannot place it under ${opts.checkout}`);
    return posix.join(opts.checkout, rel);
  };
  const tsx = pathToFileURL(there(createRequire(import.meta.url).resolve('tsx'))).href;
  return [opts.node ?? process.execPath, '--import', pathToFileURL(there(JOB_SIGNALS)).href, '--import', tsx, opts.entry ?? there(JOB_ENTRY)];
}

/** What `job-entry.ts --version` prints (one JSON line): the versions of what it reads and writes. */
export interface JobHostVersion {
  readonly ablateJobEntry: 1;
  /** Events line version (contract/events-line.ts) it writes. */
  readonly events: number;
  /** Run protocol version (contract/run-protocol.ts) of job.json and the run process it forks. */
  readonly protocol: number;
}

export const JOB_HOST_VERSION: JobHostVersion = { ablateJobEntry: 1, events: EVENT_LINE_VERSION, protocol: RUN_PROTOCOL_VERSION };

/**
 * The signals job-signals.mjs noted before the host had handlers, oldest first, and its listeners
 * removed: call it right after installing the host's own (in the same tick, so no signal falls
 * between). [] when the preload did not run (the entry started without nodeHostCommand).
 */
export function takeEarlySignals(): HostSignal[] {
  const early = (globalThis as Record<symbol, unknown>)[SIGNALS_SLOT] as { noted: HostSignal[]; note: (s: HostSignal) => void } | undefined;
  if (!early) return [];
  for (const s of HOST_SIGNALS) process.removeListener(s, early.note);
  return early.noted.splice(0);
}

export interface ResumePoint {
  readonly path: string;
  readonly step: number;
}

/**
 * The newest checkpoint recorded by any earlier attempt of this run (its events files in
 * `eventsDir`, `current` excluded) whose file still exists (the run prunes old ones). Null when
 * there is none: the attempt starts from step 0. Torn lines are skipped.
 */
export async function findResumePoint(eventsDir: string, current?: string): Promise<ResumePoint | null> {
  if (!existsSync(eventsDir)) return null;
  let best: ResumePoint | null = null;
  for (const name of readdirSync(eventsDir)) {
    if (!name.endsWith('.jsonl') || (current && name === basename(current))) continue;
    const handle = await open(join(eventsDir, name), 'r');
    try {
      let offset = 0;
      for (;;) {
        const r = await readEventsFrom(handle, offset, { final: true });
        for (const { line } of r.lines) {
          const m = line.msg;
          if (m.type === 'checkpoint' && (!best || m.step > best.step) && existsSync(m.path)) best = { path: m.path, step: m.step };
        }
        offset = r.nextOffset;
        if (!r.more) break;
      }
    } finally {
      await handle.close();
    }
  }
  // A checkpoint listed by an older attempt may have been pruned by a later one: re-check.
  return best && existsSync(best.path) ? best : null;
}

/** Appends events to one attempt's file: one write per line, synchronously (ordered, on disk before exit). */
export class EventsWriter {
  private readonly fd: number;
  private seq: number;

  /** `startSeq`: lines already in the file (a writer reopened on the same attempt continues the count). */
  constructor(readonly path: string, startSeq = 0) {
    this.fd = openSync(path, 'a');
    this.seq = startSeq;
  }

  write(msg: RunToParent): void {
    writeSync(this.fd, encodeEventLine({ v: 1, seq: this.seq++, time: Date.now(), msg }));
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Number of whole lines already in `path` (0 when it does not exist). */
export async function countLines(path: string): Promise<number> {
  if (!existsSync(path)) return 0;
  const handle = await open(path, 'r');
  try {
    let n = 0;
    let offset = 0;
    for (;;) {
      const r = await readEventsFrom(handle, offset);
      n += r.lines.length + r.torn.length;
      offset = r.nextOffset;
      if (!r.more) return n;
    }
  } finally {
    await handle.close();
  }
}
