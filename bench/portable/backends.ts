/**
 * The tfjs backends of the portable bundles (bench/portable/pack.sh), handed to the runtime
 * `import()` of experiments/backend.ts through shim packages in the packed folder's node_modules.
 * Lazy getters, because tfjs-backend-webgpu registers itself only if navigator.gpu exists when it
 * loads. TFFLAGS="NAME=value,…" sets tfjs flags after the webgpu ones are registered (for
 * experiments such as WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=200).
 */
import * as tf from '@tensorflow/tfjs-core';

(globalThis as { __portableBench?: Record<string, unknown> }).__portableBench = {
  get '@tensorflow/tfjs-backend-webgpu'() {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const m = require('@tensorflow/tfjs-backend-webgpu');
    for (const kv of (process.env.TFFLAGS ?? '').split(',').filter(Boolean)) {
      const [k, v] = kv.split('=');
      tf.env().set(k, v === 'true' ? true : v === 'false' ? false : Number(v));
    }
    return m;
  },
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  get '@tensorflow/tfjs-backend-wasm'() { return require('@tensorflow/tfjs-backend-wasm'); },
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  get '@tensorflow/tfjs-backend-cpu'() { return require('@tensorflow/tfjs-backend-cpu'); },
};
