/**
 * The learning-rate schedule of "Attention Is All You Need", §5.3, eq. (3):
 *   lrate = d_model^-0.5 · min(step^-0.5, step · warmup_steps^-1.5)
 * times a constant `factor` (1 in the paper; the Annotated Transformer and tensor2tensor expose it).
 * Linear warm-up for `warmup` steps, then decay with the inverse square root of the step.
 */

/**
 * Learning rate for optimizer step `step` (1-based: the first update uses step 1).
 * @example noamLearningRate(4000, 512, 4000) // ≈ 7.0e-4, the peak of the paper's base model
 */
export function noamLearningRate(step: number, dModel: number, warmup: number, factor = 1): number {
  if (!(step >= 1)) throw new RangeError(`learning-rate step must be ≥ 1, got ${step}`);
  if (!(warmup >= 1)) throw new RangeError(`warmup must be ≥ 1, got ${warmup}`);
  return factor * dModel ** -0.5 * Math.min(step ** -0.5, step * warmup ** -1.5);
}
