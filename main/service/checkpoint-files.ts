/**
 * Checkpoint folders of deleted runs come off the disk. The database row is the truth: a folder
 * already gone is fine, and one that cannot be removed is reported, never a failure of the delete
 * (its rows are gone either way).
 */
import { rmSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';

export interface RemovedCheckpoints {
  /** Folders removed (or already absent). */
  readonly removed: readonly string[];
  /** Folders left on disk, each with why. */
  readonly left: readonly { readonly dir: string; readonly reason: string }[];
}

/** `inner` is `outer` or lies inside it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || !(rel.startsWith('..') || isAbsolute(rel));
}

/**
 * Removes each folder with everything in it. A folder that holds one of `keep` (the database, the
 * data folder) or is a filesystem root is left alone and reported: a corrupted checkpoint_dir must
 * never take the database with it.
 */
export function removeCheckpointDirs(dirs: readonly string[], keep: readonly string[]): RemovedCheckpoints {
  const removed: string[] = [];
  const left: { dir: string; reason: string }[] = [];
  for (const dir of dirs) {
    const abs = resolve(dir);
    const guarded = keep.find((k) => within(resolve(k), abs));
    if (dirname(abs) === abs || guarded) {
      left.push({ dir, reason: guarded ? `it holds ${guarded}` : 'it is a filesystem root' });
      continue;
    }
    try {
      rmSync(abs, { recursive: true, force: true });
      removed.push(dir);
    } catch (err) {
      left.push({ dir, reason: (err as Error).message });
    }
  }
  return { removed, left };
}
