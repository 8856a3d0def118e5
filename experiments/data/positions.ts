/**
 * Learned position tables cover MAX_LEARNED_POSITIONS positions. Dev and test are scored on every
 * sentence (no max_len filter), so a spec with `positional: learned` is checked when it is queued,
 * never after training: every train pair fits by max_len, and the longest dev/test sentence must
 * fit on both sides (source positions for the encoder, BOS + target for the teacher-forced loss).
 * Decoding caps hypotheses at the table (experiments/decode).
 *
 * Token counts before any tokenizer is learned: `word` and `char` are exact (the split is fixed);
 * byte-level BPE is bounded above by the sentence's UTF-8 bytes (merges only shorten), so a
 * sentence of more bytes than positions is refused although BPE might have fitted it.
 */
import type { DataConfig, RunConfig } from '../../contract/spec';
import { MAX_LEARNED_POSITIONS } from '../model/positional';
import { parseSplit, readSplitSource } from './readers';
import { preTokenize } from './tokenizer';

const utf8 = new TextEncoder();

/** Tokens `text` becomes under `kind` (BPE: an upper bound, its UTF-8 bytes). */
export function tokenBound(kind: DataConfig['tokenizer']['kind'], text: string): number {
  if (kind === 'word') return preTokenize(text).length;
  if (kind === 'char') return Array.from(text).length;
  return utf8.encode(text).length;
}

/** The problems of runs with learned positions whose data cannot fit the table; empty when every run fits. */
export function learnedPositionProblems(runs: readonly { readonly config: RunConfig }[], cap = MAX_LEARNED_POSITIONS): string[] {
  const problems: string[] = [];
  const checked = new Set<string>();
  for (const { config } of runs) {
    if (config.model.positional !== 'learned') continue;
    const key = JSON.stringify(config.data);
    if (checked.has(key)) continue;
    checked.add(key);
    const where = `${config.variant}: positional: learned covers ${cap} positions`;
    // Decoder input is BOS + target: a max_len target needs max_len + 1 positions.
    if (config.data.max_len + 1 > cap) problems.push(`${where}; data.max_len ${config.data.max_len} needs ${config.data.max_len + 1} (BOS + target)`);
    const corpus = config.data.corpus;
    if (!corpus) continue;
    const kind = config.data.tokenizer.kind;
    for (const [name, files] of [['valid', corpus.valid], ['test', corpus.test]] as const) {
      if (files === undefined) continue;
      const split = parseSplit(readSplitSource(files));
      const lower = config.data.tokenizer.lowercase;
      for (let i = 0; i < split.sources.length; i++) {
        const src = tokenBound(kind, lower ? split.sources[i].toLowerCase() : split.sources[i]);
        const tgt = tokenBound(kind, lower ? split.targets[i].toLowerCase() : split.targets[i]) + 1;
        if (src > cap || tgt > cap) {
          const unit = kind === 'bpe' ? 'UTF-8 bytes, an upper bound of its BPE tokens' : `${kind} tokens`;
          problems.push(`${where}; ${name} sentence ${i + 1} has ${src} source and ${tgt - 1} target ${unit}; dev and test are scored on every sentence, so use positional: sinusoidal for this corpus`);
          break;
        }
      }
    }
  }
  return problems;
}
