/**
 * One cluster test at a time: the local cluster has one 2-core node, and a test's preemption (a
 * `high` job taking both cores) would preempt another file's jobs and break its timeline. vitest
 * runs files in parallel workers, so the files that use the cluster take this lock (a directory,
 * created atomically; a holder that died is detected by its pid and the lock taken over).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCK = join(tmpdir(), 'ablate-slurm-cluster-test.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function acquireClusterLock(timeoutMs = 300_000): Promise<() => void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = 0;
      try {
        holder = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
      } catch {
        // being created or removed right now
      }
      if (holder && !alive(holder)) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > end) throw new Error(`the Slurm cluster is held by another test (pid ${holder}) for over ${timeoutMs / 1000} s`);
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
}
