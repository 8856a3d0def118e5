/** A small tmpfs for full-disk tests: mounted where this process may mount (root in a container), else the tests that need one skip. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let probed: boolean | undefined;

/** Whether `mount -t tmpfs` works here (probed once). */
export function canMountTmpfs(): boolean {
  if (probed !== undefined) return probed;
  probed = false;
  if (process.getuid?.() !== 0) return probed;
  const probe = mkdtempSync(join(tmpdir(), 'ablate-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    probed = true;
  } catch {
    // not allowed here
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
  return probed;
}

/** Mounts a tmpfs of `size` (e.g. '1m') at `dir` (created), runs `fn`, unmounts (lazily, so open files do not block it). */
export async function withTmpfs<T>(dir: string, size: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  try {
    return await fn();
  } finally {
    execFileSync('umount', ['-l', dir]);
  }
}

/** Fills the filesystem holding `dir` with one file (dd stops at "No space left on device"); returns its path. */
export function fillDisk(dir: string): string {
  const filler = join(dir, 'filler');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k', 'count=100000'], { stdio: 'ignore' });
  } catch {
    // dd ends with ENOSPC: the disk is full, as wanted
  }
  return filler;
}
