/**
 * Verified checkpoints: a SHA-256 over header and payload is stored in the file and checked on
 * load, so a truncated file, a bad magic, a flipped header byte or one flipped bit per 4 KB is
 * refused (naming the file) instead of trained on; a resume falls back to the newest checkpoint
 * that verifies; first-format files (no checksum) still load, marked unverified.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend';
import { BatchStream, prepareData } from '../data/index';
import type { PreparedData } from '../data/types';
import { createModel } from '../model/transformer';
import { expandSpec, parseSpec, type RunConfig } from '../../contract/spec';
import { CheckpointError, CheckpointWriteError, checkpointFileName, cleanTempFiles, loadNewestVerified, readCheckpoint, saveCheckpoint } from './checkpoint';
import { Trainer } from './loop';
import { UserError } from '../../contract/errors';

const config: RunConfig = expandSpec(
  parseSpec({
    name: 'ckpt-test',
    data: { task: 'synthetic-copy', vocab: 8, min_len: 3, max_len: 6, train_size: 60, valid_size: 6, test_size: 0, seed: 1, tokenizer: { kind: 'word' } },
    base: { layers: 1, d_model: 16, d_ff: 32, heads: 2, dropout: 0 },
    train: { steps: 4, batch_tokens: 100, warmup: 4, seeds: [1] },
  }),
)[0].config;

let data: PreparedData;
let dir: string;
let trainer: Trainer;

beforeAll(async () => {
  await selectBackend('wasm');
  data = await prepareData(config.data, '');
  dir = mkdtempSync(join(tmpdir(), 'ablate-ckpt-'));
  const model = createModel(config.model, data.srcTokenizer.vocabSize, data.tgtTokenizer.vocabSize, config.seed);
  trainer = new Trainer(model, { warmup: 4, lrFactor: 1, clipNorm: 1, labelSmoothing: 0, seed: 1 });
  const stream = new BatchStream(data.train, 100, 1);
  trainer.trainStep(stream.next());
});
afterAll(() => {
  trainer.dispose();
  trainer.model.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function save(path: string): Promise<Buffer> {
  await saveCheckpoint(path, {
    trainer,
    config,
    batchPosition: null,
    tokenizers: { src: data.srcTokenizer.toJSON(), tgt: data.tgtTokenizer.toJSON(), shared: true },
    vocab: { src: data.srcTokenizer.vocabSize, tgt: data.tgtTokenizer.vocabSize },
  });
  return readFileSync(path);
}

describe('checkpoint checksum', () => {
  it('round-trips and reports the file verified', async () => {
    const path = join(dir, 'ok.ckpt');
    await save(path);
    const ckpt = readCheckpoint(path);
    expect(ckpt.verified).toBe(true);
    expect(ckpt.header.step).toBe(1);
    expect(ckpt.tensors.weight.size).toBeGreaterThan(0);
  });

  it.each([
    ['truncated', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2)), /checksum mismatch|truncated/],
    ['truncated to a few bytes', (b: Buffer) => b.subarray(0, 10), /truncated/],
    ['bad magic', (b: Buffer) => Buffer.concat([Buffer.from('NOTACKPT'), b.subarray(8)]), /bad magic/],
    [
      'a flipped header byte',
      (b: Buffer) => {
        const c = Buffer.from(b);
        c[20] ^= 0x01;
        return c;
      },
      /checksum mismatch/,
    ],
    [
      'one flipped bit per 4 KB',
      (b: Buffer) => {
        const c = Buffer.from(b);
        for (let i = 2048; i < c.length - 32; i += 4096) c[i] ^= 1 << (i % 8);
        return c;
      },
      /checksum mismatch/,
    ],
  ])('refuses a checkpoint with %s, naming the file', async (_name, corrupt, problem) => {
    const path = join(dir, `bad-${_name.replace(/\W+/g, '-')}.ckpt`);
    const good = await save(path);
    writeFileSync(path, corrupt(good));
    let err: unknown;
    try {
      readCheckpoint(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointError);
    // A person can act on it (retry, delete the file): every front shows it as one line, no stack.
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message.startsWith(`${path}: `)).toBe(true);
    expect((err as Error).message).toMatch(problem);
  });

  it('still loads a first-format checkpoint (no checksum), marked unverified', async () => {
    const path = join(dir, 'v1.ckpt');
    const v2 = await save(path);
    const jsonLen = v2.readUInt32LE(8);
    const header = JSON.parse(v2.toString('utf8', 12, 12 + jsonLen)) as Record<string, unknown>;
    const json = Buffer.from(JSON.stringify({ ...header, format: 1 }), 'utf8');
    const prefix = Buffer.alloc(12);
    prefix.write('ABLCKPT1', 0, 'ascii');
    prefix.writeUInt32LE(json.length, 8);
    const pad = Buffer.alloc((4 - ((12 + json.length) % 4)) % 4);
    let start = 12 + jsonLen;
    start += (4 - (start % 4)) % 4;
    writeFileSync(path, Buffer.concat([prefix, json, pad, v2.subarray(start, v2.length - 32)]));
    const ckpt = readCheckpoint(path);
    expect(ckpt.verified).toBe(false);
    expect(ckpt.header.step).toBe(1);
  });

  it('names the file when it cannot be written', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    await expect(save(join(blocker, 'step.ckpt'))).rejects.toThrow(CheckpointWriteError);
    await expect(save(join(blocker, 'step.ckpt'))).rejects.toThrow(`cannot write checkpoint ${join(blocker, 'step.ckpt')}`);
  });
});

describe('resume falls back to the newest checkpoint that verifies', () => {
  it('skips a corrupt or missing latest and says why; null when none verifies', async () => {
    const run = join(dir, 'run-fallback');
    mkdirSync(run);
    const older = join(run, checkpointFileName(10));
    const latest = join(run, checkpointFileName(20));
    await save(older);
    const good = await save(latest);
    writeFileSync(latest, good.subarray(0, good.length - 100));
    const r = loadNewestVerified(latest);
    expect(r.loaded?.path).toBe(older);
    expect(r.skipped).toEqual([{ path: latest, reason: expect.stringMatching(/checksum mismatch/) }]);

    rmSync(latest);
    expect(loadNewestVerified(latest).loaded?.path).toBe(older);

    writeFileSync(older, 'garbage');
    const none = loadNewestVerified(latest);
    expect(none.loaded).toBeNull();
    expect(none.skipped.map((s) => s.path)).toEqual([latest, older]);
  });

  it('never falls forward to a newer file than the one asked for', async () => {
    const run = join(dir, 'run-forward');
    mkdirSync(run);
    await save(join(run, checkpointFileName(30)));
    const asked = join(run, checkpointFileName(20));
    expect(loadNewestVerified(asked).loaded).toBeNull();
  });
});

describe('cleanTempFiles', () => {
  it('removes the *.tmp-PID files a killed writer left, and nothing else', () => {
    const run = join(dir, 'run-tmp');
    mkdirSync(run);
    writeFileSync(join(run, 'step-00000010.ckpt.tmp-12345'), 'half');
    writeFileSync(join(run, 'step-00000010.ckpt'), 'whole');
    expect(cleanTempFiles(run)).toEqual(['step-00000010.ckpt.tmp-12345']);
    expect(readdirSync(run)).toEqual(['step-00000010.ckpt']);
    expect(existsSync(join(run, 'step-00000010.ckpt'))).toBe(true);
    expect(cleanTempFiles(join(dir, 'no-such-dir'))).toEqual([]);
  });
});
