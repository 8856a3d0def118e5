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
 */
import * as tf from '@tensorflow/tfjs-core';

export interface AdamOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

/** The paper's settings (§5.3). */
export const PAPER_ADAM: AdamOptions = { beta1: 0.9, beta2: 0.98, epsilon: 1e-9 };

/**
 * Optimizer state for a checkpoint: the step count and the two moments per variable name.
 * The tensors are fresh copies: the caller disposes them.
 */
export interface AdamState {
  readonly t: number;
  readonly m: ReadonlyMap<string, tf.Tensor>;
  readonly v: ReadonlyMap<string, tf.Tensor>;
}

/**
 * The moments of all variables live in two flat vectors, and each step updates them with a
 * dozen whole-vector kernels instead of a dozen kernels per variable: tfjs pays a fixed cost per
 * kernel call, and with ~60–90 variables the per-variable form issued ~800–1200 kernels a step
 * (measured on the bench's config A on wasm: 11.8 ms of a ~145 ms step).
 */
export class Adam {
  /** Updates applied so far (t of the bias corrections). */
  private t = 0;
  private readonly m: tf.Variable;
  private readonly v: tf.Variable;
  /** Element offset of each variable in the flat vectors. */
  private readonly offsets: number[] = [];
  private readonly total: number;

  constructor(
    private readonly variables: readonly tf.Variable[],
    readonly options: AdamOptions = PAPER_ADAM,
  ) {
    let total = 0;
    for (const w of variables) {
      this.offsets.push(total);
      total += w.size;
    }
    this.total = total;
    this.m = tf.variable(tf.zeros([total]), false, `adam/m/${uniqueId()}`);
    this.v = tf.variable(tf.zeros([total]), false, `adam/v/${uniqueId()}`);
  }

  get step(): number {
    return this.t;
  }

  /**
   * Applies one update with learning rate `lr`. `grads` maps variable names to gradients; a
   * variable without one (unused in this step's graph) gets a zero gradient, as in PyTorch's
   * Adam for a parameter whose .grad is zeros.
   */
  apply(grads: Readonly<Record<string, tf.Tensor>>, lr: number): void {
    this.t += 1;
    const { beta1, beta2, epsilon } = this.options;
    // Float64 on the host; only scalars per step go to the device.
    const stepSize = lr / (1 - beta1 ** this.t);
    const invSqrtBias2 = 1 / Math.sqrt(1 - beta2 ** this.t);
    tf.tidy(() => {
      const g = tf.concat(this.variables.map((w) => tf.reshape(grads[w.name] ?? tf.zeros(w.shape), [-1]))); // [total]
      const mNew = tf.add(tf.mul(this.m, tf.scalar(beta1)), tf.mul(g, tf.scalar(1 - beta1)));
      const vNew = tf.add(tf.mul(this.v, tf.scalar(beta2)), tf.mul(tf.square(g), tf.scalar(1 - beta2)));
      this.m.assign(mNew);
      this.v.assign(vNew);
      const denom = tf.add(tf.mul(tf.sqrt(vNew), tf.scalar(invSqrtBias2)), tf.scalar(epsilon));
      const update = tf.mul(tf.div(mNew, denom), tf.scalar(-stepSize)); // [total]
      const parts = tf.split(update, this.variables.map((w) => w.size));
      this.variables.forEach((w, i) => w.assign(tf.add(w, tf.reshape(parts[i], w.shape))));
    });
  }

  /** Current state as per-variable copies (dispose them). */
  state(): AdamState {
    const m = new Map<string, tf.Tensor>();
    const v = new Map<string, tf.Tensor>();
    this.variables.forEach((w, i) => {
      m.set(w.name, tf.reshape(tf.slice(this.m, [this.offsets[i]], [w.size]), w.shape));
      v.set(w.name, tf.reshape(tf.slice(this.v, [this.offsets[i]], [w.size]), w.shape));
    });
    return { t: this.t, m, v };
  }

  /** Restores a saved state; `m`/`v` map variable names to values of the variables' sizes. */
  restore(t: number, m: ReadonlyMap<string, tf.Tensor | Float32Array>, v: ReadonlyMap<string, tf.Tensor | Float32Array>): void {
    for (const [slot, saved, kind] of [
      [this.m, m, 'm'],
      [this.v, v, 'v'],
    ] as const) {
      const flat = new Float32Array(this.total);
      this.variables.forEach((w, i) => {
        const value = saved.get(w.name);
        if (value === undefined) throw new Error(`checkpoint has no Adam ${kind} for variable ${w.name}`);
        const data = value instanceof Float32Array ? value : (value.dataSync() as Float32Array);
        if (data.length !== w.size) throw new Error(`checkpoint: Adam ${kind} of ${w.name} has ${data.length} values, expected ${w.size}`);
        flat.set(data, this.offsets[i]);
      });
      tf.tidy(() => slot.assign(tf.tensor1d(flat)));
    }
    this.t = t;
  }

  dispose(): void {
    this.m.dispose();
    this.v.dispose();
  }
}

let nextId = 0;
/** tfjs variable names are global: each optimizer's moments get their own. */
const uniqueId = (): number => ++nextId;

/**
 * Scales gradients so their global L2 norm is at most `maxNorm` (torch.nn.utils.clip_grad_norm_:
 * coefficient maxNorm / (norm + 1e-6), capped at 1). Returns the new gradients and the norm
 * before clipping (a scalar tensor; nothing is read back).
 */
export function clipByGlobalNorm(grads: Readonly<Record<string, tf.Tensor>>, maxNorm: number): { grads: Record<string, tf.Tensor>; norm: tf.Scalar } {
  const names = Object.keys(grads);
  const norm = tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]))))) as tf.Scalar;
  const coef = tf.minimum(tf.div(tf.scalar(maxNorm), tf.add(norm, tf.scalar(1e-6))), tf.scalar(1));
  const out: Record<string, tf.Tensor> = {};
  for (const n of names) out[n] = tf.mul(grads[n], coef);
  return { grads: out, norm };
}
