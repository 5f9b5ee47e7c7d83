import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendChoice, BackendInfo } from './protocol';

// The tfjs backend of the lab worker. shared/train/backend.ts does the probing and loading; here the
// bundler supplies the wasm binaries' URLs, and the choice is remembered so sampling on the Feedback
// page uses the backend training picked. tfjs itself is imported only on the first call.

const WASM_PATHS = {
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
};

let current: { choice: BackendChoice; info: BackendInfo } | null = null;

export async function ensureBackend(choice: BackendChoice): Promise<BackendInfo> {
  if (current && (choice === 'auto' || current.choice === choice || current.info.name === choice))
    return current.info;
  const { selectBackend } = await import('../../shared/train/backend');
  // A software GPU (SwiftShader) is used when asked for by name; 'auto' skips it for wasm.
  const selected = await selectBackend({ prefer: choice, wasmPaths: WASM_PATHS });
  const info = { name: selected.name, adapter: selected.adapterDescription, software: selected.software };
  current = { choice, info };
  return info;
}

export function currentBackend(): BackendInfo | null {
  return current?.info ?? null;
}
