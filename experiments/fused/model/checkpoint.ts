/**
 * Checkpoints of the fused engine in the tfjs engine's file format (experiments/train/checkpoint.ts):
 * the same weight names, shapes and groups (weight, adam_m, adam_v) and the Adam step, so a checkpoint
 * written by either engine resumes or evaluates on the other. Writing reuses saveCheckpoint itself
 * through a read-only view of the engine's exported state shaped like the Trainer it reads.
 */
import { type CheckpointInput, type LoadedCheckpoint, saveCheckpoint } from '../../train/checkpoint';
import type { Trainer } from '../../train/loop';
import type { FusedTransformer } from './engine';

/** Writes the engine's weights and Adam state (read back from the GPU) as an ablate checkpoint. */
export async function saveFusedCheckpoint(path: string, engine: FusedTransformer, input: Omit<CheckpointInput, 'trainer'>): Promise<void> {
  const state = await engine.exportState();
  const names = [...engine.params.keys()]; // parameterSpecs order, as the tfjs model's variables
  const tensor = (data: Float32Array, name: string) => ({ dtype: 'float32', shape: engine.params.get(name)!.shape, data: async () => data });
  const view = {
    model: { variables: names.map((n) => ({ name: n, trainable: true, ...tensor(state.weights.get(n)!, n) })) },
    optimizer: {
      state: () => ({ t: state.t, m: new Map(names.map((n) => [n, tensor(state.m.get(n)!, n)])), v: new Map(names.map((n) => [n, tensor(state.v.get(n)!, n)])) }),
    },
    step: state.t,
    options: { seed: engine.options.seed },
  };
  await saveCheckpoint(path, { ...input, trainer: view as unknown as Trainer });
}

/** Restores a checkpoint (from either engine) into the engine: weights, Adam moments and step. */
export function restoreFused(engine: FusedTransformer, ckpt: LoadedCheckpoint): void {
  engine.importState({ t: ckpt.header.adam.t, weights: ckpt.tensors.weight, m: ckpt.tensors.adam_m, v: ckpt.tensors.adam_v });
}
