import { describe, expect, it } from 'vitest';
import { checkSentence, sentenceWarning } from './attention-check';

describe('a typed sentence as the model read it', () => {
  it('warns when every word is unknown, instead of presenting 56 repeats as a translation', () => {
    const c = checkSentence(['<unk>', '<unk>', '<unk>', '</s>'], [...Array(56).fill('w3'), '</s>']);
    expect(c).toEqual({ tokens: 3, unknown: 3, allUnknown: true, longestRepeat: 56 });
    expect(sentenceWarning(c)).toMatch(/^None of these words is in the model’s vocabulary \(all 3 read as <unk>\)/);
  });
  it('counts some unknown words and a runaway decode', () => {
    const c = checkSentence(['w3', '<unk>', 'w5'], [...Array(9).fill('x'), 'y']);
    expect(sentenceWarning(c)).toBe('1 of 3 tokens are not in the model’s vocabulary (shown as <unk>); the decode repeats one token 9 times (it ran to the length limit).');
  });
  it('says nothing for a sentence the model knows', () => {
    expect(sentenceWarning(checkSentence(['w3', 'w5', '</s>'], ['w5', 'w3', '</s>']))).toBeNull();
  });
});
