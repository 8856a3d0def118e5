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
  /** Whether the file holds its full size (false where there was no room to make it). */
  readonly held: boolean;
  /** Deletes the file, giving its room back to the filesystem; true if there was one. */
  release(): boolean;
}

/** Makes (or keeps, from an earlier holder) `<dbFile>.reserve` of `bytes` zeros; never throws. */
export function holdSpace(dbFile: string, bytes = RESERVE_BYTES): SpaceReserve {
  const file = `${dbFile}.reserve`;
  let held = false;
  try {
    held = statSync(file).size >= bytes;
  } catch {
    // not there yet
  }
  if (!held) held = writeZeros(file, bytes);
  return {
    file,
    held,
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

/** Written, not sparse: the filesystem must really set the blocks aside. A file it has no room for is removed. */
function writeZeros(file: string, bytes: number): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'w');
    const chunk = Buffer.alloc(64 * 1024);
    for (let done = 0; done < bytes; ) done += writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done));
    return true;
  } catch {
    try {
      unlinkSync(file);
    } catch {
      // nothing was made
    }
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
