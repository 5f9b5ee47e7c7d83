// `npm run bench -- hf-memory [--quick] [--layers=N] [--seq=N] [--rank=R] [--targets=q_proj,v_proj]
//                             [--compute] [--no-update] [--no-sample] [--decode-steps=N] [--default-limits]
//                             [--max-rss-mb=MB]`
//
// Issue 22: the memory of ONE LoRA-GRPO step at SmolLM2-135M's shape (random init), batch 4 prompts ×
// group 4 = 16 sequences of 256 tokens (prompt + completion), in headless Chromium on tfjs's webgpu
// backend (SwiftShader: Debian's /usr/bin/chromium, nothing downloaded), and whether any buffer it
// allocates exceeds WebGPU's DEFAULT limits (maxBufferSize 256 MiB, maxStorageBufferBindingSize 128 MiB).
//
// The step is the project's own trainer code, as the RL loop (shared/train/loop-rl.ts) runs it:
//   1. the KL reference's log-probs, completionLogprobs(reference, samples): the reference is the base
//      with the adapter off (a second Policy over the same variables, as the train session's baseOf);
//   2. policyGradientUpdate(policy, AdamW over the adapter only, samples, {beta > 0}): row-chunked
//      forward + backward (batch.ts rowChunks, CHUNK_TOKENS per pass), global-norm clip, AdamW; its
//      metrics are read back, so the GPU queue has finished when the clock stops.
// Completions are random token ids with old log-probs of log(1/V) (what a random-initialised policy
// gives, about): sampling 16 × 160 tokens at this shape on SwiftShader would take far longer than the
// step. A short real sampling is measured beside it: prefill + `decodeSteps` KV-cache decode steps at
// batch 16 with 256 cache slots (the cache of a 256-token rollout).
//
// How memory is read (tfjs-backend-webgpu 4.22): tf.memory() gives numBytes / numTensors (tensors alive,
// whatever their residence) and, from the backend, numBytesInGPU (buffers held by tensors) and
// numBytesAllocatedInGPU (those plus the buffer manager's pool of released buffers kept for reuse:
// the GPU memory actually held). The peaks during a phase come from wrapping the backend's
// bufferManager.acquireBuffer and write() (every tensor's allocation), which also record the largest
// buffer and the largest tensor with its shape, and every allocation above the default limits. WebGPU
// validation errors (e.g. a binding above the device's maxStorageBufferBindingSize) are collected from
// the device's `uncapturederror` event: tfjs does not check limits itself, so an over-limit binding
// would otherwise fail silently. CPU seconds are those of Chromium's process tree (the GPU process runs
// SwiftShader), from /proc; the tree's peak RSS is sampled every 0.5 s.
//
// Compute is OFF unless `--compute` (Settings.compute): on SwiftShader the full step would take hours,
// so the default run measures memory and limits, and a `--compute` run at a small shape gives the FLOP
// rate the full step's time is estimated from (figures in docs/benchmarks.md).
//
// tfjs (base.js) requests the device with the ADAPTER's maxStorageBufferBindingSize, maxBufferSize,
// maxComputeWorkgroupStorageSize, maxComputeWorkgroupsPerDimension, maxComputeWorkgroupSizeX and
// maxComputeInvocationsPerWorkgroup; `--default-limits` makes requestDevice drop those requiredLimits, so
// the same step runs on a device with the spec's defaults and the validation errors show what breaks.
//
// This one file is both halves: `run` (Node: Vite dev server, Chromium, /proc) and `measureInPage` (the
// page imports this file from the dev server). Each half imports what it needs dynamically, so neither
// loads the other's modules.
import type * as TfModule from '../shared/policy/tfjs';
import { SMOLLM2_135M } from './_hf-models';

/** WebGPU's default limits (the spec's table) for the limits tfjs raises, and two it leaves alone. */
export const WEBGPU_DEFAULT_LIMITS: Record<string, number> = {
  maxBufferSize: 268_435_456,
  maxStorageBufferBindingSize: 134_217_728,
  maxComputeWorkgroupStorageSize: 16_384,
  maxComputeWorkgroupsPerDimension: 65_535,
  maxComputeWorkgroupSizeX: 256,
  maxComputeInvocationsPerWorkgroup: 256,
  maxUniformBufferBindingSize: 65_536,
  maxStorageBuffersPerShaderStage: 8,
};

export { SMOLLM2_135M };

export type Settings = {
  nLayer: number;
  prompts: number;
  group: number;
  /** Tokens per sequence, prompt + completion. */
  seq: number;
  promptTokens: number;
  rank: number;
  /** LoRA targets; undefined: the llama family's default (PEFT: q_proj, v_proj). */
  targets?: string[];
  beta: number;
  /** Drop tfjs's requiredLimits: the device gets WebGPU's default limits. */
  defaultLimits: boolean;
  sample: boolean;
  sampleBatch: number;
  sampleSlots: number;
  samplePrompt: number;
  decodeSteps: number;
  /**
   * false (the default; `--compute` turns it on): every compute dispatch is skipped (GPUComputePassEncoder.dispatchWorkgroups
   * does nothing). tfjs allocates, binds and releases exactly as it would (nothing in the step branches
   * on a value read back), so the memory figures and the validation errors stand; the numbers computed
   * and the times do not. How the full 135M shape is measured on SwiftShader, which computes at well
   * under 1 GFLOP/s.
   */
  compute: boolean;
  /**
   * false (`--no-update`): the policy-gradient update is skipped (the reference pass and the sampling
   * still run): how the full 30 layers' reference pass and KV cache are measured on a machine whose
   * memory does not hold the update.
   */
  update: boolean;
  /** Chromium's process tree is closed (and the run fails) above this RSS, to spare the machine. */
  maxRssMB: number;
};

function flagValue(flags: string[], name: string): string | undefined {
  return flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1];
}

function positiveInt(flags: string[], name: string, fallback: number): number {
  const raw = flagValue(flags, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number ≥ 1, got '${raw}'`);
  return n;
}

/** The settings a command line asks for; `--quick`: 2 layers, 64-token sequences, 64 cache slots. */
export function parseSettings(flags: string[]): Settings {
  const quick = flags.includes('--quick');
  const seq = positiveInt(flags, 'seq', quick ? 64 : 256);
  const targets = flagValue(flags, 'targets');
  return {
    nLayer: positiveInt(flags, 'layers', quick ? 2 : 30),
    prompts: 4,
    group: 4,
    seq,
    // Long replies: 96 prompt + 160 completion tokens at 256 (the issue's sampling budget).
    promptTokens: Math.max(1, Math.round((seq * 96) / 256)),
    rank: positiveInt(flags, 'rank', 8),
    ...(targets ? { targets: targets.split(',') } : {}),
    beta: 0.04,
    defaultLimits: flags.includes('--default-limits'),
    sample: !flags.includes('--no-sample'),
    sampleBatch: 16,
    sampleSlots: seq,
    samplePrompt: 8,
    decodeSteps: positiveInt(flags, 'decode-steps', quick ? 2 : 8),
    compute: flags.includes('--compute'),
    update: !flags.includes('--no-update'),
    maxRssMB: positiveInt(flags, 'max-rss-mb', 14_000),
  };
}

/**
 * Approximate matMul FLOPs of the step at a shape (what its time scales with on one device): a forward
 * over `tokens` tokens of rows of T (projections, the tied head, attention's QKᵀ and PV over all T keys
 * as tfjs computes them, masked), the reference = 1 forward, the update = forward + backward, the
 * backward with the base frozen computing input gradients only: one more pass of every projection and
 * the head, two of attention's matMuls (LoRA's rank-8 products and the elementwise ops left out).
 */
export function stepFlops(
  c: {
    nLayer: number;
    nEmbd: number;
    nHead: number;
    nKvHead: number;
    headSize: number;
    mlpHidden: number;
    vocabSize: number;
  },
  tokens: number,
  T: number,
) {
  const q = c.nHead * c.headSize;
  const kv = c.nKvHead * c.headSize;
  const projections =
    c.nLayer * (c.nEmbd * (q + 2 * kv) + q * c.nEmbd + c.nEmbd * 2 * c.mlpHidden + c.mlpHidden * c.nEmbd);
  const head = c.nEmbd * c.vocabSize;
  const attention = c.nLayer * 2 * T * q; // QKᵀ and PV, multiply-adds per token
  const forward = 2 * tokens * (projections + head + attention);
  const backward = 2 * tokens * (projections + head + 2 * attention);
  return { reference: forward, update: forward + backward, total: 2 * forward + backward };
}

// ---------------------------------------------------------------------------------------------------
// The page half (runs in Chromium).

type Allocation = { bytes: number; shape?: number[]; dtype?: string; usage?: number };

/** Peaks and over-limit allocations seen since the last reset. */
type Tracker = {
  reset(): void;
  snapshot(): {
    peakTensorBytes: number;
    peakTensors: number;
    peakBytesInGPU: number;
    peakBytesAllocatedInGPU: number;
    largestBuffer: Allocation;
    largestTensor: Allocation;
    /** Distinct allocations above a default limit: shape (or usage) → count and bytes. */
    overDefaultBinding: Array<Allocation & { count: number }>;
    overDefaultMaxBuffer: Array<Allocation & { count: number }>;
    validationErrors: string[];
  };
};

type WebGpuBackendLike = {
  device: GPUDevice;
  bufferManager: {
    numBytesUsed: number;
    numBytesAllocated: number;
    acquireBuffer: (size: number, usage: number, ...rest: unknown[]) => GPUBuffer;
  };
  write: (values: unknown, shape: number[], dtype: string) => unknown;
};

function installTracker(tf: typeof TfModule, backend: WebGpuBackendLike): Tracker {
  const bm = backend.bufferManager;
  const engineState = (tf.engine() as unknown as { state: { numBytes: number; numTensors: number } }).state;
  const binding = WEBGPU_DEFAULT_LIMITS.maxStorageBufferBindingSize;
  const maxBuffer = WEBGPU_DEFAULT_LIMITS.maxBufferSize;
  let s = fresh();
  const errors: string[] = [];
  function fresh() {
    return {
      peakTensorBytes: engineState.numBytes,
      peakTensors: engineState.numTensors,
      peakBytesInGPU: bm.numBytesUsed,
      peakBytesAllocatedInGPU: bm.numBytesAllocated,
      largestBuffer: { bytes: 0 } as Allocation,
      largestTensor: { bytes: 0 } as Allocation,
      overBinding: new Map<string, Allocation & { count: number }>(),
      overMax: new Map<string, Allocation & { count: number }>(),
    };
  }
  const sample = () => {
    s.peakTensorBytes = Math.max(s.peakTensorBytes, engineState.numBytes);
    s.peakTensors = Math.max(s.peakTensors, engineState.numTensors);
    s.peakBytesInGPU = Math.max(s.peakBytesInGPU, bm.numBytesUsed);
    s.peakBytesAllocatedInGPU = Math.max(s.peakBytesAllocatedInGPU, bm.numBytesAllocated);
  };
  const note = (map: Map<string, Allocation & { count: number }>, key: string, a: Allocation) => {
    const seen = map.get(key);
    if (seen) seen.count += 1;
    else map.set(key, { ...a, count: 1 });
  };
  const acquire = bm.acquireBuffer.bind(bm);
  bm.acquireBuffer = (size: number, usage: number, ...rest: unknown[]) => {
    const buffer = acquire(size, usage, ...rest);
    sample();
    if (size > s.largestBuffer.bytes) s.largestBuffer = { bytes: size, usage };
    return buffer;
  };
  const write = backend.write.bind(backend);
  backend.write = (values: unknown, shape: number[], dtype: string) => {
    const id = write(values, shape, dtype);
    sample();
    const bytes = 4 * shape.reduce((a, b) => a * b, 1); // GPUBytesPerElement: 4 for float32, int32, bool
    const a = { bytes, shape: [...shape], dtype };
    if (bytes > s.largestTensor.bytes) s.largestTensor = a;
    if (bytes > binding) note(s.overBinding, `${dtype}[${shape}]`, a);
    if (bytes > maxBuffer) note(s.overMax, `${dtype}[${shape}]`, a);
    return id;
  };
  backend.device.addEventListener('uncapturederror', (event) => {
    const message = (event as GPUUncapturedErrorEvent).error.message;
    if (errors.length < 20) errors.push(message.slice(0, 400));
  });
  return {
    reset() {
      s = fresh();
      errors.length = 0;
    },
    snapshot() {
      sample();
      return {
        peakTensorBytes: s.peakTensorBytes,
        peakTensors: s.peakTensors,
        peakBytesInGPU: s.peakBytesInGPU,
        peakBytesAllocatedInGPU: s.peakBytesAllocatedInGPU,
        largestBuffer: s.largestBuffer,
        largestTensor: s.largestTensor,
        overDefaultBinding: [...s.overBinding.values()],
        overDefaultMaxBuffer: [...s.overMax.values()],
        validationErrors: [...errors],
      };
    },
  };
}

/** What the page asks Node for at each mark: Chromium's CPU seconds and RSS so far. */
type NodeMark = { cpuSeconds: number; rssMB: number; peakRssMB: number };

declare global {
  interface Window {
    hfMemoryMark?: (label: string) => Promise<NodeMark>;
  }
}

const MB = 2 ** 20;
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

/** The measurement, in the page: everything is imported from the dev server here. */
export async function measureInPage(settings: Settings) {
  const tf = await import('../shared/policy/tfjs');
  const { selectBackend } = await import('../shared/train/backend');
  const model = await import('../shared/policy/model');
  const lora = await import('../shared/policy/lora');
  const { AdamW } = await import('../shared/train/optimizer');
  const pg = await import('../shared/train/policy-gradient');
  const { CHUNK_TOKENS, rowChunks, packBatch } = await import('../shared/train/batch');
  const { createRng } = await import('../shared/random');

  const mark = async (label: string): Promise<NodeMark> =>
    window.hfMemoryMark ? window.hfMemoryMark(label) : { cpuSeconds: Number.NaN, rssMB: 0, peakRssMB: 0 };
  const log = (line: string) => console.log(`hf-memory: ${line}`);

  // --- the device, and its limits against the adapter's and the spec's defaults
  const gpu = navigator.gpu;
  if (!gpu) throw new Error('navigator.gpu is missing: Chromium needs --enable-unsafe-webgpu');
  // Compute programs dispatched (counted in both modes; skipped with compute off).
  let dispatches = 0;
  {
    const proto = GPUComputePassEncoder.prototype as unknown as {
      dispatchWorkgroups: (x: number, y?: number, z?: number) => void;
    };
    const original = proto.dispatchWorkgroups;
    proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, x: number, y?: number, z?: number) {
      dispatches += 1;
      if (settings.compute) original.call(this, x, y, z);
    };
  }
  if (settings.defaultLimits) {
    const proto = GPUAdapter.prototype as unknown as {
      requestDevice: (d?: GPUDeviceDescriptor) => Promise<GPUDevice>;
    };
    const original = proto.requestDevice;
    proto.requestDevice = function (this: GPUAdapter, d?: GPUDeviceDescriptor) {
      return original.call(this, { ...(d ?? {}), requiredLimits: {} });
    };
  }
  const gpuAdapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!gpuAdapter) throw new Error('no WebGPU adapter');
  const info = await selectBackend({ prefer: 'webgpu' });
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const limitNames = Object.keys(WEBGPU_DEFAULT_LIMITS);
  const pick = (limits: GPUSupportedLimits) =>
    Object.fromEntries(limitNames.map((k) => [k, (limits as unknown as Record<string, number>)[k]]));
  const adapterLimits = pick(gpuAdapter.limits);
  const adapterInfo = (gpuAdapter as unknown as { info?: GPUAdapterInfo }).info;
  const deviceLimits = pick(backend.device.limits);
  const raisedByTfjs = limitNames.filter((k) => deviceLimits[k] > WEBGPU_DEFAULT_LIMITS[k]);
  const tracker = installTracker(tf, backend);
  let lost: string | null = null;
  backend.device.lost.then((l) => {
    lost = `${l.reason}: ${l.message}`;
  });
  const memory = () => {
    const m = tf.memory() as ReturnType<typeof tf.memory> & {
      numBytesInGPU?: number;
      numBytesAllocatedInGPU?: number;
    };
    return {
      numBytes: m.numBytes,
      numTensors: m.numTensors,
      numBytesInGPU: m.numBytesInGPU,
      numBytesAllocatedInGPU: m.numBytesAllocatedInGPU,
      MB: mb(m.numBytes),
      inGpuMB: mb(m.numBytesInGPU ?? 0),
      allocatedInGpuMB: mb(m.numBytesAllocatedInGPU ?? 0),
    };
  };
  const failures: Record<string, unknown> = {};
  /** Runs a phase: wall seconds, Chromium's CPU seconds, memory before / after and the peaks during. */
  const phase = async <T>(name: string, fn: () => Promise<T>) => {
    tracker.reset();
    const before = memory();
    const dispatchesBefore = dispatches;
    const m0 = await mark(`${name}:start`);
    const t0 = performance.now();
    let value: T;
    try {
      value = await fn();
    } catch (e) {
      await new Promise((r) => setTimeout(r, 500)); // device.lost settles
      const peaks = tracker.snapshot();
      failures[name] = {
        error: String(e).slice(0, 600),
        deviceLost: lost,
        afterSeconds: Math.round((performance.now() - t0) / 10) / 100,
        before,
        peakUntilFailure: {
          ...peaks,
          allocatedInGpuMB: mb(peaks.peakBytesAllocatedInGPU),
          inGpuMB: mb(peaks.peakBytesInGPU),
          tensorMB: mb(peaks.peakTensorBytes),
        },
        chromium: await mark(`${name}:failed`),
      };
      throw e;
    }
    const seconds = (performance.now() - t0) / 1000;
    const m1 = await mark(`${name}:end`);
    const peaks = tracker.snapshot();
    const after = memory();
    log(`${name}: ${seconds.toFixed(1)} s, peak ${mb(peaks.peakBytesAllocatedInGPU)} MB allocated in GPU`);
    return {
      value,
      report: {
        wallSeconds: Math.round(seconds * 100) / 100,
        chromiumCpuSeconds: Math.round((m1.cpuSeconds - m0.cpuSeconds) * 100) / 100,
        chromiumPeakRssMB: m1.peakRssMB,
        computeDispatches: dispatches - dispatchesBefore,
        before,
        after,
        peak: {
          tensorBytes: peaks.peakTensorBytes,
          tensorMB: mb(peaks.peakTensorBytes),
          tensors: peaks.peakTensors,
          bytesInGPU: peaks.peakBytesInGPU,
          inGpuMB: mb(peaks.peakBytesInGPU),
          bytesAllocatedInGPU: peaks.peakBytesAllocatedInGPU,
          allocatedInGpuMB: mb(peaks.peakBytesAllocatedInGPU),
        },
        largestBuffer: { ...peaks.largestBuffer, MB: mb(peaks.largestBuffer.bytes) },
        largestTensor: { ...peaks.largestTensor, MB: mb(peaks.largestTensor.bytes) },
        overDefaultStorageBinding: peaks.overDefaultBinding,
        overDefaultMaxBuffer: peaks.overDefaultMaxBuffer,
        validationErrors: peaks.validationErrors,
      },
    };
  };

  const limits = {
    specDefaults: WEBGPU_DEFAULT_LIMITS,
    adapter: adapterLimits,
    device: deviceLimits,
    raisedByTfjs,
    defaultLimitsForced: settings.defaultLimits,
  };
  try {
    const config = model.ModelConfigSchema.parse({ ...SMOLLM2_135M, nLayer: settings.nLayer });
    const V = config.vocabSize;
    const initial = memory();
    const init = await phase('init', async () => {
      const policy = model.createPolicy(config, { seed: 1 });
      await tf.sum(policy.weights.wte).data(); // uploads finished
      return policy;
    });
    const policy = init.value;
    const weightsBytes = Object.values(policy.weights).reduce((n, w) => n + 4 * w.size, 0);

    // --- the adapter, its optimizer, and the reference (the base without it: same variables, no copy)
    const adapter = lora.createLora(
      policy,
      { rank: settings.rank, ...(settings.targets ? { targets: settings.targets } : {}) },
      { seed: 1 },
    );
    lora.attachLora(policy, adapter);
    const optimizer = new AdamW(adapter.weights);
    const reference = new model.Policy(policy.config, policy.weights);
    const loraBytes = Object.values(adapter.weights).reduce((n, w) => n + 4 * w.size, 0);
    const afterSetup = memory();

    // --- 4 prompts × group 4 of `seq` tokens: random prompt and completion ids (see the file's head)
    const rng = createRng(7);
    const token = () => 1 + Math.floor(rng.next() * (V - 1));
    const completionTokens = settings.seq - settings.promptTokens;
    const samples: import('../shared/train/policy-gradient').PolicyGradientSample[] = [];
    for (let p = 0; p < settings.prompts; p++) {
      const promptIds = Array.from({ length: settings.promptTokens }, token);
      for (let g = 0; g < settings.group; g++) {
        samples.push({
          promptIds,
          completionIds: Array.from({ length: completionTokens }, token),
          oldLogprobs: new Array<number>(completionTokens).fill(-Math.log(V)),
          reward: rng.next(),
          group: p,
        });
      }
    }
    const packed = packBatch(samples, config.blockSize, config.padId);
    const chunks = rowChunks(packed.B, packed.T, V);
    const chunkRows = chunks[0][1] - chunks[0][0];
    const logitsChunkBytes = 4 * chunkRows * packed.T * V;

    // --- the step: reference log-probs (no gradient), then one policy-gradient update (μ = 1)
    const ref = await phase('reference', async () => pg.completionLogprobs(reference, samples));
    const withRef = samples.map((s, i) => ({ ...s, refLogprobs: ref.value[i] }));
    const update = settings.update
      ? await phase('update', async () =>
          pg.policyGradientUpdate(
            policy,
            optimizer,
            withRef,
            { beta: settings.beta, lossType: 'dapo', epsilon: 0.2 },
            { lr: 1e-4 },
          ),
        )
      : null;
    const metrics = update?.value[0] ?? null;
    const flops = stepFlops(
      {
        ...config,
        nKvHead: config.nKvHead ?? config.nHead,
        headSize: config.headSize ?? config.nEmbd / config.nHead,
        mlpHidden: config.mlpHidden ?? config.mlpRatio * config.nEmbd,
      },
      packed.B * packed.T,
      packed.T,
    );
    const gflopsPerSecond = (f: number, seconds: number) => Math.round((f / seconds / 1e9) * 1000) / 1000;
    const afterStep = memory();
    const optimizerBytes = 2 * loraBytes; // AdamW's exp_avg and exp_avg_sq, one each per adapter value

    // --- a short real sampling: prefill + decode steps at batch B with `sampleSlots` cache slots
    let sampling: Record<string, unknown> | null = null;
    if (settings.sample) {
      const B = settings.sampleBatch;
      const S = settings.sampleSlots;
      const P = settings.samplePrompt;
      const sampled = await phase('sampling', async () => {
        const prompt = tf.tensor2d(
          Int32Array.from({ length: B * P }, () => token()),
          [B, P],
          'int32',
        );
        const t0 = performance.now();
        let { logits, cache } = policy.prefill(prompt, {}, S);
        prompt.dispose();
        await logits.data();
        const prefillSeconds = (performance.now() - t0) / 1000;
        const cacheBytes =
          [...cache.keys, ...cache.values].reduce((n, t) => n + 4 * t.size, 0) + 4 * (cache.head?.size ?? 0);
        const kvBytes = [...cache.keys, ...cache.values].reduce((n, t) => n + 4 * t.size, 0);
        const withCache = memory();
        const t1 = performance.now();
        for (let step = 0; step < settings.decodeSteps; step++) {
          const slot = P + step;
          const next = tf.tidy(() => {
            const bias = new Float32Array(B * S).fill(-1e9);
            for (let b = 0; b < B; b++) for (let j = 0; j <= slot; j++) bias[b * S + j] = 0;
            return policy.decodeStep(
              tf.tensor1d(
                Int32Array.from({ length: B }, () => token()),
                'int32',
              ), // (B)
              tf.tensor1d(new Int32Array(B).fill(slot), 'int32'), // (B)
              slot,
              tf.tensor4d(bias, [B, 1, 1, S]), // (B, 1, 1, S)
              cache,
            );
          });
          await next.logits.data(); // the sampler reads each step's logits back
          logits.dispose();
          model.disposeCache(cache);
          logits = next.logits;
          cache = next.cache;
        }
        const decodeSeconds = (performance.now() - t1) / 1000;
        logits.dispose();
        model.disposeCache(cache);
        return {
          batch: B,
          cacheSlots: S,
          promptTokens: P,
          decodeSteps: settings.decodeSteps,
          kvCacheBytes: kvBytes,
          kvCacheMB: mb(kvBytes),
          cacheWithHeadBytes: cacheBytes,
          cacheWithHeadMB: mb(cacheBytes),
          memoryWithCache: withCache,
          prefillSeconds: Math.round(prefillSeconds * 100) / 100,
          secondsPerDecodeStep: Math.round((decodeSeconds / settings.decodeSteps) * 100) / 100,
        };
      });
      sampling = { ...sampled.value, phase: sampled.report };
    }

    const { value: _init, ...initRest } = init;
    const result = {
      backend: info,
      adapterInfo: adapterInfo
        ? {
            vendor: adapterInfo.vendor,
            architecture: adapterInfo.architecture,
            description: adapterInfo.description,
          }
        : null,
      limits,
      shape: {
        ...config,
        parameters: model.countParameters(config).total,
      },
      batch: {
        prompts: settings.prompts,
        group: settings.group,
        sequences: samples.length,
        tokensPerSequence: settings.seq,
        promptTokens: settings.promptTokens,
        completionTokens,
        packed: { B: packed.B, T: packed.T },
        chunkTokens: CHUNK_TOKENS,
        rowChunks: chunks,
        logitsChunk: { shape: [chunkRows * packed.T, V], bytes: logitsChunkBytes, MB: mb(logitsChunkBytes) },
        completions: 'random token ids; oldLogprobs log(1/V) (not sampled: too slow on SwiftShader)',
      },
      lora: {
        rank: adapter.config.rank,
        alpha: adapter.config.alpha,
        targets: adapter.config.targets,
        parameters: adapter.size(),
      },
      bytes: {
        weights: weightsBytes,
        weightsMB: mb(weightsBytes),
        lora: loraBytes,
        loraMB: mb(loraBytes),
        adamW: optimizerBytes,
        adamWMB: mb(optimizerBytes),
      },
      memory: { initial, afterInit: init.report.after, afterSetup, afterStep },
      phases: { init: initRest.report, reference: ref.report, ...(update ? { update: update.report } : {}) },
      metrics,
      approximateFlops: {
        ...flops,
        ...(settings.compute
          ? {
              referenceGflopsPerSecond: gflopsPerSecond(flops.reference, ref.report.wallSeconds),
              ...(update
                ? { updateGflopsPerSecond: gflopsPerSecond(flops.update, update.report.wallSeconds) }
                : {}),
            }
          : {}),
      },
      sampling,
      deviceLost: lost,
    };
    optimizer.dispose();
    lora.detachLora(policy);
    adapter.dispose();
    policy.dispose();
    return result;
  } catch (e) {
    return { failed: String(e).slice(0, 600), limits, failures, deviceLost: lost };
  }
}

// ---------------------------------------------------------------------------------------------------
// The Node half.

/** Descendants of `root` (not root itself), from /proc. */
async function descendants(root: number): Promise<number[]> {
  const { readdirSync, readFileSync } = await import('node:fs');
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(fields[1]));
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const isBelow = (pid: number) => {
    let p = parent.get(pid);
    for (let depth = 0; p !== undefined && depth < 64; depth++) {
      if (p === root) return true;
      p = parent.get(p);
    }
    return false;
  };
  for (const pid of parent.keys()) if (isBelow(pid)) out.push(pid);
  return out;
}

/** CPU seconds (user + system, with reaped children) and RSS of Chromium's processes under this one. */
async function chromiumUsage(): Promise<{ cpuSeconds: number; rssMB: number }> {
  const { readFileSync } = await import('node:fs');
  let ticks = 0;
  let pages = 0;
  for (const pid of await descendants(process.pid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!/chrom/i.test(comm)) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields from state (3): utime 14, stime 15, cutime 16, cstime 17, rss 24 → indices 11..14, 21
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      pages += Number(f[21]);
    } catch {
      // gone
    }
  }
  return { cpuSeconds: ticks / 100, rssMB: Math.round((pages * 4096) / MB) };
}

export async function run(flags: string[]) {
  const settings = parseSettings(flags);
  const { fileURLToPath } = await import('node:url');
  const { cpus, loadavg } = await import('node:os');
  const { createServer } = await import('vite');
  const { launchChromium } = await import('../test/helpers/browser');
  const repoRoot = fileURLToPath(new URL('..', import.meta.url));
  const server = await createServer({
    configFile: false,
    root: repoRoot,
    // Its own pre-bundle cache: other dev servers with other include lists may run at the same time.
    cacheDir: 'node_modules/.vite-hf-memory',
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
    optimizeDeps: {
      noDiscovery: true,
      include: [
        'zod',
        '@tensorflow/tfjs-core',
        '@tensorflow/tfjs-core/dist/register_all_gradients',
        '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops',
        '@tensorflow/tfjs-backend-cpu',
        '@tensorflow/tfjs-backend-webgpu',
        '@tensorflow/tfjs-backend-wasm',
        '@tensorflow/tfjs-backend-webgl',
      ],
    },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('no dev server address');
  const browser = await launchChromium();
  let peakRssMB = 0;
  let overLimit = false;
  /** The page's phase marks as Node saw them: Chromium's CPU seconds and RSS at each. */
  const marks: Array<{ label: string; cpuSeconds: number; rssMB: number }> = [];
  const sampler = setInterval(() => {
    chromiumUsage().then((u) => {
      peakRssMB = Math.max(peakRssMB, u.rssMB);
      if (u.rssMB > settings.maxRssMB && !overLimit) {
        overLimit = true;
        console.error(
          `bench hf-memory: Chromium's RSS ${u.rssMB} MB > --max-rss-mb=${settings.maxRssMB}: closing it`,
        );
        browser.close().catch(() => {});
      }
    });
  }, 500);
  const started = performance.now();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      const text = m.text();
      if (text.startsWith('hf-memory:')) console.error(`bench ${text}`);
      else if (m.type() === 'error') errors.push(text);
    });
    await page.exposeFunction('hfMemoryMark', async (label: string) => {
      const usage = await chromiumUsage();
      peakRssMB = Math.max(peakRssMB, usage.rssMB);
      console.error(
        `bench hf-memory: ${label} (Chromium CPU ${usage.cpuSeconds.toFixed(1)} s, RSS ${usage.rssMB} MB)`,
      );
      marks.push({ label, ...usage });
      return { ...usage, peakRssMB };
    });
    await page.goto(`http://127.0.0.1:${address.port}/test/browser/blank.html`);
    const cpuBefore = await chromiumUsage();
    let result: Awaited<ReturnType<typeof measureInPage>> | { failed: string; marks: typeof marks };
    try {
      result = await page.evaluate(async (s) => {
        const module = (await window.importModule('/bench/hf-memory.ts')) as {
          measureInPage: typeof measureInPage;
        };
        return module.measureInPage(s);
      }, settings);
    } catch (e) {
      // The page or its GPU process is gone (the RSS guard, or the GPU process lost): what Node saw.
      result = {
        failed: `${overLimit ? `Chromium's RSS passed --max-rss-mb=${settings.maxRssMB}; ` : ''}${String(e).slice(0, 400)}`,
        marks,
      };
    }
    // After a failure Chromium may be gone: then its CPU time up to the last mark.
    const cpuNow = await chromiumUsage();
    const cpuAfter = cpuNow.cpuSeconds >= cpuBefore.cpuSeconds ? cpuNow : (marks.at(-1) ?? cpuBefore);
    return {
      settings,
      ...result,
      chromium: {
        totalWallSeconds: Math.round((performance.now() - started) / 10) / 100,
        totalCpuSeconds: Math.round((cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) * 100) / 100,
        peakRssMB,
        pageErrors: errors,
      },
      machine: { cpus: cpus().length, loadavgAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
    };
  } finally {
    clearInterval(sampler);
    await browser.close();
    await server.close();
  }
}
