import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpeTokenizer, loadTokenizer, preTokenize, trainBpe, trainList, trainTokenizer } from './tokenizer';
import { BOS_ID, EOS_ID, PAD_ID } from './types';

const DATA = resolve(__dirname, '../../../shared/data');
const haveData = existsSync(DATA);
const lines = (rel: string, max = Infinity) => readFileSync(resolve(DATA, rel), 'utf8').split('\n').slice(0, -1).slice(0, max);

/** Text that no training set here contains: unseen scripts, emoji, odd whitespace, the marker itself. */
const ODD = ['  two  leading and inner  spaces  ', 'tab\tand\u00a0nbsp', 'H₂O — 日本語 😀 👩‍👩‍👧', 'line\rbreak', '▁ already marked ▁▁', '<unk> <s> </s> <pad>', '', ' ', 'ÄÖÜ äöü ß', 'e\u0301 vs é'];

describe('pre-tokenization', () => {
  it('splits into pieces that concatenate back to the input', () => {
    for (const s of ODD) expect(preTokenize(s).join('')).toBe(s);
    expect(preTokenize('A man, running.')).toEqual(['A', ' man', ',', ' running', '.']);
  });
});

describe('byte-level BPE', () => {
  it('learns the merges of the Hugging Face course example in order (ug, un, hug)', () => {
    // HF NLP course, chapter 6 "Byte-Pair Encoding tokenization": corpus
    // ("hug", 10), ("pug", 5), ("pun", 12), ("bun", 4), ("hugs", 5); the first merges are
    // ("u","g") → "ug", ("u","n") → "un", ("h","ug") → "hug".
    const corpus = [...Array(10).fill('hug'), ...Array(5).fill('pug'), ...Array(12).fill('pun'), ...Array(4).fill('bun'), ...Array(5).fill('hugs')];
    const tok = trainBpe(corpus, 260 + 3);
    expect(tok.vocabSize).toBe(263);
    expect(tok.pieces([260, 261, 262])).toEqual(['ug', 'un', 'hug']);
    expect(tok.pieces(tok.encode('hugs'))).toEqual(['hug', 's']);
  });

  it('round-trips any text exactly, including characters never seen in training', () => {
    const tok = trainBpe(['a small corpus', 'with few words'], 300);
    for (const s of ODD) expect(tok.decode(tok.encode(s))).toBe(s);
  });

  it('never emits reserved ids and ignores PAD/BOS/EOS when decoding', () => {
    const tok = trainBpe(['the cat sat on the mat'], 280);
    const ids = tok.encode('the cat');
    expect(Math.min(...ids)).toBeGreaterThanOrEqual(4);
    expect(tok.decode([BOS_ID, ...ids, EOS_ID, PAD_ID, PAD_ID])).toBe('the cat');
  });

  it.skipIf(!haveData)('round-trips every Multi30k and Tatoeba line with a shared 8000 vocabulary learned on Multi30k train', () => {
    const train = [...lines('multi30k/train.en'), ...lines('multi30k/train.de')];
    const tok = trainBpe(train, 8000);
    expect(tok.vocabSize).toBe(8000);
    const restored = loadTokenizer(JSON.parse(JSON.stringify(tok.toJSON())));
    const test = [...train, ...lines('multi30k/test.de'), ...lines('tatoeba-deu-eng/valid.de'), ...lines('tatoeba-deu-eng/valid.en'), ...lines('tatoeba-deu-eng/train.de', 20000)];
    let mismatches = 0;
    let tokens = 0;
    for (const s of test) {
      const ids = tok.encode(s);
      tokens += ids.length;
      if (tok.decode(ids) !== s || restored.encode(s).join() !== ids.join()) mismatches++;
    }
    expect(mismatches).toBe(0);
    // A learned vocabulary must actually compress: fewer pieces than UTF-8 bytes.
    expect(tokens).toBeLessThan(test.reduce((a, s) => a + Buffer.byteLength(s), 0) / 3);
  });
});

describe('word and char tokenizers', () => {
  const corpus = ['A man, running.', 'Two  dogs\tplay!', 'Grüß Gott — 日本'];

  it('round-trip the text they were trained on, and restore from JSON', () => {
    for (const kind of ['word', 'char'] as const) {
      const tok = trainTokenizer(kind, corpus, 1000);
      const copy = loadTokenizer(JSON.parse(JSON.stringify(tok.toJSON())));
      expect(copy.kind).toBe(kind);
      expect(copy.vocabSize).toBe(tok.vocabSize);
      for (const s of corpus) {
        expect(tok.decode(tok.encode(s))).toBe(s);
        expect(copy.encode(s)).toEqual(tok.encode(s));
      }
    }
  });

  it('keeps the most frequent words when the vocabulary is capped and maps the rest to UNK', () => {
    const tok = trainList('word', ['b a a', 'a c b'], 4 + 2);
    // Pieces: "b" " a" " a" | "a" " c" " b". " a" occurs twice; among the singletons " b" comes
    // first in code-unit order (space sorts before letters), so the two kept are " a", " b".
    expect(tok.vocabSize).toBe(6);
    expect(tok.tokens).toEqual([' a', ' b']);
    expect(tok.encode(' c')).toEqual([3]);
  });

  it('rejects a malformed serialised tokenizer with a clear message', () => {
    expect(() => loadTokenizer({ kind: 'bpe' })).toThrow(/not a serialised tokenizer/);
    expect(() => loadTokenizer({ format: 'ablation-tokenizer', version: 1, kind: 'bpe', merges: [300, 4] })).toThrow(/not yet defined/);
    expect(new BpeTokenizer([]).vocabSize).toBe(260);
  });
});
