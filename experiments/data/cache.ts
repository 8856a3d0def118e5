/**
 * On-disk cache of tokenized corpora and their vocabularies, so the second run of an ablation
 * grid (same data, same tokenizer settings) does not re-learn BPE and re-tokenize.
 *
 * Key: sha256 of the input files' CONTENTS (uncompressed), per split and side, plus the settings
 * that change the output (tokenizer config, max_len) and a format version. Contents rather than
 * size+mtime+path because (a) we read every byte anyway to validate UTF-8 and line counts on a
 * miss, and hashing 8 MB (Multi30k) costs ~20 ms, far below tokenization (~1.5 s); (b) it hits
 * for the same corpus at another path (a copied checkout, CI's clone) and never hits stale
 * content edited within one mtime tick.
 *
 * Concurrency: a writer writes `<key>.json.<pid>.<random>.tmp` then renames it onto
 * `<key>.json`. rename(2) is atomic within a directory, so a reader sees either no file or a
 * whole one; two runs that miss at once both compute the same deterministic result and the
 * last rename wins. No lock is needed (and none can be left behind by a crashed run).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../../contract/spec';
import { loadTokenizer } from './tokenizer';
import type { EncodedPair, SplitInfo, TextTokenizer } from './types';

/** Bump when the cached layout or the tokenizers' output changes. */
/** 2: dev and test are no longer filtered by max_len (version-1 entries hold filtered dev/test splits). */
export const CACHE_VERSION = 2;

export type SplitName = 'train' | 'valid' | 'test';

export interface CachedData {
  readonly srcTokenizer: TextTokenizer;
  readonly tgtTokenizer: TextTokenizer;
  readonly splits: Partial<Record<SplitName, { readonly pairs: EncodedPair[]; readonly info: SplitInfo }>>;
}

/** The cache key for `files` (split → uncompressed bytes per file) under `settings`. */
export function cacheKey(files: Partial<Record<SplitName, readonly Uint8Array[]>>, settings: unknown): string {
  const h = createHash('sha256');
  h.update(`v${CACHE_VERSION}\n${canonicalJson(settings)}\n`);
  for (const split of ['train', 'valid', 'test'] as const) {
    const parts = files[split];
    if (!parts) continue;
    h.update(`${split}:${parts.length}\n`);
    for (const bytes of parts) h.update(`${createHash('sha256').update(bytes).digest('hex')}\n`);
  }
  return h.digest('hex').slice(0, 32);
}

export function cacheFile(cacheDir: string, key: string): string {
  return join(cacheDir, `tokenized-${key}.json`);
}

interface StoredSplit {
  info: SplitInfo;
  sources: string[];
  targets: string[];
  /** base64 of Int32Array lengths and flat ids. */
  srcLens: string;
  tgtLens: string;
  src: string;
  tgt: string;
}

interface Stored {
  version: number;
  key: string;
  srcTokenizer: unknown;
  /** null when the vocabulary is shared. */
  tgtTokenizer: unknown;
  splits: Partial<Record<SplitName, StoredSplit>>;
}

function toB64(a: Int32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function fromB64(s: string): Int32Array {
  const buf = Buffer.from(s, 'base64');
  // Copy into a fresh, 4-byte-aligned buffer (Node's pooled Buffers may start at odd offsets).
  const out = new Int32Array(buf.length / 4);
  new Uint8Array(out.buffer).set(buf);
  return out;
}

function storeSplit(pairs: readonly EncodedPair[], info: SplitInfo): StoredSplit {
  const srcLens = Int32Array.from(pairs, (p) => p.src.length);
  const tgtLens = Int32Array.from(pairs, (p) => p.tgt.length);
  const flat = (side: 'src' | 'tgt', lens: Int32Array) => {
    const out = new Int32Array(lens.reduce((a, b) => a + b, 0));
    let at = 0;
    for (const p of pairs) {
      out.set(p[side], at);
      at += p[side].length;
    }
    return out;
  };
  return {
    info,
    sources: pairs.map((p) => p.source),
    targets: pairs.map((p) => p.target),
    srcLens: toB64(srcLens),
    tgtLens: toB64(tgtLens),
    src: toB64(flat('src', srcLens)),
    tgt: toB64(flat('tgt', tgtLens)),
  };
}

function loadSplit(s: StoredSplit): { pairs: EncodedPair[]; info: SplitInfo } {
  const srcLens = fromB64(s.srcLens);
  const tgtLens = fromB64(s.tgtLens);
  const src = fromB64(s.src);
  const tgt = fromB64(s.tgt);
  const pairs: EncodedPair[] = [];
  let a = 0;
  let b = 0;
  for (let i = 0; i < srcLens.length; i++) {
    pairs.push({ source: s.sources[i], target: s.targets[i], src: src.subarray(a, a + srcLens[i]), tgt: tgt.subarray(b, b + tgtLens[i]) });
    a += srcLens[i];
    b += tgtLens[i];
  }
  if (pairs.length !== s.sources.length || a !== src.length || b !== tgt.length) throw new Error('inconsistent cached split');
  return { pairs, info: s.info };
}

/** Reads a cache entry; undefined when absent, of another version/key, or unreadable (then it is rebuilt). */
export function readCache(cacheDir: string, key: string, log?: (line: string) => void): CachedData | undefined {
  const file = cacheFile(cacheDir, key);
  let stored: Stored;
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as Stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log?.(`data cache: ignoring unreadable ${file} (${(err as Error).message})`);
    return undefined;
  }
  try {
    if (stored.version !== CACHE_VERSION || stored.key !== key) return undefined;
    const srcTokenizer = loadTokenizer(stored.srcTokenizer);
    const tgtTokenizer = stored.tgtTokenizer === null ? srcTokenizer : loadTokenizer(stored.tgtTokenizer);
    const splits: CachedData['splits'] = {};
    for (const name of ['train', 'valid', 'test'] as const) {
      const s = stored.splits[name];
      if (s) splits[name] = loadSplit(s);
    }
    return { srcTokenizer, tgtTokenizer, splits };
  } catch (err) {
    log?.(`data cache: ignoring invalid ${file} (${(err as Error).message})`);
    return undefined;
  }
}

/** Writes a cache entry atomically (temp file + rename); see the module comment. */
export function writeCache(cacheDir: string, key: string, data: CachedData): string {
  mkdirSync(cacheDir, { recursive: true });
  const stored: Stored = {
    version: CACHE_VERSION,
    key,
    srcTokenizer: data.srcTokenizer.toJSON(),
    tgtTokenizer: data.tgtTokenizer === data.srcTokenizer ? null : data.tgtTokenizer.toJSON(),
    splits: {},
  };
  for (const name of ['train', 'valid', 'test'] as const) {
    const s = data.splits[name];
    if (s) stored.splits[name] = storeSplit(s.pairs, s.info);
  }
  const file = cacheFile(cacheDir, key);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(stored));
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return file;
}
