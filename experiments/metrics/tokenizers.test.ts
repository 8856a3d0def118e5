/**
 * The tokenizers against the real sacreBLEU 2.6.0 (test/fixtures/sacrebleu/sacrebleu-vectors.json:
 * tricky lines — Unicode punctuation and symbols, digits around . , -, HTML entities, astral
 * characters, every kind of whitespace Python knows), plus cases written out by hand from the
 * mteval-v13a rules.
 */
import { describe, expect, it } from 'vitest';
import { preprocessSegment, pyRstrip, pySplit, sacrebleuTokenize, tokenize13a, tokenizeChar, tokenizeIntl } from './tokenizers';
import { loadVectors } from '../../test/fixtures/sacrebleu/vectors';

const vectors = loadVectors();

describe('sacreBLEU tokenizers against sacreBLEU 2.6.0 outputs', () => {
  for (const [i, c] of vectors.tokenizer_cases.entries()) {
    it(`${c.tokenize} #${i}: ${JSON.stringify(c.line).slice(0, 50)}`, () => {
      expect(sacrebleuTokenize(c.line, c.tokenize)).toBe(c.tokenized);
      expect(preprocessSegment(c.line, c.tokenize, false)).toBe(c.preprocessed);
      expect(preprocessSegment(c.line, c.tokenize, true)).toBe(c.preprocessed_lowercase);
    });
  }
});

describe('tokenizers by hand, from the rules', () => {
  it('13a splits punctuation off words but keeps decimal points and thousands separators inside numbers', () => {
    expect(tokenize13a('Hello, world! It costs 1,234.56 (today).')).toBe('Hello , world ! It costs 1,234.56 ( today ) .');
  });

  it('13a splits a dash only after a digit', () => {
    expect(tokenize13a('5-10 well-known')).toBe('5 - 10 well-known');
  });

  it('13a unescapes &quot; &amp; &lt; &gt; and drops <skipped>', () => {
    expect(tokenize13a('&lt;a&gt; &amp; &quot;b&quot; <skipped>c')).toBe('< a > & " b " c');
  });

  it('intl splits Unicode punctuation and symbols that 13a leaves attached', () => {
    expect(tokenizeIntl('„Gut“, 100€!')).toBe('„ Gut “ , 100 € !');
    expect(tokenize13a('„Gut“, 100€!')).toBe('„Gut“ , 100€ !');
  });

  it('intl keeps punctuation between digits', () => {
    expect(tokenizeIntl('3.14 und 1,5')).toBe('3.14 und 1,5');
  });

  it('char puts a space between every code point, astral characters kept whole', () => {
    expect(tokenizeChar('a😀b')).toBe('a 😀 b');
  });

  it("splits on Python's whitespace: \\x1c and U+0085 separate, U+FEFF and U+200B do not", () => {
    expect(pySplit('a\x1cb\x85c\ufeffd\u200be\u3000f')).toEqual(['a', 'b', 'c\ufeffd\u200be', 'f']);
    expect(pyRstrip('x \t\u00a0\ufeff')).toBe('x \t\u00a0\ufeff');
    expect(pyRstrip('x \t\u00a0')).toBe('x');
  });
});
