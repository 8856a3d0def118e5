/**
 * `ablate worker` and `ablate retry` from outside, with the toy run process (ABLATE_RUN_PROCESS)
 * so each run takes a second: SIGTERM interrupts without claiming an empty queue, a failed run
 * makes the worker exit 1, retry resumes from the last checkpoint unless --from-scratch, and a
 * second worker is refused with the holder's pid and host.
 */
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../db/store';
import { TOY_ENTRY, ablateChild, tempDir, toySpec } from './support/workbench';

function ablateToy(args: string[], env: Record<string, string> = {}) {
  return ablateChild(args, { ABLATE_RUN_PROCESS: TOY_ENTRY, TOY_STEP_MS: '5', ...env });
}

const until = async (cond: () => boolean, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('ablate worker under faults', () => {
  it('SIGTERM: the running run is interrupted, no "queue empty" line, exit 130; a second worker meanwhile is refused naming the holder', async () => {
    const dir = tempDir();
    const db = join(dir, 'w.sqlite');
    writeFileSync(join(dir, 'spec.yaml'), toySpec({ steps: 5000, variants: ['{ name: h1, heads: 1 }'] }));
    expect((await ablateToy(['queue', join(dir, 'spec.yaml'), '--db', db]).done).code).toBe(0);
    const w = ablateToy(['worker', '--db', db], { TOY_STEP_MS: '20' });
    const probe = openStore(db);
    await until(() => (probe.getRun(1)?.step ?? 0) >= 5);
    const second = await ablateToy(['worker', '--db', db]).done;
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`another workbench process (pid ${w.child.pid} on ${hostname()}`);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    w.child.kill('SIGTERM');
    const r = await w.done;
    expect(r.code).toBe(130);
    expect(r.stderr).not.toContain('queue empty');
    expect(probe.getRun(1)?.state).toBe('interrupted');
    expect(probe.getRun(2)?.state).toBe('queued');
    probe.close();
  }, 90_000);

  it('exits 1 when a run failed; retry resumes it from its checkpoint, --from-scratch from step 0', async () => {
    const dir = tempDir();
    const db = join(dir, 'w.sqlite');
    writeFileSync(join(dir, 'spec.yaml'), toySpec({ steps: 30 }));
    expect((await ablateToy(['queue', join(dir, 'spec.yaml'), '--db', db]).done).code).toBe(0);
    const failed = await ablateToy(['worker', '--db', db], { TOY_EXIT_AT: '25' }).done;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/worker: 1 run\(s\) failed: 1/);

    const retry = await ablateToy(['retry', '1', '--db', db]).done;
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain('queued again: 1 (resuming from their last good checkpoint)');
    const resumed = await ablateToy(['worker', '--db', db]).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('run 1 (base, seed 1) resumed from step 20');

    const none = await ablateToy(['retry', '--failed', '--db', db]).done;
    expect(none.code).toBe(0);
    expect(none.stderr).toContain('retry: no failed run');
    const done = await ablateToy(['retry', '1', '--db', db]).done;
    expect(done.code).toBe(1);
    expect(done.stderr).toContain('run 1 is done; only failed, cancelled or interrupted runs can be retried');

    const failedAgain = await ablateToy(['worker', '--db', db], { TOY_EXIT_AT: '25' }).done;
    expect(failedAgain.code).toBe(0); // nothing queued: nothing failed in this session
    writeFileSync(join(dir, 'spec2.yaml'), toySpec({ name: 'two', steps: 30 }));
    await ablateToy(['queue', join(dir, 'spec2.yaml'), '--db', db, '--force']).done;
    expect((await ablateToy(['worker', '--db', db], { TOY_EXIT_AT: '25' }).done).code).toBe(1);
    const scratch = await ablateToy(['retry', '--failed', '--from-scratch', '--db', db]).done;
    expect(scratch.stdout).toContain('queued again: 2 (from scratch)');
    const fresh = await ablateToy(['worker', '--db', db]).done;
    expect(fresh.code).toBe(0);
    expect(fresh.stderr).not.toContain('resumed from step');
    const store = openStore(db);
    expect(store.listRuns().map((r) => r.state)).toEqual(['done', 'done']);
    store.close();
  }, 120_000);
});
