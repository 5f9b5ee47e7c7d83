// Choosing the tfjs backend the policy trains on.
//
//   const info = await selectBackend({ prefer: 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu', allowSoftware, wasmPaths })
//   info = { name, adapterDescription, software }
//   await probeBackend(name)   → { available, adapterDescription, software, reason? } without switching
//
// 'auto' tries webgpu → webgl → wasm → cpu in a browser or worker, and wasm → cpu under Node, taking the
// first that passes its capability probe. A GPU backend on a software adapter (SwiftShader, llvmpipe, a
// WebGPU fallback adapter) is `software: true`: it is never picked by 'auto' (it would be far slower than
// wasm) unless `allowSoftware` is set, but it is used whenever asked for by name — that is how tests run
// WebGPU without a GPU. Under Node, asking for 'webgpu' installs `navigator.gpu` from the `webgpu` npm
// package (Dawn) first; point VK_ICD_FILENAMES at a Vulkan driver (e.g. SwiftShader's) where none is set.
// Backends are imported lazily, so a page that trains on webgpu never downloads the wasm binaries.
// `wasmPaths` is passed to tfjs-backend-wasm's setWasmPaths (a bundler gives the .wasm files' URLs).
import * as tf from '../policy/tfjs';

import {
  type BackendName,
  BackendNameSchema,
  type BackendRequest,
  BackendRequestSchema,
} from './backend-names';

export { type BackendName, BackendNameSchema, type BackendRequest, BackendRequestSchema };

export type BackendInfo = { name: BackendName; adapterDescription: string; software: boolean };
export type BackendProbe = {
  available: boolean;
  adapterDescription: string;
  software: boolean;
  reason?: string;
};

export type SelectBackendOptions = {
  prefer?: BackendRequest;
  allowSoftware?: boolean;
  wasmPaths?: string | Record<string, string>;
};

const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render/i;

type GpuAdapterLike = {
  isFallbackAdapter?: boolean;
  info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
};
type GpuLike = { requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null> };

export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return (
    typeof p?.versions?.node === 'string' &&
    typeof (globalThis as { window?: unknown }).window === 'undefined'
  );
}

function navigatorGpu(): GpuLike | undefined {
  return (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
}

/** Under Node, provide navigator.gpu from the `webgpu` package (Dawn). */
async function installNodeWebGpu(): Promise<void> {
  if (navigatorGpu() || !isNode()) return;
  const specifier = 'webgpu'; // a variable, so browser bundlers leave this Node-only import alone
  const dawn = (await import(/* @vite-ignore */ specifier)) as {
    create: (flags: string[]) => GpuLike;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, dawn.globals);
  const g = globalThis as { navigator?: object };
  if (!g.navigator) g.navigator = {};
  Object.defineProperty(g.navigator, 'gpu', { value: dawn.create([]), configurable: true });
}

async function probeWebGpu(): Promise<BackendProbe> {
  if (isNode()) {
    try {
      await installNodeWebGpu();
    } catch (e) {
      return {
        available: false,
        adapterDescription: '',
        software: false,
        reason: `webgpu package: ${String(e)}`,
      };
    }
  }
  const gpu = navigatorGpu();
  if (!gpu)
    return { available: false, adapterDescription: '', software: false, reason: 'navigator.gpu is missing' };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
  if (!adapter)
    return { available: false, adapterDescription: '', software: false, reason: 'no WebGPU adapter' };
  const info = adapter.info ?? {};
  const description = [info.vendor, info.architecture, info.device, info.description]
    .filter(Boolean)
    .join(' / ');
  const software =
    adapter.isFallbackAdapter === true ||
    info.isFallbackAdapter === true ||
    SOFTWARE_RENDERER.test(description);
  return { available: true, adapterDescription: description || 'unknown WebGPU adapter', software };
}

function probeWebGl(): BackendProbe {
  const g = globalThis as {
    OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: string): unknown };
    document?: { createElement(tag: string): { getContext(kind: string): unknown } };
  };
  const canvas = g.OffscreenCanvas ? new g.OffscreenCanvas(1, 1) : g.document?.createElement('canvas');
  if (!canvas) return { available: false, adapterDescription: '', software: false, reason: 'no canvas' };
  const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGLRenderingContext | null;
  if (!gl) return { available: false, adapterDescription: '', software: false, reason: 'no WebGL context' };
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
  return { available: true, adapterDescription: renderer, software: SOFTWARE_RENDERER.test(renderer) };
}

export async function probeBackend(name: BackendName): Promise<BackendProbe> {
  switch (name) {
    case 'webgpu':
      return probeWebGpu();
    case 'webgl':
      return isNode()
        ? { available: false, adapterDescription: '', software: false, reason: 'WebGL needs a browser' }
        : probeWebGl();
    case 'wasm':
      return typeof WebAssembly === 'object'
        ? { available: true, adapterDescription: 'WebAssembly (SIMD when supported)', software: false }
        : { available: false, adapterDescription: '', software: false, reason: 'no WebAssembly' };
    case 'cpu':
      return { available: true, adapterDescription: 'JavaScript', software: false };
  }
}

async function loadBackend(name: BackendName, options: SelectBackendOptions): Promise<void> {
  if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (name === 'webgl') await import('@tensorflow/tfjs-backend-webgl');
  if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (options.wasmPaths) wasm.setWasmPaths(options.wasmPaths as string);
  }
  if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialise the ${name} backend`);
  await tf.ready();
}

export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendInfo> {
  const request = BackendRequestSchema.parse(options.prefer ?? 'auto');
  if (request !== 'auto') {
    const probe = await probeBackend(request);
    if (!probe.available) throw new Error(`backend ${request} is not available here: ${probe.reason}`);
    await loadBackend(request, options);
    return { name: request, adapterDescription: probe.adapterDescription, software: probe.software };
  }
  const order: BackendName[] = isNode() ? ['wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'];
  const skipped: string[] = [];
  for (const name of order) {
    const probe = await probeBackend(name);
    if (!probe.available) {
      skipped.push(`${name}: ${probe.reason}`);
      continue;
    }
    if (probe.software && !options.allowSoftware) {
      skipped.push(`${name}: software adapter (${probe.adapterDescription})`);
      continue;
    }
    try {
      await loadBackend(name, options);
      return { name, adapterDescription: probe.adapterDescription, software: probe.software };
    } catch (e) {
      skipped.push(`${name}: ${String(e)}`);
    }
  }
  throw new Error(`no tfjs backend could be initialised (${skipped.join('; ')})`);
}
