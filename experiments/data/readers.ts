/**
 * Reading a corpus split from disk: aligned source/target text files (optionally gzip'd) or one
 * TSV file. Every user mistake becomes a one-line DataError naming the file and the value
 * (missing file, empty file, invalid UTF-8 with its line, line counts that differ, a TSV line
 * without exactly one tab). Nothing here tokenizes; filtering by length happens after
 * tokenization in index.ts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from './types';

/** The raw bytes of a split's file(s), read once and reused for both the cache key and parsing. */
export interface SplitSource {
  /** The file paths as configured (one for TSV, two for aligned files). */
  readonly files: readonly string[];
  /** Uncompressed bytes per file, same order as `files`. */
  readonly bytes: readonly Uint8Array[];
}

/** Raw sentence pairs of one split, in file order. */
export interface RawSplit {
  readonly sources: string[];
  readonly targets: string[];
}

/** Reads a file's bytes (gunzipping *.gz), failing with one line for a missing, unreadable or empty file. */
export function readFileBytes(file: string): Uint8Array {
  if (!existsSync(file)) throw new DataError(`missing file: ${file}`);
  if (!statSync(file).isFile()) throw new DataError(`not a file: ${file}`);
  let bytes: Uint8Array = readFileSync(file);
  // gzip by name or by its magic bytes (1f 8b can never start UTF-8 text: 8b is a continuation byte).
  if (file.endsWith('.gz') || (bytes[0] === 0x1f && bytes[1] === 0x8b)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new DataError(`not a valid gzip file: ${file} (${(err as Error).message})`);
    }
  }
  if (bytes.length === 0) throw new DataError(`empty file: ${file}`);
  return bytes;
}

/** Reads the file(s) of a split: `[source, target]` or a single TSV path. */
export function readSplitSource(split: string | readonly [string, string]): SplitSource {
  const files = typeof split === 'string' ? [split] : [split[0], split[1]];
  return { files, bytes: files.map(readFileBytes) };
}

/**
 * Decodes UTF-8 strictly and splits into lines ("\n" or "\r\n"; a final newline does not start
 * an extra line). Invalid UTF-8 is reported with its 1-based line number, found by re-decoding
 * line by line only after the fast whole-file decode failed.
 */
export function decodeLines(bytes: Uint8Array, file: string): string[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(`invalid UTF-8 in ${file} at line ${firstInvalidLine(bytes)}`);
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) if (lines[i].endsWith('\r')) lines[i] = lines[i].slice(0, -1);
  if (lines.length === 0) throw new DataError(`empty file: ${file}`);
  return lines;
}

function firstInvalidLine(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  let line = 1;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      start = i + 1;
      line++;
    }
  }
  return line; // Unreachable for input that failed a whole-file decode; keeps the type total.
}

/** Parses a split's bytes into aligned raw pairs (validating line counts and TSV shape). */
export function parseSplit(source: SplitSource): RawSplit {
  if (source.files.length === 1) return parseTsv(source.bytes[0], source.files[0]);
  const [srcFile, tgtFile] = source.files;
  const sources = decodeLines(source.bytes[0], srcFile);
  const targets = decodeLines(source.bytes[1], tgtFile);
  if (sources.length !== targets.length) {
    throw new DataError(`line counts differ: ${srcFile} has ${sources.length} lines, ${tgtFile} has ${targets.length} lines`);
  }
  return { sources, targets };
}

function parseTsv(bytes: Uint8Array, file: string): RawSplit {
  const lines = decodeLines(bytes, file);
  const sources: string[] = [];
  const targets: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const tab = line.indexOf('\t');
    // A blank line is an empty pair (filtered and counted later), not a format error.
    if (line === '') {
      sources.push('');
      targets.push('');
      continue;
    }
    if (tab < 0) throw new DataError(`${file} line ${i + 1}: expected source<TAB>target, found no tab`);
    if (line.indexOf('\t', tab + 1) >= 0) {
      throw new DataError(`${file} line ${i + 1}: expected source<TAB>target, found ${line.split('\t').length - 1} tabs`);
    }
    sources.push(line.slice(0, tab));
    targets.push(line.slice(tab + 1));
  }
  return { sources, targets };
}
