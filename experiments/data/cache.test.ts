import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DataSchema } from '../../contract/spec';
import { prepareData } from './index';
import { Rng } from '../seeding';
import type { PreparedData } from './types';

const dir = mkdtempSync(join(tmpdir(), 'data-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const REPO = resolve(__dirname, '../..');

/** A made-up parallel corpus: `n` lines of random "words", target = a fixed rewrite of the source. */
function writeCorpus(name: string, n: number, seed: number): [string, string] {
  const rng = new Rng(seed);
  const words = Array.from({ length: 400 }, (_, i) => `w${(i * 7919) % 1000}${'aeiou'[i % 5]}x`);
  const src: string[] = [];
  const tgt: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = Array.from({ length: rng.int(3, 15) }, () => words[rng.int(0, words.length - 1)]);
    src.push(s.join(' ') + '.');
    tgt.push(s.reverse().join(' ').toUpperCase() + '!');
  }
  const paths: [string, string] = [join(dir, `${name}.src`), join(dir, `${name}.tgt`)];
  writeFileSync(paths[0], src.join('\n') + '\n');
  writeFileSync(paths[1], tgt.join('\n') + '\n');
  return paths;
}

function config(train: [string, string], valid: [string, string], vocab = 600) {
  return DataSchema.parse({ corpus: { train, valid }, tokenizer: { kind: 'bpe', vocab }, max_len: 64 });
}

/** Everything prepareData produced, hashed: equal digests ⇔ identical data and vocabularies. */
function digest(d: PreparedData): string {
  const h = createHash('sha256');
  h.update(JSON.stringify([d.srcTokenizer.toJSON(), d.tgtTokenizer === d.srcTokenizer, d.info.train, d.info.valid]));
  for (const p of [...d.train, ...d.valid]) h.update(`${p.source}\t${p.target}\t${p.src.join()}\t${p.tgt.join()}\n`);
  return h.digest('hex');
}

const cacheFiles = (cacheDir: string) => readdirSync(cacheDir).sort();

describe('tokenized-data cache', () => {
  const train = writeCorpus('train', 3000, 1);
  const valid = writeCorpus('valid', 200, 2);

  it('hits on the second call with identical data, and misses when a file or a setting changes', async () => {
    const cacheDir = join(dir, 'c1');
    const first = await prepareData(config(train, valid), cacheDir);
    const second = await prepareData(config(train, valid), cacheDir);
    expect(first.info.cacheHit).toBe(false);
    expect(second.info.cacheHit).toBe(true);
    expect(digest(second)).toBe(digest(first));
    // Restored tokenizers still encode new text the same way.
    expect(second.srcTokenizer.encode('w1ax w2ex.')).toEqual(first.srcTokenizer.encode('w1ax w2ex.'));

    const otherVocab = await prepareData(config(train, valid, 700), cacheDir);
    expect(otherVocab.info.cacheHit).toBe(false);
    // Same content at another path hits (the key is the content); changed content misses.
    const copy: [string, string] = [join(dir, 'copy.src'), join(dir, 'copy.tgt')];
    copyFileSync(train[0], copy[0]);
    copyFileSync(train[1], copy[1]);
    expect((await prepareData(config(copy, valid), cacheDir)).info.cacheHit).toBe(true);
    writeFileSync(copy[1], 'changed\n'.repeat(3000));
    expect((await prepareData(config(copy, valid), cacheDir)).info.cacheHit).toBe(false);
    expect(cacheFiles(cacheDir).every((f) => /^tokenized-[0-9a-f]{32}\.json$/.test(f))).toBe(true);
  });

  it('rebuilds over a corrupt cache file instead of failing', async () => {
    const cacheDir = join(dir, 'c2');
    await prepareData(config(train, valid), cacheDir);
    const [file] = cacheFiles(cacheDir);
    writeFileSync(join(cacheDir, file), '{"truncated":');
    const lines: string[] = [];
    const again = await prepareData(config(train, valid), cacheDir, (l) => lines.push(l));
    expect(again.info.cacheHit).toBe(false);
    expect(lines.some((l) => l.includes('ignoring unreadable'))).toBe(true);
    expect((await prepareData(config(train, valid), cacheDir)).info.cacheHit).toBe(true);
  });

  it('ends with one valid cache when two processes prepare the same data at once', async () => {
    const cacheDir = join(dir, 'c3');
    const child = join(dir, 'child.mts');
    // Both children wait for the same wall-clock instant, so their work overlaps despite different start-up times.
    writeFileSync(
      child,
      `import { prepareData } from ${JSON.stringify(pathToFileURL(join(REPO, 'experiments/data/index.ts')).href)};
import { createHash } from 'node:crypto';
const [cacheDir, cfg, startAt] = process.argv.slice(2);
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const d = await prepareData(JSON.parse(cfg), cacheDir);
const h = createHash('sha256');
h.update(JSON.stringify([d.srcTokenizer.toJSON(), d.tgtTokenizer === d.srcTokenizer, d.info.train, d.info.valid]));
for (const p of [...d.train, ...d.valid]) h.update(p.source + '\\t' + p.target + '\\t' + p.src.join() + '\\t' + p.tgt.join() + '\\n');
console.log(JSON.stringify({ hit: d.info.cacheHit, digest: h.digest('hex') }));
`,
    );
    const run = promisify(execFile);
    const cfg = JSON.stringify(config(train, valid));
    const startAt = String(Date.now() + 4000);
    const outs = await Promise.all(
      [0, 1].map(() => run(process.execPath, ['--import', 'tsx', child, cacheDir, cfg, startAt], { cwd: REPO, timeout: 60_000 })),
    );
    const results = outs.map((o) => JSON.parse(o.stdout.trim().split('\n').pop()!) as { hit: boolean; digest: string });
    expect(results[0].digest).toBe(results[1].digest);
    // One entry, no temp files left behind, and it is complete: a third run hits it and gets the same data.
    expect(cacheFiles(cacheDir)).toHaveLength(1);
    expect(cacheFiles(cacheDir)[0]).toMatch(/^tokenized-[0-9a-f]{32}\.json$/);
    const third = await prepareData(config(train, valid), cacheDir);
    expect(third.info.cacheHit).toBe(true);
    expect(digest(third)).toBe(results[0].digest);
  });
});
