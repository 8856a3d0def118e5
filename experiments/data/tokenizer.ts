/**
 * Text ⇄ ids: byte-level BPE (learned on the train split, vocabulary-size knob), `word` and `char`.
 *
 * Why a hand-written BPE and not a library (measured on this machine, Node 20 linux-x64, npm
 * registry only):
 * - `tokenizers@0.13.3` (HuggingFace Rust bindings) installs without its platform binary:
 *   `tokenizers-linux-x64-gnu@0.13.3` is not in the registry (ETARGET), so `require` fails.
 * - `tokenizers@0.23.2` loads and trains, but its Node binding exposes `Tokenizer.train(files)`
 *   with no trainer options (no vocabulary-size knob: always the default 30 000), no ByteLevel
 *   decoder, and only async `encode` (TextTokenizer.encode is synchronous: translate and
 *   attention maps call it). Its trainer's alphabet is the bytes seen in training, so unseen
 *   characters are dropped: "H₂O" decoded as "H�O", "日本" as "�" on Tatoeba/unit lines, and the
 *   Metaspace pre-tokenizer collapses double spaces. Exact detokenization is required for BLEU.
 * - `@huggingface/tokenizers@0.2.0` (pure JS) encodes synchronously but cannot train.
 * So: ~150 lines of standard byte-level BPE (Sennrich et al. 2016 merges over UTF-8 bytes, as in
 * GPT-2). Every string is representable (256 byte symbols are always in the vocabulary), so
 * `decode(encode(s)) === s` for any text, not only text seen in training.
 *
 * Pre-tokenization (all kinds): a word is an optional single leading space plus a run of letters,
 * digits and marks, or plus one other non-space character; any other whitespace character is a
 * token of its own. The pieces concatenate back to the input exactly (tested on Multi30k and
 * Tatoeba), so `word` round-trips too for in-vocabulary text.
 *
 * Ids 0–3 are PAD, BOS, EOS, UNK in every vocabulary (see types.ts).
 */
import { BOS_ID, EOS_ID, PAD_ID, UNK_ID, type TextTokenizer } from './types';

export type TokenizerKind = TextTokenizer['kind'];

/** First id after the reserved ones. */
const FIRST_ID = 4;
/** BPE: ids 4..259 are the 256 byte values; merges start at 260. */
const BYTE_BASE = FIRST_ID;
const FIRST_MERGE_ID = BYTE_BASE + 256;
/** Pair key a·2^21 + b stays exact in a double for ids below 2^21 (2 M): far above any vocabulary here. */
const PAIR_SHIFT = 2 ** 21;
const UNK_TEXT = '<unk>';
const SPECIAL_PIECES = ['<pad>', '<s>', '</s>', UNK_TEXT];

const PRETOKEN = / ?[\p{L}\p{N}\p{M}]+| ?[^\s\p{L}\p{N}\p{M}]|\s/gu;

/** Splits text into pre-tokens whose concatenation is the text. */
export function preTokenize(text: string): string[] {
  return text.match(PRETOKEN) ?? [];
}

/** Heatmap label for a surface string: spaces shown as ▁ so word starts stay visible. */
function label(s: string): string {
  return s.replace(/ /g, '▁');
}

// ---------------------------------------------------------------------------------------------
// Byte-level BPE

/** Byte-level BPE: `merges[i] = [a, b]` creates id 260 + i from ids a and b. */
export class BpeTokenizer implements TextTokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  private readonly ranks = new Map<number, number>();
  private readonly pieceBytes: Uint8Array[] = [];
  private readonly wordCache = new Map<string, number[]>();
  private readonly utf8 = new TextEncoder();
  private readonly text = new TextDecoder('utf-8');

  constructor(readonly merges: readonly (readonly [number, number])[]) {
    this.vocabSize = FIRST_MERGE_ID + merges.length;
    for (let i = 0; i < FIRST_ID; i++) this.pieceBytes.push(new Uint8Array(0));
    for (let b = 0; b < 256; b++) this.pieceBytes.push(Uint8Array.of(b));
    merges.forEach(([a, b], rank) => {
      if (!(a >= BYTE_BASE && a < FIRST_MERGE_ID + rank && b >= BYTE_BASE && b < FIRST_MERGE_ID + rank)) {
        throw new Error(`BPE merge ${rank} refers to an id not yet defined: [${a}, ${b}]`);
      }
      this.ranks.set(a * PAIR_SHIFT + b, rank);
      const pa = this.pieceBytes[a];
      const pb = this.pieceBytes[b];
      const joined = new Uint8Array(pa.length + pb.length);
      joined.set(pa);
      joined.set(pb, pa.length);
      this.pieceBytes.push(joined);
    });
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const word of preTokenize(text)) {
      let ids = this.wordCache.get(word);
      if (!ids) {
        ids = this.encodeWord(this.utf8.encode(word));
        // Bounded memo: corpora repeat words heavily; a cap keeps memory flat on huge inputs.
        if (this.wordCache.size > 200_000) this.wordCache.clear();
        this.wordCache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
    return out;
  }

  /** Applies merges lowest rank first, as they were learned. */
  private encodeWord(bytes: Uint8Array): number[] {
    let sym = Array.from(bytes, (b) => b + BYTE_BASE);
    for (;;) {
      let best = -1;
      for (let i = 0; i + 1 < sym.length; i++) {
        const r = this.ranks.get(sym[i] * PAIR_SHIFT + sym[i + 1]);
        if (r !== undefined && (best < 0 || r < best)) best = r;
      }
      if (best < 0) return sym;
      const [a, b] = this.merges[best];
      const merged: number[] = [];
      for (let i = 0; i < sym.length; i++) {
        if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) {
          merged.push(FIRST_MERGE_ID + best);
          i++;
        } else merged.push(sym[i]);
      }
      sym = merged;
    }
  }

  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (const id of ids) {
      if (id === PAD_ID || id === BOS_ID || id === EOS_ID) continue;
      const piece = id === UNK_ID || id < 0 || id >= this.vocabSize ? this.utf8.encode(UNK_TEXT) : this.pieceBytes[id];
      parts.push(piece);
      length += piece.length;
    }
    const all = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return this.text.decode(all);
  }

  pieces(ids: readonly number[]): string[] {
    return ids.map((id) => (id < FIRST_ID || id >= this.vocabSize ? SPECIAL_PIECES[id] ?? UNK_TEXT : label(this.text.decode(this.pieceBytes[id]))));
  }

  toJSON(): unknown {
    return { format: 'ablation-tokenizer', version: 1, kind: 'bpe', merges: this.merges.flat() };
  }
}

/** Max-heap of [count, pairKey]; ties broken by the smaller key so training is deterministic. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.counts.length && this.above(l, m)) m = l;
        if (r < this.counts.length && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/**
 * Learns byte-level BPE merges on `texts` until the vocabulary (specials + 256 bytes + merges)
 * reaches `vocabSize` or no pair occurs twice. Incremental pair counts with a lazy max-heap:
 * Multi30k (58k sentences) to 8000 merges takes about a second.
 */
export function trainBpe(texts: Iterable<string>, vocabSize: number): BpeTokenizer {
  const wordCounts = new Map<string, number>();
  for (const text of texts) for (const w of preTokenize(text)) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  const encoder = new TextEncoder();
  const words: number[][] = [];
  const freq: number[] = [];
  // Sorted so that pair ties (broken by key) and word order never depend on Map insertion order.
  for (const w of [...wordCounts.keys()].sort()) {
    words.push(Array.from(encoder.encode(w), (b) => b + BYTE_BASE));
    freq.push(wordCounts.get(w)!);
  }
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: 1 | -1, touched: Set<number>) => {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i] * PAIR_SHIFT + w[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * freq[wi]);
      touched.add(key);
      if (sign > 0) {
        let set = where.get(key);
        if (!set) where.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  const initial = new Set<number>();
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1, initial);
  const heap = new PairHeap();
  for (const key of initial) heap.push(pairCount.get(key)!, key);

  const merges: [number, number][] = [];
  const target = Math.max(0, vocabSize - FIRST_MERGE_ID);
  while (merges.length < target && heap.size) {
    const [count, key] = heap.pop();
    if (pairCount.get(key) !== count) continue; // stale heap entry
    if (count < 2) break; // a merge seen once only memorises a word
    const a = Math.floor(key / PAIR_SHIFT);
    const b = key - a * PAIR_SHIFT;
    const id = FIRST_MERGE_ID + merges.length;
    merges.push([a, b]);
    const touched = new Set<number>();
    for (const wi of where.get(key) ?? []) {
      const w = words[wi];
      let has = false;
      for (let i = 0; i + 1 < w.length; i++) if (w[i] === a && w[i + 1] === b) has = true;
      if (!has) continue;
      addPairs(wi, -1, touched);
      const merged: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          merged.push(id);
          i++;
        } else merged.push(w[i]);
      }
      words[wi] = merged;
      addPairs(wi, 1, touched);
    }
    where.delete(key);
    for (const k of touched) {
      const c = pairCount.get(k)!;
      if (c > 0) heap.push(c, k);
      else pairCount.delete(k);
    }
  }
  return new BpeTokenizer(merges);
}

// ---------------------------------------------------------------------------------------------
// word and char

/**
 * A fixed list of surface strings (words with their leading space, or characters); the rest is
 * UNK. `symbols: true` is the synthetic tasks' variant: text is symbols separated by single
 * spaces, each symbol one id (so `w5` is the same id at the start of a sentence and inside it),
 * and decoding joins with single spaces.
 */
export class ListTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  private readonly ids = new Map<string, number>();

  constructor(
    readonly kind: 'word' | 'char',
    readonly tokens: readonly string[],
    readonly symbols = false,
  ) {
    this.vocabSize = FIRST_ID + tokens.length;
    tokens.forEach((t, i) => this.ids.set(t, FIRST_ID + i));
  }

  private split(text: string): string[] {
    return splitList(this.kind, text, this.symbols);
  }

  encode(text: string): number[] {
    return this.split(text).map((t) => this.ids.get(t) ?? UNK_ID);
  }

  decode(ids: readonly number[]): string {
    const out: string[] = [];
    for (const id of ids) {
      if (id === PAD_ID || id === BOS_ID || id === EOS_ID) continue;
      out.push(id >= FIRST_ID && id < this.vocabSize ? this.tokens[id - FIRST_ID] : UNK_TEXT);
    }
    return out.join(this.symbols ? ' ' : '');
  }

  pieces(ids: readonly number[]): string[] {
    return ids.map((id) => (id >= FIRST_ID && id < this.vocabSize ? label(this.tokens[id - FIRST_ID]) : SPECIAL_PIECES[id] ?? UNK_TEXT));
  }

  toJSON(): unknown {
    return { format: 'ablation-tokenizer', version: 1, kind: this.kind, tokens: this.tokens, ...(this.symbols ? { symbols: true } : {}) };
  }
}

function splitList(kind: 'word' | 'char', text: string, symbols: boolean): string[] {
  if (symbols) return text === '' ? [] : text.split(' ');
  return kind === 'word' ? preTokenize(text) : Array.from(text);
}

/** Keeps the `vocabSize - 4` most frequent words (or characters), ties in code-unit order. */
export function trainList(kind: 'word' | 'char', texts: Iterable<string>, vocabSize: number, symbols = false): ListTokenizer {
  const counts = new Map<string, number>();
  for (const text of texts) for (const t of splitList(kind, text, symbols)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const sorted = [...counts.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  return new ListTokenizer(kind, sorted.slice(0, Math.max(0, vocabSize - FIRST_ID)).map(([t]) => t), symbols);
}

/** Learns a tokenizer of `kind` on `texts` with at most `vocabSize` ids (reserved ids included). */
export function trainTokenizer(kind: TokenizerKind, texts: Iterable<string>, vocabSize: number): TextTokenizer {
  return kind === 'bpe' ? trainBpe(texts, vocabSize) : trainList(kind, texts, vocabSize);
}

/** Restores a tokenizer from its `toJSON()` (e.g. from a checkpoint). */
export function loadTokenizer(json: unknown): TextTokenizer {
  const j = json as { format?: unknown; version?: unknown; kind?: unknown; merges?: unknown; tokens?: unknown } | null;
  if (!j || j.format !== 'ablation-tokenizer' || j.version !== 1) throw new Error('not a serialised tokenizer (expected format "ablation-tokenizer", version 1)');
  if (j.kind === 'bpe') {
    if (!Array.isArray(j.merges) || j.merges.length % 2 !== 0 || !j.merges.every((x) => Number.isInteger(x))) throw new Error('BPE tokenizer: merges must be an even-length list of integer ids');
    const flat = j.merges as number[];
    const merges: [number, number][] = [];
    for (let i = 0; i < flat.length; i += 2) merges.push([flat[i], flat[i + 1]]);
    return new BpeTokenizer(merges);
  }
  if (j.kind === 'word' || j.kind === 'char') {
    if (!Array.isArray(j.tokens) || !j.tokens.every((t) => typeof t === 'string')) throw new Error(`${j.kind} tokenizer: tokens must be a list of strings`);
    return new ListTokenizer(j.kind, j.tokens as string[], (j as { symbols?: unknown }).symbols === true);
  }
  throw new Error(`unknown tokenizer kind: ${String(j.kind)}`);
}
