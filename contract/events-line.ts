/**
 * One line of a cluster run's events file (JSONL, one file per attempt, written by the job beside
 * its checkpoints, read by the desktop from a saved byte offset): `{"v":1,"seq":N,"time":MS,"msg":{…}}`
 * with `msg` a run-protocol message. JSON has no literal for non-finite numbers (a diverged loss is
 * NaN, and that is data): they are written as `{"$num":"NaN"|"Infinity"|"-Infinity"}` and restored
 * on reading. Here because both sides use it: the in-job host writes it, main/ ingests it.
 */
import type { RunToParent } from './run-protocol';

export const EVENT_LINE_VERSION = 1;

/** One line of an events file. */
export interface EventLine {
  readonly v: typeof EVENT_LINE_VERSION;
  /** 0, 1, 2, … within this file (this attempt). */
  readonly seq: number;
  /** Unix epoch milliseconds when the job wrote the line. */
  readonly time: number;
  readonly msg: RunToParent;
}

const NON_FINITE = '$num';

/** The JSONL text of one line, newline included (write it with one `write` so it lands whole). */
export function encodeEventLine(line: EventLine): string {
  return (
    JSON.stringify(line, (_key, value: unknown) =>
      typeof value === 'number' && !Number.isFinite(value) ? { [NON_FINITE]: Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity' } : value,
    ) + '\n'
  );
}

const MESSAGE_TYPES = new Set<RunToParent['type']>(['ready', 'progress', 'metrics', 'samples', 'hypotheses', 'checkpoint', 'log', 'done', 'failed', 'stopped']);

/** Parses one line (without its newline); throws an Error saying what is wrong. */
export function decodeEventLine(text: string): EventLine {
  // A reviver costs a call per value: only lines that carry an encoded non-finite number pay it.
  const parsed = (!text.includes(`"${NON_FINITE}"`) ? JSON.parse(text) : JSON.parse(text, (_key, value: unknown) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const keys = Object.keys(value);
      const tag = (value as Record<string, unknown>)[NON_FINITE];
      if (keys.length === 1 && typeof tag === 'string') {
        if (tag === 'NaN') return NaN;
        if (tag === 'Infinity') return Infinity;
        if (tag === '-Infinity') return -Infinity;
      }
    }
    return value;
  })) as Partial<EventLine> | null;
  if (!parsed || typeof parsed !== 'object') throw new Error('not a JSON object');
  if (parsed.v !== EVENT_LINE_VERSION) throw new Error(`unknown line version ${JSON.stringify(parsed.v)}`);
  if (typeof parsed.seq !== 'number' || !Number.isInteger(parsed.seq) || parsed.seq < 0) throw new Error('seq is not a non-negative integer');
  if (typeof parsed.time !== 'number') throw new Error('time is not a number');
  const msg = parsed.msg as { type?: unknown } | undefined;
  if (!msg || typeof msg !== 'object' || !MESSAGE_TYPES.has(msg.type as RunToParent['type'])) throw new Error(`unknown message type ${JSON.stringify(msg?.type)}`);
  return parsed as EventLine;
}
