import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expandSpec, parseSpec } from '../../contract/spec';
import { learnedPositionProblems, tokenBound } from './positions';

const dir = mkdtempSync(join(tmpdir(), 'data-positions-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

const longLine = Array.from({ length: 20 }, (_, i) => `w${i}`).join(' '); // 20 word tokens
const train = [file('train.en', 'a b\n'), file('train.de', 'x y\n')];
const valid = [file('valid.en', `a\n${longLine}\n`), file('valid.de', 'x\ny\n')];

function runs(positional: 'learned' | 'sinusoidal', maxLen = 8) {
  return expandSpec(parseSpec({ name: 'p', data: { corpus: { train, valid }, tokenizer: { kind: 'word', vocab: 50 }, max_len: maxLen }, base: { positional } }));
}

describe('learned positions at queue time', () => {
  it('refuses a learned-position spec whose dev sentence is longer than the table, naming the sentence', () => {
    expect(learnedPositionProblems(runs('learned'), 16)).toEqual([
      'base: positional: learned covers 16 positions; valid sentence 2 has 20 source and 1 target word tokens; dev and test are scored on every sentence, so use positional: sinusoidal for this corpus',
    ]);
  });

  it('accepts the same data with sinusoidal positions, or a table that covers it', () => {
    expect(learnedPositionProblems(runs('sinusoidal'), 16)).toEqual([]);
    expect(learnedPositionProblems(runs('learned'), 21)).toEqual([]);
  });

  it('refuses a max_len whose BOS + target does not fit', () => {
    expect(learnedPositionProblems(runs('learned', 30), 30)[0]).toBe('base: positional: learned covers 30 positions; data.max_len 30 needs 31 (BOS + target)');
  });

  it('counts word and char tokens exactly and bounds BPE by UTF-8 bytes', () => {
    expect(tokenBound('word', 'Hello, world!')).toBe(4); // "Hello" "," " world" "!"
    expect(tokenBound('char', 'Grüße')).toBe(5);
    expect(tokenBound('bpe', 'Grüße')).toBe(7);
  });
});
