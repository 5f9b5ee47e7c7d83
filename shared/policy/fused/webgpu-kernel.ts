// Running one hand-written WGSL program as a tfjs kernel on the webgpu backend, without importing
// @tensorflow/tfjs-backend-webgpu (it is loaded on demand by shared/train/backend.ts; a static import would
// pull it into every bundle).
//
// The program object is the shape tfjs-backend-webgpu 4.22.0 expects of a `WebGPUProgram`
// (dist/webgpu_program.d.ts) and runs through `WebGPUBackend.runWebGPUProgram(program, inputs, dtype,
// programDefinedUniforms)` (dist/backend_webgpu.js): the backend declares one read-only storage array per
// name in `variableNames` (named as written), `result` for the output, and a `uniforms` struct holding
// `<name>Shape`, `outShape`, `size` (when `size` is set) and then the fields in `uniforms`, filled from
// `programDefinedUniforms` in order. `getUserCode` returns WGSL defining `fn main(index : i32)`; with
// `dispatch` [n, 1, 1] and `dispatchLayout` { x: [...] } the index is the global invocation index, so
// workgroup w's threads see index w·size + localId.x. The pipeline cache is keyed by `shaderKey` plus the
// inputs' ranks and dtypes only, never their sizes: anything baked into the WGSL text must be in shaderKey.
import * as tf from '../tfjs';

export type WebGpuProgram = {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size?: boolean;
  uniforms?: string;
  getUserCode: () => string;
};

export type ProgramUniform = { type: 'float32' | 'int32'; data: number[] };

type WebGpuBackendLike = {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: ProgramUniform[],
  ): tf.TensorInfo;
};

let fusedEnabled = true;

/** True when the active backend runs the fused WGSL programs (webgpu, unless switched off). */
export function onWebGpu(): boolean {
  return fusedEnabled && tf.getBackend() === 'webgpu';
}

/**
 * Switches the fused programs on or off (on by default) and returns the previous setting: off, webgpu runs
 * the composite ops, which is how the bench and the tests measure what the fusion saves in one process.
 */
export function useFusedKernels(enabled: boolean): boolean {
  const previous = fusedEnabled;
  fusedEnabled = enabled;
  return previous;
}

/**
 * Registers `kernelName` for the webgpu backend (once: a second import of this module, or a bundle that
 * holds two copies, finds it there). `build` makes the program and its uniforms from the inputs in the
 * order `inputNames` lists them.
 */
export function registerWebGpuKernel(
  kernelName: string,
  inputNames: readonly string[],
  build: (
    inputs: tf.TensorInfo[],
    attrs: Record<string, unknown>,
  ) => { program: WebGpuProgram; uniforms?: ProgramUniform[] },
): void {
  if (tf.getKernel(kernelName, 'webgpu')) return;
  tf.registerKernel({
    kernelName,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const ordered = inputNames.map((name) => {
        const input = inputs[name];
        if (!input) throw new Error(`${kernelName}: missing input ${name}`);
        return input;
      });
      const { program, uniforms } = build(ordered, (attrs ?? {}) as Record<string, unknown>);
      return (backend as unknown as WebGpuBackendLike).runWebGPUProgram(
        program,
        ordered,
        'float32',
        uniforms,
      );
    },
  });
}

/** Runs a registered fused kernel through the engine (so it is counted, tidied and traced like any op). */
export function runFused<T extends tf.Tensor>(
  kernelName: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, number> = {},
): T {
  return tf.engine().runKernel(kernelName, inputs as unknown as tf.NamedTensorMap, attrs) as T;
}

/** Throws a clear error unless every tensor is float32 (the programs read and write f32 arrays). */
export function requireFloat32(op: string, tensors: Record<string, tf.Tensor>): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32') throw new Error(`${op}: ${name} must be float32, got ${t.dtype}`);
  }
}
