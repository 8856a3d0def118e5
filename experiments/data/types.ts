/**
 * The contract between data preparation (experiments/data) and its users (training, decoding,
 * evaluation, translate). Ids 0–3 are reserved in every vocabulary.
 */
import { UserError } from '../../contract/errors';

export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const UNK_ID = 3;

/** Text ⇄ ids. `decode(encode(s)) === s` for any text the tokenizer was trained on (BLEU needs the raw text back). */
export interface TextTokenizer {
  readonly kind: 'bpe' | 'word' | 'char';
  readonly vocabSize: number;
  /** Ids without BOS/EOS. */
  encode(text: string): number[];
  /** Ids (BOS/EOS/PAD ignored) back to text. */
  decode(ids: readonly number[]): string;
  /** The surface pieces of `ids`, for attention heatmap labels. */
  pieces(ids: readonly number[]): string[];
  /** Serialised form; `loadTokenizer(json)` restores an identical tokenizer. */
  toJSON(): unknown;
}

/** One sentence pair: raw text (for BLEU and samples) and ids (no BOS/EOS). */
export interface EncodedPair {
  readonly source: string;
  readonly target: string;
  readonly src: Int32Array;
  readonly tgt: Int32Array;
}

/** Counts recorded with the run. */
export interface SplitInfo {
  readonly pairs: number;
  /** Pairs dropped because a side was empty or (train split only) longer than data.max_len tokens. */
  readonly filtered: number;
}

export interface PreparedData {
  readonly srcTokenizer: TextTokenizer;
  /** Same object as srcTokenizer when the vocabulary is shared. */
  readonly tgtTokenizer: TextTokenizer;
  readonly train: readonly EncodedPair[];
  readonly valid: readonly EncodedPair[];
  readonly test?: readonly EncodedPair[];
  readonly info: { readonly train: SplitInfo; readonly valid: SplitInfo; readonly test?: SplitInfo; readonly cacheHit: boolean };
}

/**
 * A padded batch, row-major. src [size, srcLen]; tgtIn = BOS + target [size, tgtLen];
 * tgtOut = target + EOS [size, tgtLen]; PAD_ID fills the rest.
 */
export interface Batch {
  readonly size: number;
  readonly srcLen: number;
  readonly tgtLen: number;
  readonly src: Int32Array;
  readonly tgtIn: Int32Array;
  readonly tgtOut: Int32Array;
  /** Non-pad target tokens (EOS included): the loss denominator and the tokens/s numerator. */
  readonly targetTokens: number;
}

/** Raised for user data problems (missing file, line-count mismatch, bad UTF-8…): one line naming the file and value. */
export class DataError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
