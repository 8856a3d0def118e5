/**
 * sacreBLEU 2.x's tokenizers, ported character for character (sacrebleu/tokenizers/tokenizer_13a.py,
 * tokenizer_re.py, tokenizer_intl.py, tokenizer_char.py, tokenizer_none.py), plus the bits of
 * Python string semantics they rely on (`str.split()`, `str.rstrip()`), so that BLEU computed here
 * sees exactly the tokens sacreBLEU sees.
 */

/** The sacreBLEU tokenizers this project supports (zh, ja-mecab, spm need external models). */
export const SACREBLEU_TOKENIZERS = ['13a', 'intl', 'char', 'none'] as const;
export type SacrebleuTokenizer = (typeof SACREBLEU_TOKENIZERS)[number];

/** True when `name` is one of {@link SACREBLEU_TOKENIZERS}. */
export function isSacrebleuTokenizer(name: string): name is SacrebleuTokenizer {
  return (SACREBLEU_TOKENIZERS as readonly string[]).includes(name);
}

// Python's str.isspace() set (Unicode White_Space plus the ASCII separators \x1c-\x1f), which is
// what str.split() and str.rstrip() use. JS's \s differs: it adds U+FEFF and lacks \x1c-\x1f, U+0085.
const PY_WHITESPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_TOKEN = new RegExp(`[^${PY_WHITESPACE}]+`, 'gu');
const PY_SPACE_CHAR = new RegExp(`^[${PY_WHITESPACE}]$`, 'u');

function isPyWhitespaceCode(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x1f);
  if (code < 0x85) return false;
  return PY_SPACE_CHAR.test(String.fromCharCode(code));
}

/** Python's `s.split()`: the runs of non-whitespace, no empty strings. */
export function pySplit(s: string): string[] {
  return s.match(PY_TOKEN) ?? [];
}

/** Python's `s.rstrip()`: trailing whitespace removed (Python's definition of whitespace). */
export function pyRstrip(s: string): string {
  let end = s.length;
  while (end > 0 && isPyWhitespaceCode(s.charCodeAt(end - 1))) end--;
  return end === s.length ? s : s.slice(0, end);
}

// tokenizer_re.py (the post-tokenizer of 13a). The first class is sacreBLEU's
// [\{-\~\[-\` -\&\(-\+\:-\@\/] written with code points: { | } ~, [ \ ] ^ _ `, space ! " # $ % &,
// ( ) * +, : ; < = > ? @ and /.
const RE_13A_SYMBOLS = /([\x7b-\x7e\x5b-\x60\x20-\x26\x28-\x2b\x3a-\x40\x2f])/gu;
// Period and comma split off unless preceded by a digit …
const RE_13A_PERIOD_COMMA_AFTER_NON_DIGIT = /([^0-9])([.,])/gu;
// … or unless followed by a digit.
const RE_13A_PERIOD_COMMA_BEFORE_NON_DIGIT = /([.,])([^0-9])/gu;
// A dash split off after a digit.
const RE_13A_DASH_AFTER_DIGIT = /([0-9])(-)/gu;

/** sacreBLEU's `13a` tokenizer (mteval-v13a.pl), the default for BLEU. */
export function tokenize13a(line: string): string {
  // language-independent part (tokenizer_13a.py)
  // (the includes() guards only skip work: each replacement is a no-op without its trigger)
  let s = line.includes('<skipped>') ? line.replaceAll('<skipped>', '') : line;
  if (s.includes('\n')) s = s.replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) {
    s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  s = ` ${s} `;
  s = s.replace(RE_13A_SYMBOLS, ' $1 ');
  s = s.replace(RE_13A_PERIOD_COMMA_AFTER_NON_DIGIT, '$1 $2 ');
  s = s.replace(RE_13A_PERIOD_COMMA_BEFORE_NON_DIGIT, ' $1 $2');
  s = s.replace(RE_13A_DASH_AFTER_DIGIT, '$1 $2 ');
  return pySplit(s).join(' ');
}

// tokenizer_intl.py (mteval-v14.pl's international tokenization), with Python `regex`'s Unicode
// property classes mapped to JS's \p{..} under the u flag.
const RE_INTL_PUNCT_AFTER_NON_NUMBER = /(\P{N})(\p{P})/gu;
const RE_INTL_PUNCT_BEFORE_NON_NUMBER = /(\p{P})(\P{N})/gu;
const RE_INTL_SYMBOL = /(\p{S})/gu;

/** sacreBLEU's `intl` tokenizer: splits punctuation (unless between digits) and symbols. */
export function tokenizeIntl(line: string): string {
  let s = line.replace(RE_INTL_PUNCT_AFTER_NON_NUMBER, '$1 $2 ');
  s = s.replace(RE_INTL_PUNCT_BEFORE_NON_NUMBER, ' $1 $2');
  s = s.replace(RE_INTL_SYMBOL, ' $1 ');
  return pySplit(s).join(' ');
}

/** sacreBLEU's `char` tokenizer: every code point (spaces included) joined by a space. */
export function tokenizeChar(line: string): string {
  return Array.from(line).join(' ');
}

/**
 * Tokenizes one segment exactly as the named sacreBLEU tokenizer does (the tokenizer alone: BLEU
 * first lowercases when asked and right-strips the segment, see {@link preprocessSegment}).
 *
 * @example sacrebleuTokenize('Hello, world!', '13a') // 'Hello , world !'
 */
export function sacrebleuTokenize(line: string, kind: SacrebleuTokenizer): string {
  switch (kind) {
    case '13a':
      return tokenize13a(line);
    case 'intl':
      return tokenizeIntl(line);
    case 'char':
      return tokenizeChar(line);
    case 'none':
      return line;
    default:
      throw new Error(`unknown sacreBLEU tokenizer "${String(kind)}" (expected ${SACREBLEU_TOKENIZERS.join(', ')})`);
  }
}

/**
 * What BLEU does to each hypothesis and reference before counting n-grams (BLEU._preprocess_segment):
 * lowercase when asked, strip trailing whitespace, tokenize.
 */
export function preprocessSegment(sentence: string, kind: SacrebleuTokenizer, lowercase: boolean): string {
  return sacrebleuTokenize(pyRstrip(lowercase ? sentence.toLowerCase() : sentence), kind);
}
