/**
 * A whole run on the webgpu backend: WebGPU has no synchronous read-back in Node (tfjs's readSync
 * needs a canvas), so training, evaluation, decoding and checkpoints must all read asynchronously.
 * Here it runs on Mesa's software Vulkan (lavapipe); on a user's GPU it is the same code path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend';
import type { RunToParent } from '../../contract/run-protocol';
import { expandSpec, parseSpec } from '../../contract/spec';
import { runJob } from './run-job';

const webgpu = await selectBackend('webgpu').then(
  () => true,
  (err: Error) => (console.warn(`skipping the webgpu run: ${err.message}`), false),
);
const dir = mkdtempSync(join(tmpdir(), 'ablate-webgpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!webgpu)('a run on webgpu', () => {
  it('trains, evaluates loss, perplexity and BLEU with greedy and beam decoding, checkpoints and finishes', async () => {
    const spec = parseSpec({
      name: 'webgpu-run',
      data: { task: 'synthetic-copy', vocab: 8, min_len: 2, max_len: 5, train_size: 64, valid_size: 6, test_size: 4, seed: 1, tokenizer: { kind: 'word' } },
      base: { layers: 1, d_model: 16, d_ff: 32, heads: 2, dropout: 0.1 },
      train: { steps: 4, batch_tokens: 64, warmup: 2, eval_every: 2, checkpoint_every: 2, eval_bleu_sentences: 4, samples: 1, decode: { beam: 2, alpha: 0.6, max_len_offset: 3 } },
    });
    const messages: RunToParent[] = [];
    await runJob(
      { runId: 1, config: expandSpec(spec)[0].config, backend: 'webgpu', checkpointDir: join(dir, 'run-1'), cacheDir: join(dir, 'cache') },
      { emit: (m) => messages.push(m), shouldStop: () => false },
    );
    const failed = messages.find((m) => m.type === 'failed');
    expect(failed, JSON.stringify(failed)).toBeUndefined();
    expect(messages.find((m) => m.type === 'ready')).toMatchObject({ backend: 'webgpu' });
    expect(messages.filter((m) => m.type === 'checkpoint').map((m) => m.type === 'checkpoint' && m.step)).toEqual([2, 4]);
    const done = messages[messages.length - 1];
    expect(done.type).toBe('done');
    if (done.type !== 'done') return;
    for (const name of ['train_loss', 'valid_loss', 'valid_ppl', 'valid_bleu', 'test_bleu'] as const) expect(Number.isFinite(done.metrics[name]), name).toBe(true);
  }, 240_000);
});
