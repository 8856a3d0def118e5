/**
 * Checkpoints: everything needed to continue a run on the same curve, or to translate with it.
 *
 * One file per checkpoint:
 *   "ABLCKPT2" (8 bytes) | u32 LE header length | header JSON (UTF-8) | zero padding to 4 bytes |
 *   float32 LE payload (weights, then Adam m, then Adam v, each at header.tensors[i].offset) |
 *   SHA-256 (32 bytes) of everything before it
 * The header holds the RunConfig, the step, the BatchStream position, the RNG state, both
 * tokenizers' JSON, the loop's own counters and the tensor index. Written to a temporary file
 * (`<name>.tmp-<pid>`) in the same directory, fsynced, then renamed over the final name, so a crash
 * leaves either the old checkpoint or the new one, never half of one; the checksum catches what
 * the disk or a copy changed afterwards (a flipped bit is refused, not trained on). Files of the
 * first format ("ABLCKPT1", no checksum) still load; `verified` says which kind was read.
 * A resume takes the newest checkpoint that verifies (loadNewestVerified) and says which.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync, fsyncSync, closeSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RunConfig } from '../../contract/spec';
import { UserError } from '../../contract/errors';
import type { Trainer } from './loop';
import { CHECKPOINT_MAGIC, checkCheckpointFraming } from './checkpoint-framing';

export const CHECKPOINT_FORMAT = 2;

/** A checkpoint file that cannot be used (bad magic, truncated, checksum mismatch …); one line naming the file. */
export class CheckpointError extends UserError {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

/** A checkpoint could not be written (no space, read-only folder …): the message names the file; `code` is the system's. */
export class CheckpointWriteError extends Error {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    cause: Error,
  ) {
    super(`cannot write checkpoint ${path}: ${cause.message}`);
    this.name = 'CheckpointWriteError';
  }
}

export type TensorGroup = 'weight' | 'adam_m' | 'adam_v';

export interface TensorEntry {
  readonly name: string;
  readonly group: TensorGroup;
  readonly shape: readonly number[];
  /** Offset in float32 elements from the start of the payload. */
  readonly offset: number;
  readonly size: number;
}

export interface CheckpointHeader {
  readonly format: number;
  /** Optimizer steps completed. */
  readonly step: number;
  readonly config: RunConfig;
  /** BatchStream.position (JSON) so a resumed run sees the same next batch. */
  readonly batchPosition: unknown;
  /** Dropout randomness is a function of (seed, step) (experiments/seeding.ts): that pair is the RNG state. */
  readonly rng: { readonly seed: number; readonly step: number };
  readonly tokenizers: { readonly src: unknown; readonly tgt: unknown; readonly shared: boolean };
  readonly vocab: { readonly src: number; readonly tgt: number };
  readonly adam: { readonly t: number };
  /** The run loop's counters (train-loss window, seconds, tokens seen …), restored as they were. */
  readonly extra: Readonly<Record<string, unknown>>;
  readonly tensors: readonly TensorEntry[];
  /** Wall-clock time written (ISO 8601). */
  readonly savedAt: string;
}

export interface CheckpointInput {
  readonly trainer: Trainer;
  readonly config: RunConfig;
  readonly batchPosition: unknown;
  readonly tokenizers: { readonly src: unknown; readonly tgt: unknown; readonly shared: boolean };
  readonly vocab: { readonly src: number; readonly tgt: number };
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** The checkpoint file name for `step` (sorts by step). */
export function checkpointFileName(step: number): string {
  return `step-${String(step).padStart(8, '0')}.ckpt`;
}

/** Writes a checkpoint atomically to `path`. */
export async function saveCheckpoint(path: string, input: CheckpointInput): Promise<void> {
  const { trainer } = input;
  const adam = trainer.optimizer.state();
  const groups: [TensorGroup, readonly tf.Tensor[], readonly string[]][] = [];
  const vars = trainer.model.variables.filter((v) => v.trainable);
  groups.push(['weight', vars, vars.map((v) => v.name)]);
  groups.push(['adam_m', vars.map((v) => adam.m.get(v.name)!), vars.map((v) => v.name)]);
  groups.push(['adam_v', vars.map((v) => adam.v.get(v.name)!), vars.map((v) => v.name)]);
  const entries: TensorEntry[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const [group, tensors, names] of groups) {
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i];
      if (t.dtype !== 'float32') throw new Error(`checkpoint: variable ${names[i]} is ${t.dtype}; only float32 is stored`);
      const data = (await t.data()) as Float32Array;
      entries.push({ name: names[i], group, shape: t.shape, offset, size: data.length });
      chunks.push(data);
      offset += data.length;
    }
  }
  const header: CheckpointHeader = {
    format: CHECKPOINT_FORMAT,
    step: trainer.step,
    config: input.config,
    batchPosition: input.batchPosition,
    rng: { seed: trainer.options.seed, step: trainer.step },
    tokenizers: input.tokenizers,
    vocab: input.vocab,
    adam: { t: adam.t },
    extra: input.extra ?? {},
    tensors: entries,
    savedAt: new Date().toISOString(),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(12);
  prefix.write(CHECKPOINT_MAGIC, 0, 'ascii');
  prefix.writeUInt32LE(json.length, 8);
  const pad = Buffer.alloc((4 - ((12 + json.length) % 4)) % 4);

  const tmp = `${path}.tmp-${process.pid}`;
  let fd: number | undefined;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(tmp, 'w');
    const hash = createHash('sha256');
    const write = (bytes: Uint8Array) => {
      hash.update(bytes);
      // writeSync may write less than asked (a nearly full disk): loop until all is written.
      for (let done = 0; done < bytes.length; ) done += writeSync(fd!, bytes, done, bytes.length - done);
    };
    for (const part of [prefix, json, pad]) write(part);
    // Float32Array views are little-endian on every platform Node runs on.
    for (const c of chunks) write(new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
    writeSync(fd, hash.digest());
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    try {
      if (fd !== undefined) closeSync(fd);
      rmSync(tmp, { force: true });
    } catch {
      // the folder itself is the problem: nothing was left behind
    }
    throw new CheckpointWriteError(path, (err as NodeJS.ErrnoException).code, err as Error);
  }
}

export interface LoadedCheckpoint {
  readonly header: CheckpointHeader;
  /** True when the file carried a checksum and it matched; false for a first-format file (none stored). */
  readonly verified: boolean;
  /** Values by group and variable name. */
  readonly tensors: Readonly<Record<TensorGroup, ReadonlyMap<string, Float32Array>>>;
}

/** Reads and verifies a checkpoint file (no tensors are created); throws CheckpointError naming the file. */
export function readCheckpoint(path: string): LoadedCheckpoint {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new CheckpointError(path, `cannot read (${(err as Error).message})`);
  }
  const framing = checkCheckpointFraming(buf);
  if (!framing.ok) {
    throw new CheckpointError(path, framing.problem === 'truncated' ? `truncated (${buf.length} bytes)` : framing.problem === 'magic' ? 'not an ablate checkpoint (bad magic)' : 'checksum mismatch: the file is corrupt or truncated');
  }
  const { verified, end } = framing;
  const jsonLen = buf.readUInt32LE(8);
  if (12 + jsonLen > end) throw new CheckpointError(path, 'truncated header');
  let header: CheckpointHeader;
  try {
    header = JSON.parse(buf.toString('utf8', 12, 12 + jsonLen)) as CheckpointHeader;
  } catch (err) {
    throw new CheckpointError(path, `unreadable header (${(err as Error).message})`);
  }
  if (header.format !== CHECKPOINT_FORMAT && header.format !== 1) throw new CheckpointError(path, `checkpoint format ${header.format} is not supported (expected ${CHECKPOINT_FORMAT})`);
  let start = 12 + jsonLen;
  start += (4 - (start % 4)) % 4;
  if ((end - start) % 4 !== 0 || start > end) throw new CheckpointError(path, 'truncated payload');
  // Copy into an aligned buffer: Buffer slices of readFileSync may not be 4-byte aligned.
  const payload = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + end));
  const tensors: Record<TensorGroup, Map<string, Float32Array>> = { weight: new Map(), adam_m: new Map(), adam_v: new Map() };
  for (const e of header.tensors) {
    if (e.offset + e.size > payload.length) throw new CheckpointError(path, `truncated checkpoint (tensor ${e.group}/${e.name})`);
    tensors[e.group].set(e.name, payload.subarray(e.offset, e.offset + e.size));
  }
  return { header, tensors, verified };
}

/** The step in a checkpoint file name (step-00000040.ckpt → 40), or NaN. */
export function checkpointStep(path: string): number {
  const m = /^step-(\d+)\.ckpt$/.exec(basename(path));
  return m ? Number(m[1]) : Number.NaN;
}

export interface VerifiedLoad {
  readonly path: string;
  readonly checkpoint: LoadedCheckpoint;
  /** Newer files that were skipped, with why. */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

/**
 * The newest checkpoint that verifies: `preferred` first, then the files in its folder with a
 * lower step, newest first. Null when none does (every reason is in `skipped`).
 */
export function loadNewestVerified(preferred: string): { loaded: VerifiedLoad | null; skipped: VerifiedLoad['skipped'] } {
  const limit = checkpointStep(preferred);
  const older = listCheckpoints(dirname(preferred))
    .filter((f) => f !== preferred && !(checkpointStep(f) >= limit))
    .reverse();
  const skipped: { path: string; reason: string }[] = [];
  for (const path of [preferred, ...older]) {
    try {
      const checkpoint = readCheckpoint(path);
      return { loaded: { path, checkpoint, skipped }, skipped };
    } catch (err) {
      skipped.push({ path, reason: err instanceof CheckpointError ? err.problem : (err as Error).message });
    }
  }
  return { loaded: null, skipped };
}

/** Deletes `*.tmp-<pid>` files a crashed writer left in `dir`; returns their names. */
export function cleanTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => /\.tmp-\d+$/.test(f));
  } catch {
    return [];
  }
  for (const f of names) rmSync(join(dir, f), { force: true });
  return names;
}

/** Assigns saved weights to `variables` by name; every variable must be present with its shape. */
export function restoreWeights(variables: readonly tf.Variable[], weights: ReadonlyMap<string, Float32Array>, source = 'checkpoint'): void {
  for (const v of variables) {
    if (!v.trainable) continue;
    const data = weights.get(v.name);
    if (!data) throw new Error(`${source} has no weights for variable ${v.name}`);
    if (data.length !== v.size) throw new Error(`${source}: variable ${v.name} has ${data.length} values, the model expects ${v.size} (shape ${v.shape.join('×')})`);
    tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32')));
  }
}

/** Restores weights and optimizer state into `trainer` (same config, fresh model). */
export function restoreTrainer(trainer: Trainer, ckpt: LoadedCheckpoint): void {
  restoreWeights(trainer.model.variables, ckpt.tensors.weight);
  trainer.optimizer.restore(ckpt.header.adam.t, ckpt.tensors.adam_m, ckpt.tensors.adam_v);
}

/** Checkpoint files in `dir`, oldest first. */
export function listCheckpoints(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => /^step-\d+\.ckpt$/.test(f))
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** Deletes all but the newest `keep` checkpoint files in `dir` (disk stays bounded on long runs). */
export function pruneCheckpoints(dir: string, keep: number): void {
  const files = listCheckpoints(dir);
  for (const f of files.slice(0, Math.max(0, files.length - keep))) rmSync(f, { force: true });
}
