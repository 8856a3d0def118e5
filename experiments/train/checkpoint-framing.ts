/**
 * The framing of a checkpoint file (experiments/train/checkpoint.ts has the whole format): the magic,
 * and for "ABLCKPT2" the SHA-256 trailer over everything before it. Apart from checkpoint.ts so that
 * a process that only moves checkpoints (the Slurm executor copying one from a cluster) can check a
 * copy without loading TensorFlow.js.
 */
import { createHash } from 'node:crypto';

export const CHECKPOINT_MAGIC_V1 = 'ABLCKPT1';
export const CHECKPOINT_MAGIC = 'ABLCKPT2';
export const CHECKSUM_BYTES = 32;

export type CheckpointFraming =
  /** `end`: where the header and payload stop (the checksum follows in ABLCKPT2); `verified`: ABLCKPT2 with a matching checksum. */
  | { readonly ok: true; readonly verified: boolean; readonly end: number }
  /** truncated: shorter than its framing; magic: not an ablate checkpoint; checksum: the SHA-256 trailer does not match. */
  | { readonly ok: false; readonly problem: 'truncated' | 'magic' | 'checksum' };

/** Checks the magic and, for ABLCKPT2, the SHA-256 trailer of a whole checkpoint file's bytes. */
export function checkCheckpointFraming(buf: Buffer): CheckpointFraming {
  const magic = buf.length >= 12 ? buf.toString('ascii', 0, 8) : '';
  if (magic !== CHECKPOINT_MAGIC && magic !== CHECKPOINT_MAGIC_V1) return { ok: false, problem: buf.length < 12 ? 'truncated' : 'magic' };
  if (magic === CHECKPOINT_MAGIC_V1) return { ok: true, verified: false, end: buf.length };
  if (buf.length < 12 + CHECKSUM_BYTES) return { ok: false, problem: 'truncated' };
  const end = buf.length - CHECKSUM_BYTES;
  const got = createHash('sha256').update(buf.subarray(0, end)).digest();
  return got.equals(buf.subarray(end)) ? { ok: true, verified: true, end } : { ok: false, problem: 'checksum' };
}
