/**
 * Where a cluster run's events files are read from: this machine's filesystem (the cluster root is
 * mounted here: a login node, or a desktop with the shared filesystem), or through the shell seam
 * (shell.ts) — over ssh with one ControlMaster connection from a desktop that reaches only a login
 * node. Ingest (ingest.ts) reads either one the same way: whole lines from the saved byte offset
 * (readEventsFrom), rows and new offset committed in one transaction.
 *
 * Through a shell, a read of `length` bytes at `position` is one command,
 *   sh -c 'tail -c +"$1" -- "$2" | head -c "$3"' sh POSITION+1 FILE LENGTH
 * (POSIX tail, and head -c of GNU/BSD/busybox), its stdout taken as bytes: a range may end inside a
 * multi-byte character, and offsets are byte offsets. The file name travels as a positional
 * parameter, never inside the script, so no name is ever interpreted by the remote shell.
 */
import { existsSync, readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { UserError } from '../../../../contract/errors';
import type { ReadableHandle } from './events-file';
import type { Shell } from './shell';

/** An events file opened for reading: what readEventsFrom reads through, and its close. */
export interface EventsFileHandle extends ReadableHandle {
  close(): Promise<void>;
}

export interface EventsSource {
  /** For messages: `this machine` or `ssh user@host`. */
  readonly where: string;
  open(path: string): Promise<EventsFileHandle>;
  /** The names of the entries of `dir`; [] while it does not exist (no attempt has started yet). */
  list(dir: string): Promise<string[]>;
}

/** Events files on this machine's filesystem. */
export const localEventsSource: EventsSource = {
  where: 'this machine',
  open: (path) => open(path, 'r'),
  list: async (dir) => (existsSync(dir) ? readdirSync(dir) : []),
};

/** Exit status of the range script for a file it cannot read (sysexits' EX_NOINPUT). */
const NO_INPUT = 66;

/** The argv that prints bytes [position, position + length) of `path` (fewer where the file ends first). */
export function readRangeArgv(path: string, position: number, length: number): string[] {
  if (!Number.isSafeInteger(position) || position < 0) throw new Error(`byte position must be a non-negative integer, got ${position}`);
  if (!Number.isSafeInteger(length) || length < 1) throw new Error(`byte count must be a positive integer, got ${length}`);
  // `test -r` first: tail's own "cannot open" would be lost, as the pipeline's status is head's.
  const script = `test -r "$2" || { echo "cannot read $2" >&2; exit ${NO_INPUT}; }; tail -c +"$1" -- "$2" | head -c "$3"`;
  return ['sh', '-c', script, 'sh', String(position + 1), path, String(length)];
}

/** The argv that lists the names in `dir`, one per line (nothing while it does not exist). */
export function listArgv(dir: string): string[] {
  return ['sh', '-c', 'test -d "$1" || exit 0; ls -1A -- "$1"', 'sh', dir];
}

/**
 * One events file read through `shell`, for one ingest pass. A read that returns fewer bytes than
 * asked marks the end of the file: reads from there answer 0 bytes without another command, so a
 * file that grew by less than a chunk since the saved offset costs one round trip; what is
 * appended after that is read by the next pass (a new handle).
 */
class ShellEventsFile implements EventsFileHandle {
  private end = Number.POSITIVE_INFINITY;

  constructor(
    private readonly shell: Shell,
    private readonly path: string,
  ) {}

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    if (position >= this.end || length === 0) return { bytesRead: 0 };
    const r = await this.shell.run(readRangeArgv(this.path, position, length), { timeoutMs: 60_000 });
    if (r.code !== 0) throw new UserError(`cannot read the events file ${this.path} over ${this.shell.where}: ${r.stderr.trim().split('\n').pop() || `exit status ${r.code}`}`);
    if (!r.stdoutBytes) throw new Error(`the shell for ${this.shell.where} returns no stdout bytes: events files cannot be read through it`);
    const n = Math.min(r.stdoutBytes.length, length);
    r.stdoutBytes.copy(buffer, offset, 0, n);
    if (n < length) this.end = position + n;
    return { bytesRead: n };
  }

  async close(): Promise<void> {
    // Nothing is held open on the remote side: every read is its own command.
  }
}

/** Events files read through `shell` (a login node's filesystem, seen from a desktop over ssh). */
export function shellEventsSource(shell: Shell): EventsSource {
  return {
    where: shell.where,
    open: async (path) => new ShellEventsFile(shell, path),
    async list(dir) {
      const r = await shell.run(listArgv(dir), { timeoutMs: 60_000 });
      if (r.code !== 0) throw new UserError(`cannot list the events folder ${dir} over ${shell.where}: ${r.stderr.trim().split('\n').pop() || `exit status ${r.code}`}`);
      return r.stdout.split('\n').filter(Boolean);
    },
  };
}
