import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireWorkerLock, lockHolder, WorkerLockedError } from './worker-lock';
import { ROOT, tempDir } from '../test/support/workbench';

describe('worker lock', () => {
  it('refuses a second holder in the same process, naming pid and host, and frees on release', () => {
    const db = join(tempDir(), 'wb.sqlite');
    const lock = acquireWorkerLock(db);
    expect(() => acquireWorkerLock(db)).toThrow(WorkerLockedError);
    expect(() => acquireWorkerLock(db)).toThrow(`another workbench process (pid ${process.pid} on ${hostname()}`);
    expect(lockHolder(db)?.pid).toBe(process.pid);
    lock.release();
    expect(lockHolder(db)).toBeNull();
    acquireWorkerLock(db).release();
  });

  it('is released by the kernel when the holder is killed with SIGKILL', async () => {
    const dir = tempDir();
    const db = join(dir, 'wb.sqlite');
    const script = join(dir, 'hold.ts');
    writeFileSync(script, `import { acquireWorkerLock } from ${JSON.stringify(join(ROOT, 'db/worker-lock.ts'))};\nacquireWorkerLock(process.argv[2]);\nprocess.stdout.write('held\\n');\nsetInterval(() => {}, 1000);\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', script, db], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && r()));
    expect(() => acquireWorkerLock(db)).toThrow(`pid ${child.pid} on ${hostname()}`);
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    const lock = acquireWorkerLock(db);
    lock.release();
  });

  it('is not fooled by a pid file naming a live process (pid 1)', () => {
    const db = join(tempDir(), 'wb.sqlite');
    writeFileSync(`${db}.worker.pid`, '1');
    writeFileSync(`${db}.lock`, '');
    acquireWorkerLock(db).release();
  });
});
