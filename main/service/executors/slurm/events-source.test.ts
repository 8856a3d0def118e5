/**
 * Events files read through the shell seam, as a desktop reaches a login node. The `ssh` here is a
 * stand-in put first on PATH (test/support/stand-in-ssh.ts): it runs the remote command string with
 * sh on this machine, so this tests the commands, their quoting and the byte handling over the real
 * sshShell. The "cluster" paths start with /ablate-remote-root, which exists only for the stand-in:
 * any read of an events file through node:fs here would fail.
 */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../../contract/errors';
import { openStore, type Store } from '../../../../db/store';
import type { RunToParent } from '../../../../contract/run-protocol';
import { encodeEventLine } from './events-file';
import { shellEventsSource } from './events-source';
import { attemptFiles, ingestFile, listAttemptFiles, reingestRun } from './ingest';
import { EventsWriter } from './job-host';
import { standInSsh } from '../../../../test/support/stand-in-ssh';

const ssh = standInSsh('ablate-events-ssh-');
const base = ssh.base;
const shell = ssh.shell({ host: 'login.hpc', user: 'ana' });
const overSsh = shellEventsSource(shell);
const sshCalls = ssh.calls;
/** A local path under `base` as the login node names it. */
const remote = ssh.remote;

/** A folder whose name a shell would expand or split if it were ever interpolated. */
function eventsDir(): string {
  const dir = join(mkdtempSync(join(base, 'root-')), "runs/it's $(touch pwned) a b/events");
  mkdirSync(dir, { recursive: true });
  return dir;
}

function newStore(): { store: Store; runId: number } {
  const store = openStore(join(mkdtempSync(join(base, 'db-')), 'db.sqlite'));
  const exp = store.upsertExperiment('e', {}, null);
  const [runId] = store.insertRuns(exp.id, [{ variant: 'base', seed: 1, config: {}, configHash: 'h', backendRequested: 'cpu', totalSteps: 20 }]);
  return { store, runId };
}

const metric = (step: number, value: number): RunToParent => ({ type: 'metrics', points: [{ split: 'train', name: 'loss', step, value, time: 1000 + step }] });

describe('events files through the shell seam (ssh)', () => {
  it('reads byte ranges exactly, also one that ends inside a multi-byte character', async () => {
    const path = join(eventsDir(), 's.1_0.r0.jsonl');
    const bytes = Buffer.from('{"é":1}\n{"🙂":"naïve"}\nrest');
    writeFileSync(path, bytes);
    const handle = await overSsh.open(remote(path));
    // 9..11 splits 🙂 (4 bytes from 10): UTF-8 decoding of stdout would have replaced the half.
    for (const [pos, len] of [[0, 3], [9, 3], [2, 40], [bytes.length - 1, 5]]) {
      const buf = Buffer.alloc(len);
      const { bytesRead } = await (await overSsh.open(remote(path))).read(buf, 0, len, pos);
      expect(buf.subarray(0, bytesRead)).toEqual(bytes.subarray(pos, pos + len));
    }
    const buf = Buffer.alloc(8);
    expect((await handle.read(buf, 0, 8, bytes.length + 10)).bytesRead).toBe(0);
    expect(sshCalls().at(-1)).toMatch(/^-o BatchMode=yes -o ControlMaster=auto .* -- ana@login\.hpc sh -c /);
  });

  it('ingest over ssh writes the same rows and offsets as ingest from the filesystem', async () => {
    const dir = eventsDir();
    const a = new EventsWriter(join(dir, 's1.7_0.r0.jsonl'));
    a.write({ type: 'ready', backend: 'cpu', device: 'x', params: 2, data: {}, startStep: 0 });
    for (let s = 1; s <= 12; s++) a.write(metric(s, s === 3 ? NaN : 100 - s));
    a.write({ type: 'checkpoint', step: 10, path: '/ck/10' });
    a.write({ type: 'samples', step: 10, samples: [{ source: 'Zürich', reference: 'b', hypothesis: '東京' }] });
    a.write({ type: 'failed', kind: 'error', reason: 'killed', step: 12 });
    a.close();
    const b = new EventsWriter(join(dir, 's1.7_0.r1.jsonl'));
    b.write({ type: 'ready', backend: 'cpu', device: 'x', params: 2, data: {}, startStep: 10 });
    for (let s = 11; s <= 20; s++) b.write(metric(s, 50 - s));
    b.write({ type: 'done', step: 20, metrics: { valid_loss: 1.5, params: 2 } as never });
    b.close();
    writeFileSync(join(dir, 'notes.txt'), 'not an attempt');

    const paths = attemptFiles(dir);
    expect(await listAttemptFiles(overSsh, remote(dir))).toEqual(paths.map(remote));
    expect(await listAttemptFiles(overSsh, remote(join(dir, 'none-yet')))).toEqual([]);
    const local = newStore();
    const viaSsh = newStore();
    for (const p of paths) await ingestFile(local.store, local.runId, p, { final: true });
    for (const p of paths) await ingestFile(viaSsh.store, viaSsh.runId, remote(p), { final: true, source: overSsh });
    const rows = (x: { store: Store; runId: number }) => ({
      metrics: x.store.getMetrics({ runIds: [x.runId] }),
      samples: x.store.getSamples(x.runId),
      logs: x.store.getLogs(x.runId),
      checkpoints: x.store.listCheckpoints(x.runId),
      offsets: x.store.listIngestOffsets(x.runId).map((o) => ({ ...o, path: remote(o.path) })),
    });
    expect(rows(viaSsh)).toEqual(rows(local));
    expect(rows(viaSsh).metrics.filter((m) => m.split === 'train').map((m) => m.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(rows(viaSsh).samples.map((s) => s.hypothesis)).toEqual(['東京']);
    // A second ingest from 0, over ssh, changes nothing.
    const before = rows(viaSsh);
    expect(await reingestRun(viaSsh.store, viaSsh.runId, remote(dir), overSsh)).toBeGreaterThan(20);
    expect(rows(viaSsh)).toEqual(before);
    expect(existsSync(join(base, 'pwned'))).toBe(false);
    local.store.close();
    viaSsh.store.close();
  });

  it('whole lines only: an unfinished line waits; rows and offset commit together; one ssh command per read', async () => {
    const local = join(eventsDir(), 's2.9_0.r0.jsonl');
    const path = remote(local);
    const whole = encodeEventLine({ v: 1, seq: 0, time: 1, msg: metric(1, 1) }) + encodeEventLine({ v: 1, seq: 1, time: 2, msg: metric(2, 2) });
    const third = encodeEventLine({ v: 1, seq: 2, time: 3, msg: metric(3, 3) });
    appendFileSync(local, whole + third.slice(0, 10));
    const { store, runId } = newStore();
    const calls = sshCalls().length;
    expect((await ingestFile(store, runId, path, { source: overSsh })).lines).toBe(2);
    expect(sshCalls().length - calls).toBe(1); // the short read marked the end: no second command to find it
    expect(store.ingestOffset(path)).toBe(Buffer.byteLength(whole));
    appendFileSync(local, third.slice(10));
    await expect(ingestFile(store, runId, path, { source: overSsh, forward: () => { throw new Error('crash'); } })).rejects.toThrow('crash');
    expect(store.getMetrics({ runIds: [runId] }).map((m) => m.step)).toEqual([1, 2]);
    expect(store.ingestOffset(path)).toBe(Buffer.byteLength(whole));
    expect((await ingestFile(store, runId, path, { source: overSsh })).lines).toBe(1);
    expect(store.getMetrics({ runIds: [runId] }).map((m) => m.step)).toEqual([1, 2, 3]);
    expect(store.ingestOffset(path)).toBe(Buffer.byteLength(whole + third));
    store.close();
  });

  it('a file that cannot be read is one line naming it and the ssh target', async () => {
    const { store, runId } = newStore();
    const path = remote(join(eventsDir(), 'gone.1_0.r0.jsonl'));
    const err = (await ingestFile(store, runId, path, { source: overSsh }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(UserError);
    // The last part is the login node's own words (the stand-in names its real folder).
    expect(err.message).toMatch(/^cannot read the events file \/ablate-remote-root\/.* over ssh ana@login\.hpc: cannot read \/.*\/gone\.1_0\.r0\.jsonl$/);
    expect(err.message.startsWith(`cannot read the events file ${path} over`)).toBe(true);
    expect(store.listIngestOffsets(runId)).toEqual([]);
    store.close();
  });
});
