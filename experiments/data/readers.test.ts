import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataSchema } from '../../contract/spec';
import { prepareData } from './index';
import { DataError } from './types';

const dir = mkdtempSync(join(tmpdir(), 'data-readers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes a temp file and returns its path. */
function file(content: string | Uint8Array, name = `f${n++}.txt`): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

const good = () => [file('a b c\nd e\n'), file('x y\nz\n')] as [string, string];

function config(train: string | [string, string], valid: string | [string, string] = good(), extra: Record<string, unknown> = {}) {
  return DataSchema.parse({ corpus: { train, valid }, tokenizer: { kind: 'word', vocab: 100 }, ...extra });
}

/** Runs prepareData and returns the DataError it must throw. */
async function dataError(cfg: ReturnType<typeof config>): Promise<DataError> {
  const err = await prepareData(cfg, join(dir, 'cache')).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DataError);
  const e = err as DataError;
  expect(e.message).not.toContain('\n'); // one line for the CLI
  return e;
}

describe('corpus validation', () => {
  it('names both files and both counts when line counts differ', async () => {
    const src = file('one\ntwo\nthree\n', 'count.en');
    const tgt = file('eins\nzwei\n', 'count.de');
    const e = await dataError(config([src, tgt]));
    expect(e.message).toContain(src);
    expect(e.message).toContain(tgt);
    expect(e.message).toMatch(/3 lines/);
    expect(e.message).toMatch(/2 lines/);
  });

  it('names the file and the line of invalid UTF-8', async () => {
    const bad = Buffer.concat([Buffer.from('fine\nstill fine\nbad '), Buffer.from([0xc3, 0x28]), Buffer.from('\nlast\n')]);
    const src = file(bad, 'bad-utf8.en');
    const e = await dataError(config([src, file('a\nb\nc\nd\n')]));
    expect(e.message).toContain(src);
    expect(e.message).toMatch(/invalid UTF-8/);
    expect(e.message).toMatch(/line 3\b/);
  });

  it('reports an empty file by name', async () => {
    const empty = file('', 'empty.de');
    const e = await dataError(config([file('a\n'), empty]));
    expect(e.message).toBe(`empty file: ${empty}`);
  });

  it('reports a missing file by name, also in the valid split', async () => {
    const missing = join(dir, 'nope', 'valid.de');
    const e = await dataError(config(good(), [file('a\n'), missing]));
    expect(e.message).toBe(`missing file: ${missing}`);
  });

  it('fails when a split has no usable pairs after filtering, naming the split and files', async () => {
    // Every train pair is either empty on one side or longer than max_len (3 words).
    const vs = file('one two three four five\n\nok\n', 'nousable.en');
    const vt = file('eins\nzwei\n   \n', 'nousable.de');
    const e = await dataError(config([vs, vt], good(), { max_len: 3 }));
    expect(e.message).toMatch(/^train split/);
    expect(e.message).toContain(vs);
    expect(e.message).toContain(vt);
    expect(e.message).toMatch(/no usable pairs/);
  });

  it('reports a TSV line without a tab with its line number', async () => {
    const tsv = file('a\tb\nno tab here\n', 'bad.tsv');
    const e = await dataError(config(tsv));
    expect(e.message).toBe(`${tsv} line 2: expected source<TAB>target, found no tab`);
  });
});

describe('reading and filtering', () => {
  it('filters empty and over-long pairs and counts them per split', async () => {
    const src = file('a b\n\nc d e f g\nh\n   \n', 'filter.en');
    const tgt = file('x\ny\nz\nw w w w w\nv\n', 'filter.de');
    const d = await prepareData(config([src, tgt], undefined, { max_len: 4 }), join(dir, 'cache'));
    // Kept: (a b, x). Dropped: empty source, 5-token source, 5-token target, blank source.
    expect(d.train.map((p) => [p.source, p.target])).toEqual([['a b', 'x']]);
    expect(d.info.train).toEqual({ pairs: 1, filtered: 4 });
    expect(d.info.valid).toEqual({ pairs: 2, filtered: 0 });
  });

  it('filters only the train split by max_len: dev and test keep every sentence, however long', async () => {
    const long = 'a b c d e f g h';
    const train = [file(`a b\n${long}\n`, 'only-train.en'), file(`x y\n${long}\n`, 'only-train.de')] as [string, string];
    const valid = [file(`${long}\nc\n`, 'only-train-valid.en'), file(`z\n${long}\n`, 'only-train-valid.de')] as [string, string];
    const test = [file(`${long} i j\n`, 'only-train-test.en'), file('w\n', 'only-train-test.de')] as [string, string];
    const d = await prepareData(DataSchema.parse({ corpus: { train, valid, test }, tokenizer: { kind: 'word', vocab: 100 }, max_len: 4 }), join(dir, 'cache'));
    expect(d.info.train).toEqual({ pairs: 1, filtered: 1 });
    expect(d.info.valid).toEqual({ pairs: 2, filtered: 0 });
    expect(d.info.test).toEqual({ pairs: 1, filtered: 0 });
    expect(d.valid.map((p) => [p.source, p.target])).toEqual([[long, 'z'], ['c', long]]);
    expect(d.test![0].src.length).toBe(10);
  });

  it('reads gzip files and a TSV to the same pairs as plain aligned files', async () => {
    const en = 'A man rides a bike.\nZwei Hunde — „spielen“.\r\nlast line without newline';
    const de = 'Ein Mann fährt Rad.\nTwo dogs play.\r\nletzte Zeile';
    const plain = await prepareData(config([file(en), file(de)]), join(dir, 'cache'));
    const gz = await prepareData(config([file(gzipSync(en), 'g.en.gz'), file(gzipSync(de), 'g.de.gz')]), join(dir, 'cache'));
    const enLines = en.split(/\r?\n/);
    const deLines = de.split(/\r?\n/);
    const tsv = await prepareData(config(file(enLines.map((l, i) => `${l}\t${deLines[i]}`).join('\n'), 'pairs.tsv')), join(dir, 'cache'));
    const texts = (d: typeof plain) => d.train.map((p) => [p.source, p.target]);
    expect(texts(plain)).toEqual(enLines.map((l, i) => [l, deLines[i]]));
    expect(texts(gz)).toEqual(texts(plain));
    expect(texts(tsv)).toEqual(texts(plain));
    // gzip is recognised by its magic bytes too, whatever the file is called.
    const unnamed = await prepareData(config([file(gzipSync(en), 'gz-no-suffix.en'), file(de)]), join(dir, 'cache'));
    expect(texts(unnamed)).toEqual(texts(plain));
  });

  it('lowercases the raw text too when tokenizer.lowercase is set (references are compared lowercased)', async () => {
    const d = await prepareData(
      DataSchema.parse({ corpus: { train: [file('A Man\n'), file('Ein MANN\n')], valid: good() }, tokenizer: { kind: 'char', vocab: 100, lowercase: true } }),
      join(dir, 'cache'),
    );
    expect([d.train[0].source, d.train[0].target]).toEqual(['a man', 'ein mann']);
    expect(d.tgtTokenizer.decode([...d.train[0].tgt])).toBe('ein mann');
  });
});
