import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../../db/store';
import type { RunToParent } from '../../../../contract/run-protocol';
import { EventsWriter } from './job-host';
import { attemptFiles, ingestFile, lastTerminal, reingestRun } from './ingest';
import { encodeEventLine } from './events-file';

function setup(): { store: Store; runId: number; dir: string; dbPath: string } {
  const root = mkdtempSync(join(tmpdir(), 'ablate-ingest-'));
  const dbPath = join(root, 'db.sqlite');
  const store = openStore(dbPath);
  const exp = store.upsertExperiment('e', {}, null);
  const [runId] = store.insertRuns(exp.id, [{ variant: 'base', seed: 1, config: {}, configHash: 'h', backendRequested: 'cpu', totalSteps: 20 }]);
  const dir = join(root, 'events');
  mkdirSync(dir);
  return { store, runId, dir, dbPath };
}

const metric = (step: number, value: number): RunToParent => ({ type: 'metrics', points: [{ split: 'train', name: 'loss', step, value, time: 1000 + step }] });

/** Attempt r0 trains 1..15 (checkpoint at 10) and is killed; r1 resumes at 10 and finishes at 20. */
function writeAttempts(dir: string): string[] {
  const a = new EventsWriter(join(dir, 's1.7_0.r0.jsonl'));
  a.write({ type: 'ready', backend: 'cpu', device: 'x', params: 2, data: {}, startStep: 0 });
  for (let s = 1; s <= 15; s++) {
    a.write(metric(s, s === 3 ? NaN : 100 - s));
    if (s === 10) a.write({ type: 'checkpoint', step: 10, path: '/ck/10' });
    if (s === 12) a.write({ type: 'samples', step: 12, samples: [{ source: 'a', reference: 'b', hypothesis: 'c' }] });
  }
  a.write({ type: 'log', level: 'warn', text: 'SIGTERM' });
  a.write({ type: 'failed', kind: 'error', reason: 'killed', step: 15 });
  a.close();
  const b = new EventsWriter(join(dir, 's1.7_0.r1.jsonl'));
  b.write({ type: 'ready', backend: 'cpu', device: 'x', params: 2, data: {}, startStep: 10 });
  for (let s = 11; s <= 20; s++) {
    b.write(metric(s, 50 - s));
    if (s === 12) b.write({ type: 'samples', step: 12, samples: [{ source: 'a', reference: 'b', hypothesis: 'c2' }] });
  }
  b.write({ type: 'checkpoint', step: 20, path: '/ck/20' });
  b.write({ type: 'done', step: 20, metrics: { valid_loss: 1.5, params: 2 } as never });
  b.close();
  return attemptFiles(dir);
}

/** Every row ingest writes, in a stable order (ids and insertion order left out). */
function snapshot(store: Store, runId: number): unknown {
  return {
    metrics: store.getMetrics({ runIds: [runId] }),
    samples: store.getSamples(runId),
    logs: store.getLogs(runId),
    checkpoints: store.listCheckpoints(runId),
  };
}

describe('events ingest', () => {
  it('records each attempt once: repeated steps keep the later attempt, a re-ingest from 0 changes nothing', async () => {
    const { store, runId, dir } = setup();
    const files = writeAttempts(dir);
    expect(files.map((f) => f.split('/').pop())).toEqual(['s1.7_0.r0.jsonl', 's1.7_0.r1.jsonl']);
    for (const f of files) await ingestFile(store, runId, f, { final: true });
    const rows = store.getMetrics({ runIds: [runId] }).filter((m) => m.split === 'train');
    expect(rows.map((m) => m.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(rows.find((m) => m.step === 3)!.value).toBeNaN();
    expect(rows.find((m) => m.step === 13)!.value).toBe(37); // r1's value for a redone step
    expect(store.getSamples(runId).map((s) => s.hypothesis)).toEqual(['c2']);
    expect(store.getMetrics({ runIds: [runId] }).filter((m) => m.split === 'final')).toMatchObject([{ name: 'params' }, { name: 'valid_loss', value: 1.5 }]);
    expect(store.getLogs(runId).map((l) => l.text)).toEqual(['SIGTERM', 'attempt s1.7_0.r0 failed (error) at step 15: killed']);
    const before = snapshot(store, runId);
    const offsets = store.listIngestOffsets(runId);
    expect(await reingestRun(store, runId, dir)).toBeGreaterThan(30);
    expect(snapshot(store, runId)).toEqual(before);
    expect(store.listIngestOffsets(runId)).toEqual(offsets);
    expect(store.integrityCheck()).toBe('ok');
    expect((await lastTerminal(files[1]))?.msg.type).toBe('done');
  });

  it('an unfinished last line waits; rows and offset commit together, so a restart reads on without loss or duplicates', async () => {
    const { store, runId, dir, dbPath } = setup();
    const path = join(dir, 's2.9_0.r0.jsonl');
    const whole = encodeEventLine({ v: 1, seq: 0, time: 1, msg: metric(1, 1) }) + encodeEventLine({ v: 1, seq: 1, time: 2, msg: metric(2, 2) });
    const third = encodeEventLine({ v: 1, seq: 2, time: 3, msg: metric(3, 3) });
    appendFileSync(path, whole + third.slice(0, 10));
    expect((await ingestFile(store, runId, path)).lines).toBe(2);
    expect(store.ingestOffset(path)).toBe(Buffer.byteLength(whole));
    // A transaction that fails half-way (the desktop dies, or a listener throws) leaves neither rows nor offset.
    appendFileSync(path, third.slice(10));
    await expect(ingestFile(store, runId, path, { forward: () => { throw new Error('crash'); } })).rejects.toThrow('crash');
    expect(store.getMetrics({ runIds: [runId] }).map((m) => m.step)).toEqual([1, 2]);
    expect(store.ingestOffset(path)).toBe(Buffer.byteLength(whole));
    store.close();
    const again = openStore(dbPath);
    expect((await ingestFile(again, runId, path)).lines).toBe(1);
    expect(again.getMetrics({ runIds: [runId] }).map((m) => m.step)).toEqual([1, 2, 3]);
    expect((await ingestFile(again, runId, path)).lines).toBe(0);
    again.close();
  });

  it('writes points in key order, yet a point repeated within one read keeps the later line (as the file says)', async () => {
    const { store, runId, dir } = setup();
    const w = new EventsWriter(join(dir, 's1.8_0.r0.jsonl'));
    w.write({ type: 'metrics', points: [3, 1, 2].flatMap((step) => [{ split: 'valid' as const, name: 'loss', step, value: step, time: 1 }, { split: 'train' as const, name: 'loss', step, value: step, time: 1 }]) });
    w.write(metric(2, 20)); // the same key again, later in the file
    w.close();
    await ingestFile(store, runId, join(dir, 's1.8_0.r0.jsonl'), { final: true });
    expect(store.getMetrics({ runIds: [runId] }).map((m) => [m.split, m.step, m.value])).toEqual([
      ['train', 1, 1], ['train', 2, 20], ['train', 3, 3], ['valid', 1, 1], ['valid', 2, 2], ['valid', 3, 3],
    ]);
  });
});
