/**
 * One round trip per poll over ssh: the poll command (squeue, listings, new bytes), through the
 * real sshShell and the stand-in ssh (test/support/stand-in-ssh.ts) whose root exists only behind
 * it. Ingest through the poll's answer writes what ingest through live reads writes, with no other
 * command; a file that grew past the per-poll cap is finished by live reads; odd folder names are
 * never interpreted; a cut answer is refused, not misread.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../../db/store';
import type { RunToParent } from '../../../../contract/run-protocol';
import { standInSsh } from '../../../../test/support/stand-in-ssh';
import { encodeEventLine } from './events-file';
import { shellEventsSource } from './events-source';
import { ingestFile, listAttemptFiles } from './ingest';
import { parsePollAnswer, pollArgv, snapshotSource, type WatchedDir } from './poll-batch';

const ssh = standInSsh('ablate-poll-');
writeFileSync(join(ssh.base, 'bin', 'squeue'), `#!/bin/sh\necho '{"jobs":[]}'\n`);
chmodSync(join(ssh.base, 'bin', 'squeue'), 0o755);
const shell = ssh.shell();
const live = shellEventsSource(shell);

const metric = (step: number): RunToParent => ({ type: 'metrics', points: [{ split: 'train', name: 'loss', step, value: 1 / step, time: 1000 + step }] });
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => encodeEventLine({ v: 1, seq: from + i, time: 1, msg: metric(from + i) })).join('');

function newStore(): { store: Store; runId: number } {
  const store = openStore(join(mkdtempSync(join(ssh.base, 'db-')), 'db.sqlite'));
  const exp = store.upsertExperiment('e', {}, null);
  const [runId] = store.insertRuns(exp.id, [{ variant: 'base', seed: 1, config: {}, configHash: 'h', backendRequested: 'cpu', totalSteps: 20 }]);
  return { store, runId };
}

async function poll(dirs: WatchedDir[], maxBytes = 1 << 20) {
  const token = 'ablate-poll-test';
  const r = await shell.run(pollArgv(token, maxBytes, dirs));
  return { answer: parsePollAnswer(r.stdoutBytes!, token, dirs.map((d) => d.dir)), raw: r.stdoutBytes! };
}

describe('one command per poll over ssh', () => {
  it('brings squeue, the listings and the new bytes; ingest from it equals live ingest, with no other command', async () => {
    const root = mkdtempSync(join(ssh.base, 'root-'));
    const a = join(root, "runs/it's $(touch pwned) a b/events");
    const b = join(root, 'runs/two/events');
    mkdirSync(a, { recursive: true });
    mkdirSync(b, { recursive: true });
    writeFileSync(join(a, 's1.5_0.r0.jsonl'), lines(1, 5));
    writeFileSync(join(a, 's1.5_0.r1.jsonl'), lines(6, 8) + lines(9, 9).slice(0, 7)); // an unfinished line
    writeFileSync(join(b, 's2.6_0.r0.jsonl'), lines(1, 3));
    writeFileSync(join(a, 'notes.txt'), 'not an attempt');
    const viaPoll = newStore();
    const viaLive = newStore();
    // Both stores have read r0 of a up to its third line.
    const third = Buffer.byteLength(lines(1, 3));
    for (const x of [viaPoll, viaLive]) x.store.setIngestOffset(x.runId, ssh.remote(join(a, 's1.5_0.r0.jsonl')), third);
    const watched = (x: { store: Store; runId: number }): WatchedDir[] => [a, b, join(root, 'runs/none/events')].map((d) => ({ dir: ssh.remote(d), known: new Map(x.store.listIngestOffsets(x.runId).filter((o) => o.path.startsWith(ssh.remote(d))).map((o) => [o.path, o.offset])) }));

    const before = ssh.calls().length;
    const { answer } = await poll(watched(viaPoll));
    expect(answer.squeue).toEqual({ code: 0, stdout: '{"jobs":[]}\n' });
    expect([...answer.dirs.keys()]).toEqual([ssh.remote(a), ssh.remote(b)]);
    expect(answer.files.get(ssh.remote(join(a, 's1.5_0.r0.jsonl')))).toMatchObject({ offset: third, bytes: Buffer.from(lines(4, 5)) });
    const source = snapshotSource(answer, live, new Set(watched(viaPoll).map((w) => w.dir)));
    for (const dir of [a, b, join(root, 'runs/none/events')]) {
      for (const p of await listAttemptFiles(source, ssh.remote(dir))) await ingestFile(viaPoll.store, viaPoll.runId, p, { source });
    }
    expect(ssh.calls().length - before).toBe(1);
    for (const dir of [a, b]) for (const p of await listAttemptFiles(live, ssh.remote(dir))) await ingestFile(viaLive.store, viaLive.runId, p, { source: live });
    const rows = (x: { store: Store; runId: number }) => ({ metrics: x.store.getMetrics({ runIds: [x.runId] }), offsets: x.store.listIngestOffsets(x.runId) });
    expect(rows(viaPoll)).toEqual(rows(viaLive));
    expect(rows(viaPoll).metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]); // b's 1-3 share keys with a's; 9 unfinished
    expect(existsSync(join(ssh.base, 'pwned'))).toBe(false);

    // The next poll: only what was appended since comes back.
    appendFileSync(join(a, 's1.5_0.r1.jsonl'), lines(9, 9).slice(7));
    const next = (await poll(watched(viaPoll))).answer;
    expect(next.files.get(ssh.remote(join(a, 's1.5_0.r1.jsonl')))!.bytes.toString()).toBe(lines(9, 9));
    expect(next.files.get(ssh.remote(join(b, 's2.6_0.r0.jsonl')))).toMatchObject({ bytes: Buffer.alloc(0) });
  });

  it('a file grown past the per-poll cap is read on live, every line once', async () => {
    const dir = join(mkdtempSync(join(ssh.base, 'root-')), 'events');
    mkdirSync(dir);
    writeFileSync(join(dir, 's3.7_0.r0.jsonl'), lines(1, 50));
    const { store, runId } = newStore();
    const w = [{ dir: ssh.remote(dir), known: new Map<string, number>() }];
    const { answer } = await poll(w, 100);
    expect(answer.files.get(ssh.remote(join(dir, 's3.7_0.r0.jsonl')))!.bytes.length).toBe(100);
    const before = ssh.calls().length;
    const source = snapshotSource(answer, live, new Set([ssh.remote(dir)]));
    await ingestFile(store, runId, ssh.remote(join(dir, 's3.7_0.r0.jsonl')), { source });
    expect(store.getMetrics({ runIds: [runId] }).map((m) => m.step)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(ssh.calls().length - before).toBe(1); // the rest in one live read
  });

  it('refuses an answer cut short or with bytes missing, rather than misread it', async () => {
    const dir = join(mkdtempSync(join(ssh.base, 'root-')), 'events');
    mkdirSync(dir);
    writeFileSync(join(dir, 's4.8_0.r0.jsonl'), lines(1, 3));
    const { raw } = await poll([{ dir: ssh.remote(dir), known: new Map() }]);
    const dirs = [ssh.remote(dir)];
    expect(() => parsePollAnswer(raw.subarray(0, raw.length - 20), 'ablate-poll-test', dirs)).toThrow(/poll answer: /);
    expect(() => parsePollAnswer(raw, 'another-token', dirs)).toThrow('poll answer: no squeue frame');
    const text = raw.toString();
    const cut = Buffer.from(text.replace(lines(1, 3), lines(1, 3).slice(0, 10)));
    expect(() => parsePollAnswer(cut, 'ablate-poll-test', dirs)).toThrow(/sent fewer bytes than its frame says|expected a frame/);
  });
});
