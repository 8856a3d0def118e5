/**
 * A run's progress on a cluster travels as an append-only JSONL file, one per attempt, written by
 * the job beside its checkpoints (SQLite is never opened over a network filesystem). The desktop
 * reads each file from a saved byte offset and ingests whole lines only, committing the rows and
 * the new offset in one transaction: a line the writer has not finished stays for the next read.
 *
 * One line = one run-protocol message: `{"v":1,"seq":N,"time":MS,"msg":{…}}`. `seq` counts from 0
 * within the file. Non-finite numbers (a diverged loss is NaN) are data, and JSON has no literal for
 * them: they are written as `{"$num":"NaN"|"Infinity"|"-Infinity"}` and restored on reading.
 *
 * The line type and its codec live in contract/events-line.ts (the job writes it, main reads it).
 */
export { EVENT_LINE_VERSION, encodeEventLine, decodeEventLine, type EventLine } from '../../../../contract/events-line';
import { decodeEventLine, type EventLine } from '../../../../contract/events-line';

/** The part of fs/promises' FileHandle a reader needs (so tests may pass a stand-in). */
export interface ReadableHandle {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

export interface ReadLine {
  /** Byte offset of the line's first byte in the file. */
  readonly offset: number;
  readonly line: EventLine;
}

export interface TornLine {
  readonly offset: number;
  /** Bytes, newline excluded. */
  readonly length: number;
  readonly error: string;
  /** The start of the text, for a log line (at most 120 characters). */
  readonly head: string;
}

export interface ReadResult {
  /** Whole, valid lines from `offset` on, in file order. */
  readonly lines: readonly ReadLine[];
  /** Whole lines that do not parse: reported and passed over (the offset moves past them). */
  readonly torn: readonly TornLine[];
  /** Where the next read starts: after the last complete line (an unfinished line is not consumed). */
  readonly nextOffset: number;
  /** Bytes after `nextOffset` that did not end in a newline yet (0 when the file ends on a line). */
  readonly pendingBytes: number;
  /** True when the read stopped at `maxBytes` before the end of the file: call again from nextOffset. */
  readonly more: boolean;
}

export interface ReadOptions {
  /** Stop after about this many bytes of whole lines (default 16 MiB); a longer single line is read whole. */
  readonly maxBytes?: number;
  /**
   * The writer is gone for good (its attempt ended): an unterminated last line will never be
   * finished, so report it as torn and consume it instead of leaving it pending.
   */
  readonly final?: boolean;
  /** Read size (default 1 MiB; tests use tiny ones). */
  readonly chunkBytes?: number;
}

const NEWLINE = 0x0a;

/**
 * Reads the whole lines of an events file from byte `offset` to its current end. Never throws for
 * bad content: a line that is not a valid event is returned in `torn`. Pure over `handle`: nothing
 * is written, and reading again from `nextOffset` continues exactly where this read stopped.
 */
export async function readEventsFrom(handle: ReadableHandle, offset: number, opts: ReadOptions = {}): Promise<ReadResult> {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`events file offset must be a non-negative integer, got ${offset}`);
  const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  const chunkBytes = opts.chunkBytes ?? 1024 * 1024;
  const lines: ReadLine[] = [];
  const torn: TornLine[] = [];
  let consumed = offset; // file position after the last whole line handled
  let carry: Buffer = Buffer.alloc(0); // bytes read after `consumed` not yet ending in a newline
  let position = offset; // next byte to read from the file
  let eof = false;
  let more = false;

  const takeLine = (bytes: Buffer, at: number) => {
    let end = bytes.length;
    if (end && bytes[end - 1] === 0x0d) end--; // CRLF written by a Windows tool: tolerate
    if (end === 0) return; // an empty line carries nothing
    const text = bytes.subarray(0, end).toString('utf8');
    try {
      lines.push({ offset: at, line: decodeEventLine(text) });
    } catch (err) {
      torn.push({ offset: at, length: bytes.length, error: err instanceof Error ? err.message : String(err), head: text.slice(0, 120) });
    }
  };

  while (!eof && consumed - offset < maxBytes) {
    const buf = Buffer.allocUnsafe(chunkBytes);
    const { bytesRead } = await handle.read(buf, 0, chunkBytes, position);
    if (bytesRead === 0) {
      eof = true;
      break;
    }
    position += bytesRead;
    const data = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
    let start = 0;
    let nl: number;
    while ((nl = data.indexOf(NEWLINE, start)) >= 0) {
      takeLine(data.subarray(start, nl), consumed);
      consumed += nl - start + 1;
      start = nl + 1;
      if (consumed - offset >= maxBytes) break;
    }
    // Copy the tail: `buf` is reused memory from allocUnsafe and `data` may alias it.
    carry = Buffer.from(data.subarray(start));
    if (consumed - offset >= maxBytes) {
      more = true;
      break;
    }
  }
  if (more) {
    // Stopped at maxBytes: whatever follows is read next time (it may be whole already).
    return { lines, torn, nextOffset: consumed, pendingBytes: 0, more: true };
  }
  if (carry.length && opts.final) {
    // The writer is gone: its unterminated last line is either a whole event missing only its
    // newline (kept) or a torn write (reported); either way it is consumed.
    const text = carry.toString('utf8');
    try {
      lines.push({ offset: consumed, line: decodeEventLine(text) });
    } catch (err) {
      torn.push({ offset: consumed, length: carry.length, error: `unterminated last line (${err instanceof Error ? err.message : String(err)})`, head: text.slice(0, 120) });
    }
    return { lines, torn, nextOffset: consumed + carry.length, pendingBytes: 0, more: false };
  }
  return { lines, torn, nextOffset: consumed, pendingBytes: carry.length, more: false };
}
