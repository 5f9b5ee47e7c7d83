// Counting what tfjs launches: `countDispatches(fn)` runs fn (sync or async) and returns how many kernels
// tfjs ran inside it, by name, how many of those move no data on WebGPU (a new view of the same buffer),
// how many times a tensor was read back to the host, and how many tensors were made from host values.
// On the WebGPU backend it also counts the compute programs actually recorded and the queue submits.
//
// Why here and how: tfjs launches one kernel per op (issue 22), so the number of kernels per decoded token
// or per train step is the first figure to cut. Every op of tfjs-core 4.22.0 reaches the backend through
// `Engine.runKernelFunc` (engine.js: `runKernel` → `runKernelFunc`; gradients and `customGrad` bodies call
// ops, so they pass there too), reads through `Engine.readSync` / `Engine.read` (`dataSync`, `data`,
// `array`, `arraySync` all end there), and host arrays become tensors through `Engine.makeTensor`.
// While a count is open, this module shadows those three prototype methods with own properties on the
// engine instance that count and call the original; when the last open count ends the own properties are
// deleted again, so outside a count tfjs runs its own, unwrapped methods: no check, no cost.
// `tf.profile()` was not used: it times every kernel and reads each output back to check for NaN
// (engine.js: `profiler.profileKernel`), which adds GPU reads and changes what is being measured.
//
// What a "kernel" is: one registered-kernel invocation at the engine (`kernelName` set). A backend's kernel
// may run several programs of its own, calling them directly, not through the engine (tfjs-webgpu's
// reductions transpose first when the axes are not the innermost, kernel_utils/reduce.js; Unpack runs a
// slice per output), and small CPU-resident inputs may run on the CPU instead (tfjs-webgpu
// `shouldExecuteOnCPU`, WEBGPU_CPU_FORWARD): that is why the WebGPU program count is separate.
//
// Concurrency: the count is by time, not by caller. tfjs work another task runs while an async fn awaits
// is counted too.
import * as tf from './tfjs';

export type DispatchCount = {
  /** Registered kernels the engine ran (every op, forward and gradient). */
  kernels: number;
  /** The same, per kernel name. */
  byKernel: Record<string, number>;
  /** Of `kernels`, those that launch no GPU program on WebGPU (see DATA_ONLY_KERNELS). */
  dataOnly: number;
  /** Reads back to the host: dataSync / data / array / arraySync (Engine.readSync + Engine.read). */
  reads: number;
  /**
   * Tensors made from host values (Engine.makeTensor): tf.tensor, tf.scalar, JS numbers passed to ops,
   * and tf.zeros / tf.ones, which tfjs-core fills on the host (ops/zeros.js); tf.zerosLike and tf.fill
   * are kernels instead.
   */
  uploads: number;
  /** WebGPU only: compute programs recorded (dispatches) and command-queue submits. */
  webgpu?: { programs: number; submits: number };
};

/**
 * Kernels whose tfjs-webgpu implementation only makes a new tensor view over the input's buffer
 * (`backend.incRef(x.dataId)`, no `runWebGPUProgram`): tfjs-backend-webgpu 4.22.0
 * dist/kernels/Reshape.js, Identity.js, ExpandDims.js (a reshape), Complex.js, Real.js, Imag.js
 * (identities of the parts). `Squeeze` is not a kernel: tfjs-core's op calls Reshape.
 * Cast is data-only when the cast loses nothing (Cast.js: `!util.hasEncodingLoss(x.dtype, dtype)` →
 * identity), decided per call below.
 */
export const DATA_ONLY_KERNELS: ReadonlySet<string> = new Set([
  'Reshape',
  'Identity',
  'ExpandDims',
  'Complex',
  'Real',
  'Imag',
]);

type KernelParams = {
  kernelName?: string;
  inputs?: Record<string, tf.TensorInfo | undefined>;
  attrs?: Record<string, unknown>;
};

type Counter = {
  kernels: number;
  byKernel: Map<string, number>;
  dataOnly: number;
  reads: number;
  uploads: number;
  programs: number;
  submits: number;
};

type EngineMethods = {
  runKernelFunc: (params: KernelParams) => unknown;
  readSync: (dataId: unknown) => unknown;
  read: (dataId: unknown) => Promise<unknown>;
  makeTensor: (...args: unknown[]) => tf.Tensor;
};

type WebGPUMethods = {
  recordAndSubmit: (...args: unknown[]) => unknown;
  submitQueue: () => unknown;
};

const open: Counter[] = [];
let restore: (() => void) | null = null;

/** True while at least one count is open (the engine's methods are wrapped). */
export function isCounting(): boolean {
  return open.length > 0;
}

function bump(field: 'kernels' | 'dataOnly' | 'reads' | 'uploads' | 'programs' | 'submits') {
  for (const c of open) c[field]++;
}

function isDataOnly(params: KernelParams): boolean {
  const name = params.kernelName as string;
  if (DATA_ONLY_KERNELS.has(name)) return true;
  if (name !== 'Cast') return false;
  const x = params.inputs?.x;
  const dtype = params.attrs?.dtype as tf.DataType | undefined;
  // Cast.js: no encoding loss (e.g. int32 → float32, bool → int32, same dtype) → identity.
  return x != null && dtype != null && dtype !== 'complex64' && !tf.util.hasEncodingLoss(x.dtype, dtype);
}

/** Shadow `names` on `target` with own properties; returns the function that undoes it exactly. */
function shadow<T extends object>(target: T, wrappers: Partial<Record<keyof T, unknown>>): () => void {
  const record = target as Record<string, unknown>;
  const before: [string, PropertyDescriptor | undefined][] = [];
  for (const [name, wrapper] of Object.entries(wrappers)) {
    before.push([name, Object.getOwnPropertyDescriptor(target, name)]);
    record[name] = wrapper;
  }
  return () => {
    for (const [name, descriptor] of before.reverse()) {
      if (descriptor) Object.defineProperty(target, name, descriptor);
      else delete record[name];
    }
  };
}

function install(): () => void {
  const engine = tf.engine() as unknown as EngineMethods;
  const original = {
    runKernelFunc: engine.runKernelFunc,
    readSync: engine.readSync,
    read: engine.read,
    makeTensor: engine.makeTensor,
  };
  const undoEngine = shadow(engine, {
    runKernelFunc(this: EngineMethods, params: KernelParams) {
      // customGrad bodies arrive here without a kernelName; the ops inside them are counted themselves.
      if (params.kernelName != null) {
        for (const c of open) c.byKernel.set(params.kernelName, (c.byKernel.get(params.kernelName) ?? 0) + 1);
        bump('kernels');
        if (isDataOnly(params)) bump('dataOnly');
      }
      return original.runKernelFunc.call(this, params);
    },
    readSync(this: EngineMethods, dataId: unknown) {
      bump('reads');
      return original.readSync.call(this, dataId);
    },
    read(this: EngineMethods, dataId: unknown) {
      bump('reads');
      return original.read.call(this, dataId);
    },
    makeTensor(this: EngineMethods, ...args: unknown[]) {
      bump('uploads');
      return original.makeTensor.apply(this, args);
    },
  });
  // tfjs-backend-webgpu 4.22.0 backend_webgpu.js: runWebGPUProgram → recordAndSubmit records one
  // dispatchWorkgroups (runWebGPUProgram returns early for an empty output, so recordAndSubmit is the
  // dispatch); submitQueue is every queue.submit (each WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE = 15
  // dispatches, and before every read back).
  const backend = tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as WebGPUMethods) : null;
  let undoBackend = () => {};
  if (backend && typeof backend.recordAndSubmit === 'function' && typeof backend.submitQueue === 'function') {
    const record = backend.recordAndSubmit;
    const submit = backend.submitQueue;
    undoBackend = shadow(backend, {
      recordAndSubmit(this: WebGPUMethods, ...args: unknown[]) {
        bump('programs');
        return record.apply(this, args);
      },
      submitQueue(this: WebGPUMethods) {
        bump('submits');
        return submit.call(this);
      },
    });
  }
  return () => {
    undoBackend();
    undoEngine();
  };
}

function openCounter(): Counter {
  const counter: Counter = {
    kernels: 0,
    byKernel: new Map(),
    dataOnly: 0,
    reads: 0,
    uploads: 0,
    programs: 0,
    submits: 0,
  };
  if (open.length === 0) restore = install();
  open.push(counter);
  return counter;
}

function close(counter: Counter, webgpu: boolean): DispatchCount {
  const at = open.indexOf(counter);
  if (at >= 0) open.splice(at, 1);
  if (open.length === 0 && restore) {
    restore();
    restore = null;
  }
  const byKernel = Object.fromEntries([...counter.byKernel.entries()].sort(([a], [b]) => a.localeCompare(b)));
  const count: DispatchCount = {
    kernels: counter.kernels,
    byKernel,
    dataOnly: counter.dataOnly,
    reads: counter.reads,
    uploads: counter.uploads,
  };
  if (webgpu) count.webgpu = { programs: counter.programs, submits: counter.submits };
  return count;
}

/**
 * Counts the kernels, reads and uploads of everything tfjs runs inside fn (see the header). Counts nest
 * (an inner count's work is also the outer's); the engine is restored when fn throws or rejects.
 * The backend must be set before the count opens (the WebGPU hooks are placed on the backend in use).
 */
export function countDispatches<T>(fn: () => Promise<T>): Promise<Counted<T>>;
export function countDispatches<T>(fn: () => T): Counted<T>;
export function countDispatches<T>(fn: () => T | Promise<T>): Counted<T> | Promise<Counted<T>> {
  const webgpu = tf.getBackend() === 'webgpu';
  const counter = openCounter();
  let result: T | Promise<T>;
  try {
    result = fn();
  } catch (error) {
    close(counter, webgpu);
    throw error;
  }
  if (result instanceof Promise) {
    return result.then(
      (value) => ({ value, ...close(counter, webgpu) }),
      (error) => {
        close(counter, webgpu);
        throw error;
      },
    );
  }
  return { value: result, ...close(counter, webgpu) };
}

/** fn's result beside its counts. */
export type Counted<T> = DispatchCount & { value: T };
