/**
 * Inference (attention maps, translate) runs in the workbench's inference process, never in the
 * service's own process: two checkpoints in turn work (the tfjs engine allows one model per
 * process, so the old in-process cache of two models failed on the second), and a dead inference
 * process is replaced on the next request.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, tinySpec } from '../../test/support/workbench';
import { Workbench } from './workbench';

let wb: Workbench;
let runs: readonly number[];

beforeAll(async () => {
  const dir = tempDir('ablate-inference-');
  wb = await Workbench.open({ dbPath: join(dir, 'wb.sqlite'), dataDir: join(dir, 'data'), backend: 'wasm' });
  // Two models of different shapes: a second model could not even share the first one's variables.
  const { queued } = await wb.enqueueSpec(tinySpec({ name: 'inference', steps: 20, eval: 20, checkpoint: 20, variants: ['{ name: wide, d_model: 24, heads: 3 }'] }));
  await wb.waitForRuns(queued);
  runs = queued;
  const states = await Promise.all(queued.map(async (id) => (await wb.getRun(id))?.state));
  expect(states).toEqual(['done', 'done']);
}, 300_000);

afterAll(async () => {
  await wb?.close();
});

describe('inference in its own process', () => {
  it('answers attention maps for two checkpoints in turn, outside the service process', async () => {
    const [a, b] = runs;
    const first = await wb.attention(a, '3 4 5');
    const second = await wb.attention(b, '3 4 5');
    const again = await wb.attention(a, '3 4 5');
    expect(wb.inferencePid).toBeDefined();
    expect(wb.inferencePid).not.toBe(process.pid);
    // heads: 2 for base, 3 for the wide variant; one layer each.
    expect(first.encoderSelf).toHaveLength(1);
    expect(first.encoderSelf[0]).toHaveLength(2);
    expect(second.encoderSelf[0]).toHaveLength(3);
    // The same checkpoint gives the same maps after another model was loaded in between.
    expect(again).toEqual(first);
    // Each attention row is a probability distribution over the source tokens.
    for (const row of first.cross[0][0]) expect(row.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
  });

  it('translates with a run’s own decode settings and keeps empty lines', async () => {
    const out = await wb.translate(runs[1], ['3 4 5', '', '6 7']);
    expect(out).toHaveLength(3);
    expect(out[1]).toBe('');
  });

  it('replaces an inference process that died, and says why the request in flight failed', async () => {
    await wb.attention(runs[0], '3 4');
    const pid = wb.inferencePid!;
    const pending = wb.attention(runs[1], '3 4 5 6');
    process.kill(pid, 'SIGKILL');
    await expect(pending).rejects.toThrow(/inference process killed by SIGKILL/);
    const maps = await wb.attention(runs[1], '3 4');
    expect(maps.sourceTokens.length).toBeGreaterThan(0);
    expect(wb.inferencePid).not.toBe(pid);
  });

  it('refuses a run without a checkpoint in one line', async () => {
    await expect(wb.attention(999, 'x')).rejects.toThrow('run 999 does not exist');
  });
});
