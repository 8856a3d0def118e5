/**
 * Room for the last write on a full disk. On a full filesystem SQLite cannot write even a one-row
 * UPDATE (each commit appends to the -wal file), so a process that runs a queue and hits
 * SQLITE_FULL could not mark its runs interrupted: their rows said `running`, with nobody running
 * them, until the next start. The process holding the worker lock therefore keeps a small file
 * beside the database (`<db>.reserve`); when the disk fills it deletes the file and spends that
 * room on marking its runs interrupted. The next holder makes it again when there is room.
 *
 * @example
 *   const reserve = holdSpace('/data/ablate.sqlite');
 *   … a write fails with SQLITE_FULL …
 *   reserve.release(); // then the final status write
 */
import { closeSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';

/** A few dozen pages of WAL frames: the runs' rows, their log lines and the indexes they touch. */
export const RESERVE_BYTES = 256 * 1024;

export interface SpaceReserve {
  readonly file: string;
  /** Whether the file holds its full size (false where there was no room to make it, or no permission). */
  readonly held: boolean;
  /** Why it is not held: the error code of the write (ENOSPC, EDQUOT, EROFS, EACCES, …); null when held. */
  readonly problem: string | null;
  /** Deletes the file, giving its room back to the filesystem; true if there was one. */
  release(): boolean;
}

/** Makes (or keeps, from an earlier holder) `<dbFile>.reserve` of `bytes` zeros; never throws. */
export function holdSpace(dbFile: string, bytes = RESERVE_BYTES): SpaceReserve {
  const file = `${dbFile}.reserve`;
  let problem: string | null = 'ENOENT';
  try {
    if (statSync(file).size >= bytes) problem = null;
  } catch {
    // not there yet
  }
  if (problem) problem = writeZeros(file, bytes);
  return {
    file,
    held: problem === null,
    problem,
    release() {
      try {
        unlinkSync(file);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Written, not sparse: the filesystem must really set the blocks aside. A file it has no room for is removed. Returns the error code, or null. */
function writeZeros(file: string, bytes: number): string | null {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'w');
    const chunk = Buffer.alloc(64 * 1024);
    for (let done = 0; done < bytes; ) done += writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done));
    return null;
  } catch (err) {
    try {
      unlinkSync(file);
    } catch {
      // nothing was made
    }
    return (err as NodeJS.ErrnoException).code ?? String(err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
