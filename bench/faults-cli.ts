/**
 * Driving real `ablate` processes for the fault suite (faults.bench.ts, faults-bad-input.ts): spawn
 * one and collect its output, wait for a condition on the database, read the database without
 * taking part in it, print a table of results.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, TOY_ENTRY } from '../test/support/workbench';

export interface ProcEnd {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Proc {
  readonly pid: number;
  readonly done: Promise<ProcEnd>;
  /** What it printed so far. */
  output(): { stdout: string; stderr: string };
  /** Whether it has exited. */
  exited(): boolean;
  kill(signal: NodeJS.Signals): void;
}

export function ablate(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [join(ROOT, 'bin/ablate.mjs'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<ProcEnd>((resolve) =>
    child.on('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal, stdout, stderr });
    }),
  );
  return { pid: child.pid!, done, output: () => ({ stdout, stderr }), exited: () => exited, kill: (s) => void child.kill(s) };
}

/** Run processes of the toy model (test/fixtures/toy-run-process.ts): a run in a second. */
export const TOY_ENV = { ABLATE_RUN_PROCESS: TOY_ENTRY, TOY_STEP_MS: '5' };
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Reads the database without taking part in it (a fresh read-only connection per call). */
export function peek<T>(db: string, fn: (d: Database.Database) => T): T | undefined {
  if (!existsSync(db)) return undefined;
  let d: Database.Database | undefined;
  try {
    d = new Database(db, { readonly: true, fileMustExist: true });
    d.pragma('busy_timeout = 2000');
    return fn(d);
  } catch {
    return undefined;
  } finally {
    d?.close();
  }
}

/** A Markdown table with padded columns (the bench's output, pasted into the README as it is). */
export function markdownTable(head: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
