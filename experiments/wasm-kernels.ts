/**
 * Batched matrix products on XNNPACK for the tfjs wasm backend (4.22); installed by
 * selectBackend('wasm').
 *
 * tfjs-backend-wasm sends a BatchMatMul to XNNPACK only when it is a single (batch 1),
 * un-transposed product; every batched one — attention's Q·Kᵀ and P·V over batch × heads,
 * forward and backward — runs a generic scalar C++ loop instead (measured here: [256,32,32]² in
 * 10.5 ms, 0.8 GMAC/s; XNNPACK reaches ~12 GMAC/s on the dense products). This kernel keeps the stock path for everything else and,
 * for un-transposed batched products (MODEL's ops.matMul transposes explicitly, so attention
 * always arrives this way), registers each batch slice of a, b and the output as a zero-copy
 * tensor view in the wasm backend and runs the stock batch-1 product on it, which is XNNPACK's
 * SIMD fully-connected operator. The views are unregistered at once (that also frees the XNNPACK
 * operator cached on the slice of b). Results equal the stock kernel's to float rounding (tested).
 */
import * as tf from '@tensorflow/tfjs-core';

interface TensorInfoLike {
  readonly dataId: object;
  readonly shape: number[];
  readonly dtype: tf.DataType;
}
interface WasmModuleLike {
  cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
}
interface WasmBackendLike {
  wasm: WasmModuleLike;
  incRef(dataId: object): void;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfoLike;
}

const MARK = Symbol.for('ablate.wasmBatchMatMul');
/**
 * Below this many multiply-adds per slice the stock loop is kept. Measured (best of 5, 1 thread):
 * [128,20,16]·[128,16,20] 1.28 → 0.64 ms, [256,16,16]² 1.62 → 0.88 ms, [256,32,32]² 10.5 → 2.25 ms.
 */
const MIN_SLICE_MACS = 2048;

type RawBatchMatMul = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, transposeA: number, transposeB: number, outId: number) => void;

const shapeBytes = (s: readonly number[]): Uint8Array => new Uint8Array(new Int32Array(s).buffer);

/** Replaces the wasm BatchMatMul kernel (idempotent). Call after the wasm backend is initialised. */
export function installWasmBatchMatMul(): boolean {
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (!stock) return false;
  if ((stock as unknown as Record<symbol, boolean>)[MARK]) return true;
  let raw: RawBatchMatMul | undefined;
  const kernelFunc: tf.KernelFunc = (args) => {
    const { a, b } = args.inputs as unknown as { a: TensorInfoLike; b: TensorInfoLike };
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
    const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
    const [m, k] = a.shape.slice(-2);
    const n = b.shape[b.shape.length - 1];
    if (transposeA || transposeB || batchA !== batchB || batchA === 1 || a.dtype !== 'float32' || b.dtype !== 'float32' || m * k * n < MIN_SLICE_MACS) {
      return stock.kernelFunc(args);
    }
    const backend = args.backend as unknown as WasmBackendLike;
    raw ??= backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) as unknown as RawBatchMatMul;
    const out = backend.makeOutput([...a.shape.slice(0, -2), m, n], 'float32');
    const aOff = backend.dataIdMap.get(a.dataId).memoryOffset;
    const bOff = backend.dataIdMap.get(b.dataId).memoryOffset;
    const oOff = backend.dataIdMap.get(out.dataId).memoryOffset;
    const aShape = shapeBytes([1, m, k]);
    const bShape = shapeBytes([1, k, n]);
    const { registerTensor, disposeData } = backend.wasm.tfjs;
    for (let t = 0; t < batchA; t++) {
      const ida = backend.dataIdNextNumber++;
      const idb = backend.dataIdNextNumber++;
      const ido = backend.dataIdNextNumber++;
      registerTensor(ida, m * k, aOff + 4 * t * m * k);
      registerTensor(idb, k * n, bOff + 4 * t * k * n);
      registerTensor(ido, m * n, oOff + 4 * t * m * n);
      raw(ida, aShape, 3, idb, bShape, 3, 0, 0, ido);
      disposeData(ida);
      disposeData(idb);
      disposeData(ido);
    }
    return out as unknown as tf.TensorInfo;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc, [MARK]: true } as tf.KernelConfig);
  return true;
}

const IDENTITY_MARK = Symbol.for('ablate.wasmIdentity');

/**
 * Identity (tf.clone, and the copies tfjs makes of every tensor a custom gradient saves) without
 * the copy: the output shares the input's buffer with its reference count raised, exactly as the
 * cpu backend and the wasm Reshape kernel already do. tfjs tensors are immutable (a variable's
 * assign swaps buffers rather than writing into one), so sharing is safe. Measured: the stock
 * copy was ~6% of a config-A training step on wasm (461 calls).
 */
export function installWasmIdentity(): boolean {
  const stock = tf.getKernel('Identity', 'wasm');
  if (!stock) return false;
  if ((stock as unknown as Record<symbol, boolean>)[IDENTITY_MARK]) return true;
  const kernelFunc: tf.KernelFunc = (args) => {
    const { x } = args.inputs as unknown as { x: TensorInfoLike };
    if (x.dtype === 'string') return stock.kernelFunc(args);
    (args.backend as unknown as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype } as unknown as tf.TensorInfo;
  };
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc, [IDENTITY_MARK]: true } as tf.KernelConfig);
  return true;
}
