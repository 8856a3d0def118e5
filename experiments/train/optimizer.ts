/**
 * Adam (Kingma & Ba) with the paper's β1 = 0.9, β2 = 0.98, ε = 1e-9 (§5.3), and global-norm clipping.
 *
 * The update is tf.train.adam's and torch.optim.Adam's:
 *   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   θ ← θ − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε)
 * Written here rather than taken from tf.train.adam because (a) the learning rate changes every
 * step (the schedule), (b) checkpoints must restore the state bit-for-bit: tf.train.adam keeps
 * β^t as a float32 product accumulated step by step but rebuilds it with pow() on setWeights,
 * so a resumed run would drift; here t is an integer and β^t is computed in float64, and
 * (c) the bias corrections fold into two scalars, a few ops per variable fewer.
 * Per-variable updates on purpose: moments kept in two flat vectors (concat the gradients, one
 * update, split back) were measured 3× slower on config A and 15× on config B on wasm — its
 * Concat/Split copies cost far more than the ~800 kernel calls they save.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface AdamOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

/** The paper's settings (§5.3). */
export const PAPER_ADAM: AdamOptions = { beta1: 0.9, beta2: 0.98, epsilon: 1e-9 };

/** Optimizer state in a checkpoint: the step count and the two moments per variable name. */
export interface AdamState {
  readonly t: number;
  readonly m: ReadonlyMap<string, tf.Tensor>;
  readonly v: ReadonlyMap<string, tf.Tensor>;
}

export class Adam {
  /** Updates applied so far (t of the bias corrections). */
  private t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly variables: readonly tf.Variable[],
    readonly options: AdamOptions = PAPER_ADAM,
  ) {
    for (const w of variables) {
      this.m.set(w.name, tf.variable(tf.zerosLike(w), false, `${w.name}/adam_m`));
      this.v.set(w.name, tf.variable(tf.zerosLike(w), false, `${w.name}/adam_v`));
    }
  }

  get step(): number {
    return this.t;
  }

  /**
   * Applies one update with learning rate `lr`. `grads` maps variable names to gradients
   * (variables without a gradient are left alone, moments included).
   */
  apply(grads: Readonly<Record<string, tf.Tensor>>, lr: number): void {
    this.t += 1;
    const { beta1, beta2, epsilon } = this.options;
    // Float64 on the host; only two scalars per step go to the device.
    const stepSize = lr / (1 - beta1 ** this.t);
    const invSqrtBias2 = 1 / Math.sqrt(1 - beta2 ** this.t);
    tf.tidy(() => {
      const b1 = tf.scalar(beta1);
      const b1c = tf.scalar(1 - beta1);
      const b2 = tf.scalar(beta2);
      const b2c = tf.scalar(1 - beta2);
      const eps = tf.scalar(epsilon);
      const negStep = tf.scalar(-stepSize);
      const invBias2 = tf.scalar(invSqrtBias2);
      for (const w of this.variables) {
        const g = grads[w.name];
        if (!g) continue;
        const m = this.m.get(w.name)!;
        const v = this.v.get(w.name)!;
        const mNew = tf.add(tf.mul(m, b1), tf.mul(g, b1c));
        const vNew = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), b2c));
        m.assign(mNew);
        v.assign(vNew);
        const denom = tf.add(tf.mul(tf.sqrt(vNew), invBias2), eps);
        w.assign(tf.add(w, tf.mul(tf.div(mNew, denom), negStep)));
      }
    });
  }

  /** Current state (tensors are the live variables: read them, don't dispose them). */
  state(): AdamState {
    return { t: this.t, m: this.m, v: this.v };
  }

  /** Restores a saved state; `m`/`v` map variable names to values of the variables' shapes. */
  restore(t: number, m: ReadonlyMap<string, tf.Tensor | Float32Array>, v: ReadonlyMap<string, tf.Tensor | Float32Array>): void {
    for (const w of this.variables) {
      for (const [slots, saved, kind] of [
        [this.m, m, 'm'],
        [this.v, v, 'v'],
      ] as const) {
        const value = saved.get(w.name);
        if (value === undefined) throw new Error(`checkpoint has no Adam ${kind} for variable ${w.name}`);
        const slot = slots.get(w.name)!;
        tf.tidy(() => slot.assign(value instanceof Float32Array ? tf.tensor(value, w.shape, 'float32') : (value as tf.Tensor)));
      }
    }
    this.t = t;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/**
 * tfjs-webgpu's addN binds every input as a storage buffer, and WebGPU's default is 8 storage
 * buffers per shader stage (the output included): with the Transformer's ~60 weight tensors Dawn
 * rejected the pipeline and dropped the command buffer holding it (with the kernels batched beside
 * it), the norm read 0, so nothing was clipped, and no error was raised. So at most 7 inputs an addN.
 */
const ADDN_MAX_INPUTS = 7;

/**
 * Σ xs as a left fold, ADDN_MAX_INPUTS at a time, the running sum first in each group: the same
 * additions in the same order as one addN on the cpu and wasm backends ((x0 + x1) + x2 …), so their
 * results stay bit-identical. A reassociated sum (a tree) moved the norm by 1 ulp, and that was
 * enough to turn a 200-step reversal model from 42 to 19 exact reversals of 48.
 */
function sumInChunks(xs: readonly tf.Tensor[]): tf.Tensor {
  let acc = xs.length <= ADDN_MAX_INPUTS ? tf.addN(xs as tf.Tensor[]) : tf.addN(xs.slice(0, ADDN_MAX_INPUTS) as tf.Tensor[]);
  for (let i = ADDN_MAX_INPUTS; i < xs.length; i += ADDN_MAX_INPUTS - 1) acc = tf.addN([acc, ...xs.slice(i, i + ADDN_MAX_INPUTS - 1)]);
  return acc;
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm` (torch.nn.utils.clip_grad_norm_:
 * coefficient maxNorm / (norm + 1e-6), capped at 1). Returns the new gradients and the norm
 * before clipping (a scalar tensor; nothing is read back).
 */
export function clipByGlobalNorm(grads: Readonly<Record<string, tf.Tensor>>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  const names = Object.keys(grads);
  const norm = tf.sqrt(sumInChunks(names.map((n) => tf.sum(tf.square(grads[n]))))) as tf.Scalar;
  const coef = tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(norm, tf.scalar(1e-6))), tf.scalar(1));
  const out: Record<string, tf.Tensor> = {};
  for (const n of names) out[n] = tf.mul(grads[n], coef);
  return { grads: out, norm };
}
