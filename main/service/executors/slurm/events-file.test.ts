import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunToParent } from '../../../../contract/run-protocol';
import { decodeEventLine, encodeEventLine, readEventsFrom, type EventLine, type ReadOptions, type ReadResult } from './events-file';

const metric = (step: number, value: number, name = 'loss'): RunToParent => ({ type: 'metrics', points: [{ split: 'train', name, step, value, time: 1_700_000_000_000 + step }] });
const line = (seq: number, msg: RunToParent = metric(seq, seq / 10)): EventLine => ({ v: 1, seq, time: 1_700_000_000_000 + seq, msg });
const tempFile = (text = '') => {
  const path = join(mkdtempSync(join(tmpdir(), 'events-')), 'a.jsonl');
  writeFileSync(path, text);
  return path;
};
async function readAt(path: string, offset: number, opts?: ReadOptions): Promise<ReadResult> {
  const h = await open(path, 'r');
  try {
    return await readEventsFrom(h, offset, opts);
  } finally {
    await h.close();
  }
}

describe('event lines', () => {
  it('round-trip NaN and ±Infinity (a diverged loss is data) and multibyte text', () => {
    const l = line(0, { type: 'metrics', points: [NaN, Infinity, -Infinity, 1.5].map((v, i) => ({ split: 'train', name: 'loss', step: i, value: v, time: 1 })) });
    const text = encodeEventLine(l);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.slice(0, -1)).not.toContain('\n');
    expect(decodeEventLine(text.slice(0, -1))).toEqual(l);
    const s = line(1, { type: 'samples', step: 3, samples: [{ source: 'Grüße 😀', reference: 'a\nb', hypothesis: '{"$num":"NaN"}' }] });
    expect(decodeEventLine(encodeEventLine(s).trimEnd())).toEqual(s);
  });

  it('say what is wrong with a bad line', () => {
    expect(() => decodeEventLine('{"v":1,"seq":0,"time":1,"msg":{"type":"metr')).toThrow();
    expect(() => decodeEventLine('{"v":2,"seq":0,"time":1,"msg":{"type":"log"}}')).toThrow('unknown line version 2');
    expect(() => decodeEventLine('{"v":1,"seq":-1,"time":1,"msg":{"type":"log"}}')).toThrow('seq');
    expect(() => decodeEventLine('{"v":1,"seq":0,"time":1,"msg":{"type":"hello"}}')).toThrow('unknown message type "hello"');
    expect(() => decodeEventLine('[1]')).toThrow();
  });
});

describe('readEventsFrom', () => {
  it('returns whole lines only; a line appended mid-way is read once it ends', async () => {
    const first = [0, 1, 2].map((i) => encodeEventLine(line(i))).join('');
    const third = encodeEventLine(line(3));
    const path = tempFile(first + third.slice(0, 17)); // the writer is mid-line
    const a = await readAt(path, 0);
    expect(a.lines.map((l) => l.line.seq)).toEqual([0, 1, 2]);
    const len = (i: number) => Buffer.byteLength(encodeEventLine(line(i)));
    expect(a.lines.map((l) => l.offset)).toEqual([0, len(0), len(0) + len(1)]);
    expect(a).toMatchObject({ nextOffset: Buffer.byteLength(first), pendingBytes: 17, torn: [], more: false });

    // Nothing new: same offset, nothing returned.
    expect(await readAt(path, a.nextOffset)).toMatchObject({ lines: [], nextOffset: a.nextOffset, pendingBytes: 17 });
    appendFileSync(path, third.slice(17, 30)); // still mid-line
    expect(await readAt(path, a.nextOffset)).toMatchObject({ lines: [], nextOffset: a.nextOffset, pendingBytes: 30 });
    appendFileSync(path, third.slice(30) + encodeEventLine(line(4)).slice(0, 5));
    const b = await readAt(path, a.nextOffset);
    expect(b.lines.map((l) => l.line)).toEqual([line(3)]);
    expect(b).toMatchObject({ nextOffset: Buffer.byteLength(first + third), pendingBytes: 5 });
  });

  it('reports a torn line and goes on; never throws for content', async () => {
    const good = (i: number) => encodeEventLine(line(i));
    const path = tempFile(good(0) + '{"v":1,"seq":1,"time":1,"msg":{"ty\n' + 'not json at all\n' + '\n' + good(3));
    const r = await readAt(path, 0);
    expect(r.lines.map((l) => l.line.seq)).toEqual([0, 3]);
    expect(r.torn.map((t) => [t.offset, t.head.slice(0, 12)])).toEqual([
      [good(0).length, '{"v":1,"seq"'],
      [good(0).length + Buffer.byteLength('{"v":1,"seq":1,"time":1,"msg":{"ty\n'), 'not json at '],
    ]);
    expect(r.torn[0].error).toMatch(/JSON|Unterminated|Unexpected/);
    expect(r.nextOffset).toBe(Buffer.byteLength(good(0) + '{"v":1,"seq":1,"time":1,"msg":{"ty\n' + 'not json at all\n' + '\n' + good(3)));
  });

  it('final: an unterminated last line of a finished attempt is reported and consumed', async () => {
    const path = tempFile(encodeEventLine(line(0)) + '{"v":1,"seq":1,"ti');
    const r = await readAt(path, 0, { final: true });
    expect(r.lines).toHaveLength(1);
    expect(r.torn).toHaveLength(1);
    expect(r.torn[0].error).toMatch(/^unterminated last line/);
    expect(r).toMatchObject({ pendingBytes: 0, nextOffset: encodeEventLine(line(0)).length + 18 });
    // A whole event that only lacks its newline is kept.
    const kept = tempFile(encodeEventLine(line(0)).trimEnd());
    expect((await readAt(kept, 0, { final: true })).lines.map((l) => l.line)).toEqual([line(0)]);
  });

  it('is independent of chunk boundaries (multibyte characters split across reads) and resumable at maxBytes', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => line(i, i % 3 ? metric(i, i * 0.5, `bleu·ü😀${i}`) : { type: 'log', level: 'info', text: 'ø'.repeat(i) }));
    const text = lines.map(encodeEventLine).join('');
    const path = tempFile(text);
    for (const chunkBytes of [1, 3, 7, 64, 4096]) {
      const r = await readAt(path, 0, { chunkBytes });
      expect(r.lines.map((l) => l.line)).toEqual(lines);
      expect(r.nextOffset).toBe(Buffer.byteLength(text));
    }
    // Small maxBytes: several reads, each continuing from nextOffset, give every line once.
    const seen: EventLine[] = [];
    let offset = 0;
    let reads = 0;
    for (;;) {
      const r = await readAt(path, offset, { maxBytes: 300, chunkBytes: 50 });
      seen.push(...r.lines.map((l) => l.line));
      offset = r.nextOffset;
      reads++;
      if (!r.more) break;
    }
    expect(reads).toBeGreaterThan(5);
    expect(seen).toEqual(lines);
    expect(offset).toBe(Buffer.byteLength(text));
  });

  it('a writer appending in random pieces while a reader polls: every line exactly once, in order', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => line(i, metric(i, i % 7 ? i : NaN)));
    const text = Buffer.from(lines.map(encodeEventLine).join(''));
    const path = tempFile();
    let written = 0;
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n) + 1;
    const seen: EventLine[] = [];
    let offset = 0;
    while (written < text.length || offset < text.length) {
      const n = Math.min(rand(200), text.length - written);
      appendFileSync(path, text.subarray(written, written + n));
      written += n;
      const r = await readAt(path, offset, { chunkBytes: rand(90) });
      expect(r.torn).toEqual([]);
      expect(r.nextOffset + r.pendingBytes).toBe(written);
      seen.push(...r.lines.map((l) => l.line));
      offset = r.nextOffset;
    }
    expect(seen.map((l) => l.seq)).toEqual(lines.map((l) => l.seq));
    expect(Number.isNaN((seen[0].msg as Extract<RunToParent, { type: 'metrics' }>).points[0].value)).toBe(true);
    // Reading again from 0 gives the same lines (ingest from offset 0 is a replay, not new data).
    expect((await readAt(path, 0)).lines.map((l) => l.line)).toEqual(seen);
  });

  it('rejects a bad offset', async () => {
    const path = tempFile();
    await expect(readAt(path, -1)).rejects.toThrow('non-negative');
  });
});
