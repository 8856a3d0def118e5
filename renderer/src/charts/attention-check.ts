/**
 * What to say about a typed sentence once the model has read it: how many of its tokens the model
 * does not know (`<unk>`), and whether the decode ran away (one token repeated to the length
 * limit). A sentence of only unknown words gives the model nothing to translate: its output (often
 * the same token dozens of times) is noise, so the panel warns instead of presenting it.
 */
const SPECIAL = new Set(['<pad>', '<s>', '</s>']);
export const UNK = '<unk>';

export interface SentenceCheck {
  /** Tokens of the sentence (specials left out) and how many of them are unknown. */
  readonly tokens: number;
  readonly unknown: number;
  /** Every token unknown: the translation means nothing. */
  readonly allUnknown: boolean;
  /** The longest run of one repeated output token (a runaway decode when long). */
  readonly longestRepeat: number;
}

export function checkSentence(sourceTokens: readonly string[], targetTokens: readonly string[]): SentenceCheck {
  const words = sourceTokens.filter((t) => !SPECIAL.has(t));
  const unknown = words.filter((t) => t === UNK).length;
  let longestRepeat = 0;
  let run = 0;
  const out = targetTokens.filter((t) => !SPECIAL.has(t));
  out.forEach((t, i) => {
    run = i > 0 && out[i - 1] === t ? run + 1 : 1;
    longestRepeat = Math.max(longestRepeat, run);
  });
  return { tokens: words.length, unknown, allUnknown: words.length > 0 && unknown === words.length, longestRepeat };
}

/** The warning to show, or null when the sentence is fine. */
export function sentenceWarning(c: SentenceCheck): string | null {
  if (c.allUnknown) return `None of these words is in the model’s vocabulary (all ${c.tokens} read as ${UNK}): there is nothing to translate, and the output below is noise. Type words from the training data.`;
  const parts: string[] = [];
  if (c.unknown > 0) parts.push(`${c.unknown} of ${c.tokens} tokens are not in the model’s vocabulary (shown as ${UNK})`);
  if (c.longestRepeat >= 8) parts.push(`the decode repeats one token ${c.longestRepeat} times (it ran to the length limit)`);
  return parts.length ? `${parts.join('; ')}.` : null;
}
