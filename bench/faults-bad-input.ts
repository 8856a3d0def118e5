/**
 * The fault suite's bad-input rows (issue 15), against a real `ablate serve` on a database that
 * holds a finished run (its metrics, checkpoints and logs):
 * - fuzzed specs: the 316 YAML specs of test/support/fuzzed-specs.ts (seed 15), each queued with
 *   `enqueueSpec` (the queue paused, so nothing trains);
 * - malformed WebSocket messages and frames: 300 cases drawn with the bench's --seed — text that
 *   is not JSON, JSON that is not a call, calls with arguments of the wrong type or arity (each
 *   checked to be refused by contract/api-schemas, so none can change the database), unknown
 *   methods, messages over 4 MB, and frames no client library would send (reserved bits, unknown
 *   opcodes, unmasked, fragmented control frames, bad close codes, invalid UTF-8, lengths that lie).
 *
 * Each case is judged by what comes back: refused with a one-line error (an error reply marked a
 * user error with no newline, or the connection closed with code 1002/1007/1009 and a reason),
 * accepted (a spec that parses and queues), a stack trace (an error reply marked a bug, or a stack
 * on the server's stderr), a hang (nothing within HANG_MS), or a crash (the server process gone).
 * Per row also: PRAGMA integrity_check, and the rows recorded before the row (the existing runs
 * and their metrics, checkpoints, samples and logs) counted again after it.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { REMOTE_METHODS, parseApiArgs } from '../contract/api-schemas';
import type { RemoteMethod } from '../contract/api';
import { decodeMessage, encodeMessage } from '../contract/wire';
import { fuzzedSpecs } from '../test/support/fuzzed-specs';
import { frame, rawSocket } from '../test/support/raw-websocket';
import { tempDir, toySpec } from '../test/support/workbench';
import { ablate, markdownTable, peek, TOY_ENV, type Proc } from './faults-cli';

/** Seconds a case may take before it counts as a hang (a spec is parsed, expanded and checked in milliseconds). */
const HANG_MS = 10_000;
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export interface BadInputRow {
  readonly input: string;
  readonly cases: number;
  readonly refused: number;
  readonly accepted: number;
  readonly stackTraces: number;
  readonly hangs: number;
  readonly crashes: number;
  readonly integrity: boolean;
  /** Rows of the runs that existed before the row: before and after it. */
  readonly recordedBefore: number;
  readonly recordedAfter: number;
  readonly problems: readonly string[];
}

/** What one case got back. */
type Outcome = { kind: 'reply'; result?: unknown; error?: { message: string; user: boolean } } | { kind: 'closed'; code: number; reason: string } | { kind: 'hang' } | { kind: 'crash' };

/** One bad input: sent on a fresh or shared connection, with whether being accepted is allowed (a spec may parse). */
interface Case {
  readonly what: string;
  readonly mayBeAccepted: boolean;
  send(server: Served): Promise<Outcome>;
}

// ---- the server ----

interface Served {
  readonly db: string;
  readonly port: number;
  readonly proc: Proc;
  /** A connection for text messages, reopened when the server closed the last one. */
  client(): Promise<WebSocket>;
  /** SIGTERM; `check` reads the database once the process is gone, before its folder is removed. */
  close(check: (db: string) => boolean): Promise<{ code: number | null; stderr: string; integrity: boolean }>;
}

/** A database with one finished toy run, then `ablate serve` on it with the queue paused. */
async function serveRecorded(): Promise<Served> {
  const dir = tempDir('ablate-bad-input-');
  const db = join(dir, 'bad-input.sqlite');
  writeFileSync(join(dir, 'spec.yaml'), toySpec({ name: 'recorded', steps: 60, checkpointEvery: 20 }));
  for (const args of [['queue', join(dir, 'spec.yaml'), '--db', db], ['worker', '--db', db]]) {
    const r = await ablate(args, TOY_ENV).done;
    if (r.code !== 0) throw new Error(`ablate ${args[0]}: ${r.stderr}`);
  }
  const proc = ablate(['serve', '--db', db, '--port', '0'], TOY_ENV);
  const port = await new Promise<number>((ok, fail) => {
    const timer = setInterval(() => {
      const m = /ablate serve: http:\/\/127\.0\.0\.1:(\d+)\//.exec(proc.output().stdout);
      if (m) ok(Number(m[1]));
      else if (proc.exited()) fail(new Error(`ablate serve exited: ${proc.output().stderr}`));
      else return;
      clearInterval(timer);
    }, 50);
    setTimeout(() => (clearInterval(timer), fail(new Error(`ablate serve printed no URL in 240 s: ${proc.output().stderr}`))), 240_000).unref();
  });
  let ws: WebSocket | null = null;
  const served: Served = {
    db,
    port,
    proc,
    async client() {
      if (ws && ws.readyState === WebSocket.OPEN) return ws;
      ws = await new Promise<WebSocket>((ok, fail) => {
        const next = new WebSocket(`ws://127.0.0.1:${port}/api`, { maxPayload: 64 * 1024 * 1024 });
        next.once('open', () => ok(next));
        next.once('error', fail);
      });
      ws.on('error', () => {});
      return ws;
    },
    async close(check) {
      ws?.close();
      proc.kill('SIGTERM');
      const end = await proc.done;
      const integrity = check(db);
      rmSync(dir, { recursive: true, force: true });
      return { code: end.code, stderr: end.stderr, integrity };
    },
  };
  const paused = await sendText(served, encodeMessage({ id: 1, method: 'pauseQueue', params: [] }));
  if (paused.kind !== 'reply' || paused.error) throw new Error(`could not pause the queue: ${JSON.stringify(paused)}`);
  return served;
}

/** Sends one text message and waits for the next reply (event batches skipped) or for the connection to close. */
async function sendText(server: Served, text: string | Buffer): Promise<Outcome> {
  if (server.proc.exited()) return { kind: 'crash' };
  const ws = await server.client();
  return new Promise<Outcome>((resolve) => {
    const done = (o: Outcome) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      resolve(server.proc.exited() ? { kind: 'crash' } : o);
    };
    const onMessage = (data: WebSocket.RawData) => {
      const msg = decodeMessage(String(data)) as { events?: unknown; result?: unknown; error?: { message: string; user: boolean } };
      if (msg && typeof msg === 'object' && 'events' in msg) return;
      done({ kind: 'reply', ...('error' in msg ? { error: msg.error } : { result: msg.result }) });
    };
    const onClose = (code: number, reason: Buffer) => done({ kind: 'closed', code, reason: String(reason) });
    const timer = setTimeout(() => done({ kind: 'hang' }), HANG_MS);
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.send(text);
  });
}

/** Sends raw bytes on a connection of their own and waits for the server's close frame. */
async function sendFrames(server: Served, bytes: Buffer): Promise<Outcome> {
  if (server.proc.exited()) return { kind: 'crash' };
  const { socket, closeFrame } = await rawSocket(server.port);
  socket.write(bytes);
  const closed = await Promise.race([closeFrame, new Promise<null>((r) => setTimeout(() => r(null), HANG_MS))]);
  socket.destroy();
  if (server.proc.exited()) return { kind: 'crash' };
  return closed ? { kind: 'closed', ...closed } : { kind: 'hang' };
}

// ---- the cases ----

const pick = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
const int = (rng: () => number, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

const textCase = (what: string, text: string | Buffer): Case => ({ what, mayBeAccepted: false, send: (s) => sendText(s, text) });
const frameCase = (what: string, bytes: Buffer): Case => ({ what, mayBeAccepted: false, send: (s) => sendFrames(s, bytes) });

/** Values of every JSON type, for arguments of the wrong type and calls of the wrong shape. */
function wrongValue(rng: () => number): unknown {
  return pick(rng, [
    () => 'x'.repeat(int(rng, 0, 40)),
    () => -int(rng, 0, 1000),
    () => rng() * 1e6,
    () => 0,
    () => 1e308,
    () => true,
    () => null,
    () => [],
    () => [int(rng, -5, 5), 'a'],
    () => ({}),
    () => ({ runIds: 'all' }),
    () => ({ runIds: [], experimentId: -1 }),
    () => JSON.parse('{"__proto__": {"polluted": true}}') as unknown,
    () => ({ constructor: { prototype: { polluted: true } } }),
    () => '\u202e\u0000',
  ])();
}

/** Arguments for `method` that its schema refuses (drawn until one is), so the call can never reach the database. */
function refusedArgs(rng: () => number, method: RemoteMethod): unknown {
  for (;;) {
    const shape = rng();
    const params = shape < 0.15 ? wrongValue(rng) : Array.from({ length: int(rng, 0, 4) }, () => wrongValue(rng));
    try {
      parseApiArgs(method, params);
    } catch {
      return params;
    }
  }
}

const UNKNOWN_METHODS = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'close', 'start', 'store', 'scheduler', 'onEvents', 'onEvent', 'saveFile', 'execute', 'storageFailure', '', ' getRun', 'GETRUN', 'getRun\u0000', 'x'.repeat(5000), '\u202elistRuns'];

/** A text message (or a binary one) over 4 MB: a padded call, a spec, plain bytes. */
function oversized(rng: () => number): Buffer {
  const size = MAX_MESSAGE_BYTES + int(rng, 1, 4096);
  const kind = int(rng, 0, 2);
  if (kind === 0) return Buffer.from(encodeMessage({ id: 1, method: 'enqueueSpec', params: [`name: big\n#${'x'.repeat(size)}`] }));
  if (kind === 1) return Buffer.alloc(size, 0x20);
  return Buffer.from(`{"id":1,"method":"getRun","params":[${'1,'.repeat(size / 2)}1]}`);
}

/** A frame the protocol forbids, with a random payload. */
function badFrame(rng: () => number): [string, Buffer] {
  const payload = Buffer.from(Array.from({ length: int(rng, 0, 60) }, () => int(rng, 0x61, 0x7a)));
  const kind = int(rng, 0, 9);
  if (kind === 0) return ['reserved bits set', frame(0x81 | (int(rng, 1, 7) << 4), payload)];
  if (kind === 1) return ['an unknown opcode', frame(0x80 | pick(rng, [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]), payload)];
  if (kind === 2) return ['an unmasked client frame', frame(0x81, payload, { masked: false })];
  if (kind === 3) return ['a fragmented control frame', frame(pick(rng, [0x08, 0x09, 0x0a]), payload.subarray(0, 2))];
  if (kind === 4) return ['a control frame over 125 bytes', frame(pick(rng, [0x89, 0x8a]), Buffer.alloc(int(rng, 126, 400), 0x61))];
  if (kind === 5) return ['a close frame with a 1-byte payload', frame(0x88, Buffer.from([int(rng, 0, 255)]))];
  if (kind === 6) {
    const code = pick(rng, [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]);
    return ['a close frame with a reserved close code', frame(0x88, Buffer.from([code >> 8, code & 0xff, ...payload.subarray(0, 8)]))];
  }
  if (kind === 7) return ['a continuation with nothing to continue', frame(0x80, payload)];
  if (kind === 8) return ['invalid UTF-8 in a text frame', frame(0x81, Buffer.concat([payload.subarray(0, 10), Buffer.from(pick(rng, [[0xc3, 0x28], [0xff], [0xe2, 0x82], [0xf0, 0x28, 0x8c, 0x28], [0xed, 0xa0, 0x80]]))]))];
  const hi = int(rng, 0, 0x7f);
  return ['a 64-bit length over 4 MB', frame(0x82, Buffer.alloc(0), { lengthBytes: Buffer.from([127, hi, int(rng, 0, 255), 0, 0, hi === 0 ? int(rng, 1, 255) : 0, 0x50, 0, 0]) })];
}

/** The 300 malformed WebSocket cases (fixed by the rng's seed), in kinds of fixed sizes. */
export function malformedMessages(rng: () => number): Case[] {
  const call = encodeMessage({ id: 7, method: 'getRun', params: [1] });
  const notJson = Array.from({ length: 60 }, (_, i) => {
    const variant = i % 6;
    if (variant === 0) return textCase('a call cut short', call.slice(0, int(rng, 1, call.length - 1)));
    if (variant === 1) return textCase('printable garbage', Array.from({ length: int(rng, 1, 80) }, () => String.fromCharCode(int(rng, 0x20, 0x7e))).join(''));
    if (variant === 2) return textCase('unbalanced nesting', '['.repeat(int(rng, 1, 200_000)));
    if (variant === 3) return textCase('an unterminated string', `{"id":1,"method":"${'a'.repeat(int(rng, 0, 100))}`);
    if (variant === 4) return textCase('JSON with comments or trailing commas', pick(rng, ['{"id":1,}', '// x\n{"id":1}', "{'id':1}", '{"id":1 "method":"getRun"}', '[1,,2]', 'NaN', 'undefined']));
    return textCase('binary bytes', Buffer.from(Array.from({ length: int(rng, 1, 64) }, () => int(rng, 0, 255))));
  });
  const notACall = Array.from({ length: 50 }, (_, i) => {
    const variant = i % 6;
    if (variant === 5) {
      const depth = int(rng, 1, 3000);
      return textCase('deeply nested JSON', '['.repeat(depth) + ']'.repeat(depth));
    }
    const value = [() => wrongValue(rng), () => ({ id: wrongValue(rng) }), () => ({ method: wrongValue(rng), params: [] }), () => ({ id: 1, params: [] }), () => ({ id: 1, method: 'getRun', params: wrongValue(rng) })][variant]();
    return textCase('JSON that is not a call', encodeMessage(value ?? null));
  });
  const wrongArgs = Array.from({ length: 80 }, () => {
    const method = pick(rng, REMOTE_METHODS);
    return textCase(`${method} with arguments of the wrong type`, encodeMessage({ id: int(rng, 1, 1e6), method, params: refusedArgs(rng, method) }));
  });
  const unknown = Array.from({ length: 50 }, (_, i) => {
    const method = i < UNKNOWN_METHODS.length ? UNKNOWN_METHODS[i] : `${pick(rng, ['get', 'set', 'delete', 'drop', 'run', 'exec'])}${pick(rng, ['Database', 'File', 'Shell', 'All', 'Run_', 'Runs '])}${int(rng, 0, 99)}`;
    return textCase('an unknown method', encodeMessage({ id: i + 1, method, params: [] }));
  });
  const tooBig = Array.from({ length: 10 }, () => textCase('a message over 4 MB', oversized(rng)));
  const frames = Array.from({ length: 50 }, () => frameCase(...badFrame(rng)));
  return [...notJson, ...notACall, ...wrongArgs, ...unknown, ...tooBig, ...frames];
}

/** The fuzzed specs, each queued through the server (a spec that parses may be accepted). */
export function fuzzedSpecCases(): Case[] {
  return fuzzedSpecs(15).map((text, i) => ({ what: `fuzzed spec ${i}`, mayBeAccepted: true, send: (s: Served) => sendText(s, encodeMessage({ id: i + 1, method: 'enqueueSpec', params: [text] })) }));
}

/** Keeps `fraction` of each kind of case (the subset in `npm test`), in the same order. */
function sample(cases: readonly Case[], fraction: number): Case[] {
  if (fraction >= 1) return [...cases];
  const byKind = new Map<string, Case[]>();
  for (const c of cases) byKind.set(c.what, [...(byKind.get(c.what) ?? []), c]);
  const keep = new Set([...byKind.values()].flatMap((cs) => cs.slice(0, Math.max(1, Math.ceil(cs.length * fraction)))));
  return cases.filter((c) => keep.has(c));
}

// ---- judging ----

/** Rows that belong to runs already there: the run rows and their metrics, checkpoints, samples and logs. */
function recordedRows(db: string, upToRun: number): number {
  return (
    peek(db, (d) =>
      ['runs WHERE id', 'metrics WHERE run_id', 'checkpoints WHERE run_id', 'samples WHERE run_id', 'logs WHERE run_id']
        .map((t) => (d.prepare(`SELECT count(*) AS n FROM ${t} <= ?`).get(upToRun) as { n: number }).n)
        .reduce((a, b) => a + b, 0),
    ) ?? -1
  );
}

const integrityOk = (db: string) => peek(db, (d) => (d.pragma('integrity_check', { simple: true }) as string) === 'ok') ?? false;
const lastRunId = (db: string) => peek(db, (d) => (d.prepare(`SELECT max(id) AS m FROM runs`).get() as { m: number | null }).m ?? 0) ?? 0;
/** Stack traces on the server's stderr: each "    at …" block counts once. */
const stackBlocks = (stderr: string) => (stderr.match(/(^|\n)(?!\s+at )[^\n]*\n\s+at /g) ?? []).length;

async function judge(input: string, server: Served, cases: readonly Case[]): Promise<BadInputRow> {
  const upTo = lastRunId(server.db);
  const recordedBefore = recordedRows(server.db, upTo);
  const stacksBefore = stackBlocks(server.proc.output().stderr);
  let refused = 0;
  let accepted = 0;
  let stackTraces = 0;
  let hangs = 0;
  let crashes = 0;
  const problems: string[] = [];
  for (const c of cases) {
    const o = await c.send(server).catch(async (err: Error): Promise<Outcome> => {
      // A refused connection: the server may be gone (its exit event can come a moment later).
      await new Promise((r) => setTimeout(r, 1000));
      if (server.proc.exited()) return { kind: 'crash' };
      problems.push(`${c.what}: ${err.message}`);
      return { kind: 'hang' };
    });
    if (o.kind === 'crash') {
      crashes++;
      problems.push(`${c.what}: the server exited: ${server.proc.output().stderr.slice(-300)}`);
      break;
    }
    if (o.kind === 'hang') {
      hangs++;
      problems.push(`${c.what}: no answer within ${HANG_MS / 1000} s`);
    } else if (o.kind === 'closed') {
      if ([1002, 1007, 1009].includes(o.code) && o.reason && !o.reason.includes('\n')) refused++;
      else problems.push(`${c.what}: closed with ${o.code} "${o.reason}"`);
    } else if (o.error) {
      if (!o.error.user) {
        stackTraces++;
        problems.push(`${c.what}: a bug: ${o.error.message}`);
      } else if (o.error.message && !o.error.message.includes('\n')) refused++;
      else problems.push(`${c.what}: an error of ${o.error.message.split('\n').length} lines`);
    } else if (c.mayBeAccepted) accepted++;
    else problems.push(`${c.what}: accepted`);
  }
  stackTraces += stackBlocks(server.proc.output().stderr) - stacksBefore;
  // After the row the server must still answer a plain call.
  if (!crashes) {
    const alive = await sendText(server, encodeMessage({ id: 1, method: 'getRun', params: [1] }));
    if (alive.kind === 'crash') crashes++;
    else if (alive.kind !== 'reply' || alive.error) problems.push(`the server no longer answers: ${JSON.stringify(alive)}`);
  }
  const recordedAfter = recordedRows(server.db, upTo);
  const integrity = integrityOk(server.db);
  if (recordedAfter !== recordedBefore) problems.push(`recorded rows ${recordedBefore} → ${recordedAfter}`);
  if (!integrity) problems.push('integrity check failed');
  return { input, cases: cases.length, refused, accepted, stackTraces, hangs, crashes, integrity, recordedBefore, recordedAfter, problems };
}

export interface BadInputSource {
  readonly name: string;
  cases(rng: () => number): Case[];
}

export const BAD_INPUT_SOURCES: readonly BadInputSource[] = [
  { name: 'fuzzed specs (queued through ablate serve)', cases: () => fuzzedSpecCases() },
  { name: 'malformed WebSocket messages and frames', cases: (rng) => malformedMessages(rng) },
];

/**
 * Runs the bad-input rows against one `ablate serve` (its database and run recorded first), then
 * stops it with SIGTERM: it must exit 0 and leave the database whole. `fraction` < 1 keeps that
 * share of each kind of case (the subset in `npm test`).
 */
export async function runBadInput(rng: () => number, opts: { fraction?: number; only?: string; onRow?: (row: BadInputRow, seconds: number) => void } = {}): Promise<BadInputRow[]> {
  const sources = BAD_INPUT_SOURCES.filter((s) => !opts.only || s.name.includes(opts.only));
  if (!sources.length) return [];
  const server = await serveRecorded();
  const rows: BadInputRow[] = [];
  try {
    for (const source of sources) {
      const t0 = Date.now();
      const row = await judge(source.name, server, sample(source.cases(rng), opts.fraction ?? 1));
      rows.push(row);
      opts.onRow?.(row, (Date.now() - t0) / 1000);
    }
  } finally {
    // A clean stop after it all: exit 0, and the database still whole once the server let go of it.
    const end = await server.close((db) => integrityOk(db)).catch((err: Error) => ({ code: -1, stderr: err.message, integrity: false }));
    const problems = [...(end.code === 0 ? [] : [`ablate serve exited ${end.code} on SIGTERM: ${end.stderr.slice(-300)}`]), ...(end.integrity ? [] : ['integrity check failed after the server stopped'])];
    const last = rows.pop();
    if (last) rows.push({ ...last, integrity: last.integrity && end.integrity, problems: [...last.problems, ...problems] });
  }
  return rows;
}

/** The bad-input table, in the style of the faults table. */
export function badInputTable(rows: readonly BadInputRow[]): string {
  return markdownTable(
    ['bad input', 'cases', 'refused in one line', 'accepted (spec parses)', 'stack traces', 'hangs', 'crashes', 'integrity ok', 'recorded rows before → after'],
    rows.map((r) => [r.input, String(r.cases), `${r.refused}/${r.cases}`, String(r.accepted), String(r.stackTraces), String(r.hangs), String(r.crashes), r.integrity ? 'yes' : 'no', `${r.recordedBefore} → ${r.recordedAfter}`]),
  );
}
