/**
 * The seam between a run (run-job.ts: data, schedule, logging, evaluation and checkpoint cadence)
 * and the engine that trains it: the tfjs engine (Trainer + model on the selected tfjs backend) or
 * the fused WebGPU engine (experiments/fused/run/fused-engine.ts). Both read and write the same
 * checkpoint format, so a run resumes on either.
 */
import type { BatchStream } from '../data/index';
import type { EncodedPair } from '../data/types';
import type { Seq2SeqModel } from '../model/types';
import { restoreTrainer, saveCheckpoint, type CheckpointInput, type LoadedCheckpoint } from '../train/checkpoint';
import { Trainer, trainLoop, type StepReport } from '../train/loop';
import { averageCheckpoints, evaluateLoss, translateIds, type LossResult, type Translator } from './evaluate';

export interface TrainOptions {
  readonly totalSteps: number;
  readonly shouldStop: () => boolean;
  /**
   * Steps after which the caller logs, evaluates or checkpoints: an engine that reads losses back
   * with a lag yields such a step before it trains the next one (so the caller sees the weights of
   * exactly that step). Other steps may be yielded while later ones are already in flight.
   */
  readonly settleAt: (step: number) => boolean;
}

export interface RunEngine {
  readonly paramCount: number;
  /** Optimizer steps completed. */
  readonly step: number;
  nextLearningRate(): number;
  /** Weights, Adam state and step from a checkpoint of either engine. */
  restore(ckpt: LoadedCheckpoint): void;
  save(path: string, input: Omit<CheckpointInput, 'trainer'>): Promise<void>;
  train(stream: BatchStream, opts: TrainOptions): AsyncGenerator<StepReport>;
  /** Teacher-forced loss and perplexity (dropout off). */
  evaluateLoss(pairs: readonly EncodedPair[], batchTokens: number): Promise<LossResult>;
  /** Decodes from the current weights (BLEU, samples, stored hypotheses). */
  readonly translate: Translator;
  /** Which decoder `translate` runs, for the run's record (e.g. "the fused decoder (WebGPU)"). */
  readonly decoding: string;
  /** Replaces the weights with the mean of the last `k` checkpoints in `dir` (evaluate.ts averageCheckpoints). */
  average(dir: string, k: number): Promise<ReturnType<typeof averageCheckpoints>>;
  dispose(): void;
}

/** The tfjs engine: the model and its Trainer on the active tfjs backend. */
export function tfjsEngine(model: Seq2SeqModel, trainer: Trainer): RunEngine {
  return {
    paramCount: model.paramCount,
    get step() {
      return trainer.step;
    },
    nextLearningRate: () => trainer.nextLearningRate(),
    restore: (ckpt) => restoreTrainer(trainer, ckpt),
    save: (path, input) => saveCheckpoint(path, { ...input, trainer }),
    train: (stream, opts) => trainLoop(trainer, stream, opts),
    evaluateLoss: (pairs, batchTokens) => evaluateLoss(model, pairs, batchTokens),
    translate: (sources, settings) => translateIds(model, sources, settings),
    decoding: 'the tfjs decoder',
    average: async (dir, k) => averageCheckpoints(model, dir, k),
    dispose: () => {
      trainer.dispose();
      model.dispose();
    },
  };
}
