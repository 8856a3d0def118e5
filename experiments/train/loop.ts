/**
 * The training loop: teacher-forced steps of label-smoothed cross-entropy with Adam and the
 * paper's learning-rate schedule, yielding progress to the caller between steps.
 *
 * One step: batch → tensors → forward (dropout on, masks from the model) → loss over non-pad
 * targets → gradients of every trainable variable → optional global-norm clip → Adam update with
 * lrate(step). Everything a step allocates is freed inside the step (tf.memory().numTensors is
 * the same after every step; tested).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../data/types';
import type { Seq2SeqModel } from '../model/types';
import { labelSmoothedCrossEntropy, type SmoothingSupport } from './loss';
import { Adam, clipByGlobalNorm, PAPER_ADAM, type AdamOptions } from './optimizer';
import { withStepRandom } from '../seeding';
import { noamLearningRate } from './schedule';

/** Anything that hands out training batches and can save/restore where it is (DATA's BatchStream). */
export interface BatchSource {
  next(): Batch;
  readonly position: unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- BatchStream.restore takes its own BatchPosition type
  restore(position: any): void;
}

export interface TrainerOptions {
  readonly warmup: number;
  readonly lrFactor: number;
  /** Global gradient-norm clip; 0 disables. */
  readonly clipNorm: number;
  readonly labelSmoothing: number;
  readonly smoothing?: SmoothingSupport;
  /** Run seed: dropout masks of step N depend on (seed, N) only. */
  readonly seed: number;
  readonly adam?: AdamOptions;
}

/** What one optimizer step reports. */
export interface StepReport {
  /** Steps completed (1 after the first update). */
  readonly step: number;
  /** Label-smoothed cross-entropy per non-pad target token of this step's batch. */
  readonly loss: number;
  /** Learning rate used for this update. */
  readonly lr: number;
  /** Non-pad target tokens in the batch. */
  readonly tokens: number;
  /** Wall-clock seconds of the step (tensor upload to loss read-back). */
  readonly seconds: number;
  /** tokens / seconds. */
  readonly tokensPerSecond: number;
}

/** Batch arrays → int32 tensors [size, len]. The caller disposes them (or calls inside tf.tidy). */
export function batchTensors(batch: Batch): { src: tf.Tensor2D; tgtIn: tf.Tensor2D; tgtOut: tf.Tensor2D } {
  return {
    src: tf.tensor2d(batch.src, [batch.size, batch.srcLen], 'int32'),
    tgtIn: tf.tensor2d(batch.tgtIn, [batch.size, batch.tgtLen], 'int32'),
    tgtOut: tf.tensor2d(batch.tgtOut, [batch.size, batch.tgtLen], 'int32'),
  };
}

/** A model, its optimizer and the step counter: the state a checkpoint saves. */
export class Trainer {
  readonly optimizer: Adam;
  private readonly trainable: tf.Variable[];

  constructor(
    readonly model: Seq2SeqModel,
    readonly options: TrainerOptions,
  ) {
    this.trainable = model.variables.filter((v) => v.trainable);
    this.optimizer = new Adam(this.trainable, options.adam ?? PAPER_ADAM);
  }

  /** Optimizer steps completed. */
  get step(): number {
    return this.optimizer.step;
  }

  /** Learning rate of the next update (eq. 3 at step + 1). */
  nextLearningRate(): number {
    return noamLearningRate(this.step + 1, this.model.config.d_model, this.options.warmup, this.options.lrFactor);
  }

  /** One optimizer step on `batch`. Reads back the loss (one number) synchronously: cpu, wasm, tensorflow. */
  trainStep(batch: Batch): StepReport {
    const pending = this.dispatchStep(batch);
    const loss = (pending.lossTensor.dataSync() as Float32Array)[0];
    return this.finishStep(pending, loss, batch);
  }

  /** The same step with an asynchronous read-back: also works on webgpu, whose synchronous reads need a canvas. */
  async trainStepAsync(batch: Batch): Promise<StepReport> {
    const pending = this.dispatchStep(batch);
    const loss = ((await pending.lossTensor.data()) as Float32Array)[0];
    return this.finishStep(pending, loss, batch);
  }

  /** Queues the forward, backward and update kernels of one step; returns the (unread) loss. */
  private dispatchStep(batch: Batch): { lossTensor: tf.Tensor; lr: number; step: number; started: number } {
    const started = performance.now();
    const lr = this.nextLearningRate();
    const step = this.step + 1;
    const { clipNorm, labelSmoothing, smoothing, seed } = this.options;
    // Dropout masks from (seed, step) alone: the model's own seeding (setDropoutStep) and any
    // unseeded tf.randomUniform (withStepRandom) — so a resumed run draws the same masks.
    this.model.setDropoutStep?.(step);
    const lossTensor = tf.tidy(() => {
      const { src, tgtIn, tgtOut } = batchTensors(batch);
      const { value, grads } = withStepRandom(seed, step, () =>
        tf.variableGrads(() => labelSmoothedCrossEntropy(this.model.forward(src, tgtIn, true), tgtOut, { labelSmoothing, smoothing }), this.trainable),
      );
      const applied = clipNorm > 0 ? clipByGlobalNorm(grads, clipNorm).grads : grads;
      this.optimizer.apply(applied, lr);
      return value;
    });
    return { lossTensor, lr, step, started };
  }

  private finishStep(pending: { lossTensor: tf.Tensor; lr: number; step: number; started: number }, loss: number, batch: Batch): StepReport {
    pending.lossTensor.dispose();
    const seconds = (performance.now() - pending.started) / 1000;
    return { step: pending.step, loss, lr: pending.lr, tokens: batch.targetTokens, seconds, tokensPerSecond: batch.targetTokens / Math.max(seconds, 1e-9) };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Lets pending I/O (a parent's stop message, progress writes) run between steps. */
const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Trains until `totalSteps` steps are done (counting steps already done before a resume) or
 * `shouldStop()` returns true between two steps. Yields after every step; the caller evaluates,
 * checkpoints or stops (breaking out of `for await` stops the loop cleanly between steps).
 * @example for await (const r of trainLoop(trainer, stream, { totalSteps: 2000 })) if (!Number.isFinite(r.loss)) break;
 */
export async function* trainLoop(trainer: Trainer, batches: BatchSource, opts: { totalSteps: number; shouldStop?: () => boolean }): AsyncGenerator<StepReport> {
  while (trainer.step < opts.totalSteps) {
    await macrotask();
    if (opts.shouldStop?.()) return;
    yield await trainer.trainStepAsync(batches.next());
  }
}
