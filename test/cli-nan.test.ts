/**
 * A diverging run fails with its reason while the others finish (real training on wasm). An
 * lr_factor of 1e30 makes the first Adam steps move every weight by ~1e27 (Adam's step is
 * lr-sized whatever the gradient), so the logits overflow and the loss becomes inf or NaN.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../db/store';
import { ablate, tempDir, tinySpec } from './support/workbench';

describe('a diverging run', () => {
  it('fails with "diverged at step N" while the other runs finish', async () => {
    const dir = tempDir();
    const db = join(dir, 'nan.sqlite');
    const spec = join(dir, 'nan.yaml');
    writeFileSync(spec, tinySpec({ name: 'nan', steps: 30, variants: ['{ name: "huge lr", heads: 1, train: { lr_factor: 1.0e30 } }', '{ name: "h4", heads: 4 }'] }));
    const res = await ablate(['run', spec, '--db', db, '--backend', 'wasm', '--json']);
    // Exit 1: not every run finished; stdout still holds exactly the JSON array.
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/1 of 3 run\(s\) did not finish: run 2 failed \(diverged at step \d+: loss is (NaN|inf)\)/);
    const runs = JSON.parse(res.stdout) as { variant: string; state: string; error: string | null; metrics: Record<string, number | null> }[];
    expect(runs.map((r) => [r.variant, r.state])).toEqual([['base', 'done'], ['huge lr', 'failed'], ['h4', 'done']]);
    const failed = runs[1];
    expect(failed.error).toMatch(/^diverged at step \d+: loss is (NaN|inf)$/);
    expect(failed.metrics.valid_bleu).toBeNull();
    const step = Number(/step (\d+)/.exec(failed.error!)![1]);
    // The non-finite loss is kept in the metrics table at the step the reason names.
    const store = openStore(db);
    const losses = store.getMetrics({ runIds: [2], names: ['loss'], splits: ['train'] });
    store.close();
    expect(losses.at(-1)?.step).toBe(step);
    expect(Number.isFinite(losses.at(-1)!.value)).toBe(false);
  });
});
