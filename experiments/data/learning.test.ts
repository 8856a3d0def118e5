/**
 * End-to-end: the data pipeline feeds a real (tiny) training run on a Multi30k subset through
 * TRAIN's runJob on wasm, and validation perplexity falls. Bounded to a few minutes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunToParent } from '../../contract/run-protocol';
import { runJob } from '../run/run-job';
import { expandSpec, parseSpec } from '../../contract/spec';

const DATA = resolve(__dirname, '../../../shared/data/multi30k');
const haveData = existsSync(DATA);
const dir = mkdtempSync(join(tmpdir(), 'data-learning-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The first `n` lines of a Multi30k file, as a temp file (the corpus itself is never copied into the project). */
function head(name: string, n: number): string {
  const out = join(dir, name);
  writeFileSync(out, readFileSync(join(DATA, name), 'utf8').split('\n').slice(0, n).join('\n') + '\n');
  return out;
}

describe.skipIf(!haveData)('training on prepared Multi30k data', () => {
  it('lowers validation perplexity within 150 steps of a tiny model (wasm)', async () => {
    const spec = parseSpec({
      name: 'data-learning',
      data: {
        corpus: { train: [head('train.en', 2000), head('train.de', 2000)], valid: [head('valid.en', 100), head('valid.de', 100)] },
        tokenizer: { kind: 'bpe', vocab: 1000, shared: true },
        max_len: 64,
      },
      base: { layers: 1, d_model: 64, d_ff: 128, heads: 4, dropout: 0.1, label_smoothing: 0.1 },
      train: { steps: 150, batch_tokens: 600, warmup: 60, eval_every: 50, checkpoint_every: 1000, eval_bleu_sentences: 4, samples: 0, seeds: [1], decode: { beam: 1, max_len_offset: 5 } },
    });
    const [run] = expandSpec(spec);
    const messages: RunToParent[] = [];
    await runJob(
      { runId: 1, config: run.config, backend: 'wasm', checkpointDir: join(dir, 'ckpt'), cacheDir: join(dir, 'cache') },
      { emit: (m) => messages.push(m), shouldStop: () => false },
    );
    const end = messages[messages.length - 1];
    expect(end.type, JSON.stringify(end)).toBe('done');
    const ready = messages.find((m) => m.type === 'ready');
    if (ready?.type !== 'ready') throw new Error('no ready message');
    // Every line is accounted for: kept or filtered (empty / over max_len).
    expect(Number(ready.data.train_pairs) + Number(ready.data.train_filtered)).toBe(2000);
    expect(ready.data.train_pairs).toBeGreaterThan(1900);
    const vocab = Number(ready.data.tgt_vocab);
    const ppl = messages.flatMap((m) => (m.type === 'metrics' ? m.points.filter((p) => p.split === 'valid' && p.name === 'valid_ppl') : []));
    expect(ppl.map((p) => p.step)).toEqual([50, 100, 150]);
    const [first, , last] = ppl.map((p) => p.value);
    console.log(`valid_ppl at steps 50/100/150: ${ppl.map((p) => p.value.toFixed(1)).join(' / ')} (vocab ${vocab})`);
    // Falls between the first and the last evaluation, and ends far below a uniform guess over the vocabulary.
    expect(last).toBeLessThan(first * 0.9);
    expect(last).toBeLessThan(vocab / 4);
  });
});
