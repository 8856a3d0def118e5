/**
 * Checkpoints: everything needed to continue a run on the same curve, or to translate with it.
 *
 * One file per checkpoint:
 *   "ABLCKPT1" (8 bytes) | u32 LE header length | header JSON (UTF-8) | zero padding to 4 bytes |
 *   float32 LE payload (weights, then Adam m, then Adam v, each at header.tensors[i].offset)
 * The header holds the RunConfig, the step, the BatchStream position, the RNG state, both
 * tokenizers' JSON, the loop's own counters and the tensor index. Written to a temporary file
 * in the same directory, fsynced, then renamed over the final name, so a crash leaves either the
 * old checkpoint or the new one, never half of one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync, fsyncSync, closeSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunConfig } from '../../contract/spec';
import type { Trainer } from './loop';

const MAGIC = 'ABLCKPT1';
export const CHECKPOINT_FORMAT = 1;

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
  prefix.write(MAGIC, 0, 'ascii');
  prefix.writeUInt32LE(json.length, 8);
  const pad = Buffer.alloc((4 - ((12 + json.length) % 4)) % 4);

  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const part of [prefix, json, pad]) writeSync(fd, part);
    // Float32Array views are little-endian on every platform Node runs on.
    for (const c of chunks) writeSync(fd, new Uint8Array(c.buffer, c.byteOffset, c.byteLength));
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export interface LoadedCheckpoint {
  readonly header: CheckpointHeader;
  /** Values by group and variable name. */
  readonly tensors: Readonly<Record<TensorGroup, ReadonlyMap<string, Float32Array>>>;
}

/** Reads and validates a checkpoint file (no tensors are created). */
export function readCheckpoint(path: string): LoadedCheckpoint {
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.toString('ascii', 0, 8) !== MAGIC) throw new Error(`${path}: not an ablate checkpoint (bad magic)`);
  const jsonLen = buf.readUInt32LE(8);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + jsonLen)) as CheckpointHeader;
  if (header.format !== CHECKPOINT_FORMAT) throw new Error(`${path}: checkpoint format ${header.format} is not supported (expected ${CHECKPOINT_FORMAT})`);
  let start = 12 + jsonLen;
  start += (4 - (start % 4)) % 4;
  // Copy into an aligned buffer: Buffer slices of readFileSync may not be 4-byte aligned.
  const payload = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  const tensors: Record<TensorGroup, Map<string, Float32Array>> = { weight: new Map(), adam_m: new Map(), adam_v: new Map() };
  for (const e of header.tensors) {
    if (e.offset + e.size > payload.length) throw new Error(`${path}: truncated checkpoint (tensor ${e.group}/${e.name})`);
    tensors[e.group].set(e.name, payload.subarray(e.offset, e.offset + e.size));
  }
  return { header, tensors };
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
