// `npm run bench -- hf-shapes [--quick] [--backends=wasm] [--models=tiny,smollm2,gpt2] [--train-layers=N]
//  [--decode-only] [--decode-batches=1,8,32] [--decode-steps=N]`
//
// Issue 22: the policy at the shapes of real pretrained models, random-initialised (createPolicy), beside
// the built-in `tiny` preset as the baseline. Per model × backend: parameters, init time, memory
// (tf.memory().numBytes, the process RSS and, on wasm, the wasm heap, which tfjs-wasm caps at 4 GiB),
// kernels per decoded token (one KV-cache decode step) and per train step (forward + backward + AdamW,
// batch 1 × 64 tokens, SFT), decode tokens/s at batch 1, 8 and 32, train tokens/s, and LoRA's train step
// when the policy takes an adapter. Every rate has its CPU seconds (process.cpuUsage) beside its wall
// seconds: the machine's cores are shared, and tfjs-wasm and cpu run on one thread.
// On webgpu the decode step also runs with the fused kernels switched off (useFusedKernels(false), batch 1)
// and both counts carry the WebGPU programs recorded (`decodeProgramsPerToken`), the figure issue 22 cuts.
// `--decode-only` skips the train and LoRA steps (the SmolLM2 shape's on SwiftShader take far longer than
// its decoding); `--decode-batches` and `--decode-steps` narrow the decode runs.
//
// Shapes (from the models' config.json on the Hugging Face Hub):
// - SmolLM2-135M (LlamaForCausalLM): 30 layers, hidden 576, 9 query / 3 key-value heads of 64,
//   intermediate (SwiGLU) 1536, vocab 49,152, rope_theta 100000, RMSNorm, tied embeddings.
// - GPT-2 (GPT2LMHeadModel): 12 layers, n_embd 768, 12 heads, vocab 50,257, n_positions 1024, LayerNorm,
//   gelu_new (tanh approximation), biases everywhere, learned positions, tied head.
import { cpus, loadavg } from 'node:os';
import { countDispatches, type DispatchCount } from '../shared/policy/dispatches';
import { useFusedKernels } from '../shared/policy/fused';
import * as lora from '../shared/policy/lora';
import {
  countParameters,
  createPolicy,
  disposeCache,
  type ModelConfigInput,
  ModelConfigSchema,
  type Policy,
  presetConfig,
} from '../shared/policy/model';
import * as tf from '../shared/policy/tfjs';
import { BackendNameSchema, selectBackend } from '../shared/train/backend';
import type { SequencePair } from '../shared/train/batch';
import { AdamW } from '../shared/train/optimizer';
import { sftStep } from '../shared/train/sft';
import { SMOLLM2_135M } from './_hf-models';

type ModelName = 'tiny' | 'smollm2' | 'gpt2';

/** The models' shapes; the fields beyond the presets' are the issue 22 contract's. */
/**
 * `wasmTrainLayers`: the layers a train step gets on wasm. tfjs-wasm's heap stops at 4 GiB and a
 * train step there needs far more than weights + gradients + AdamW's moments (measured with this
 * tree, batch 1 × 64: the SmolLM2 shape's heap reaches 2.3 GiB at 2 layers and 3.4 GiB at 6 while its
 * tensors hold 0.6 GiB; GPT-2's reaches 3.5 GiB at 2 layers), so the full 30- and 12-layer steps abort
 * (XNNPACK out of memory), which no try/catch survives. The step runs on the model with this many layers
 * (same widths and vocabulary); `--train-layers=N` overrides it.
 */
const SHAPES: Record<
  ModelName,
  { label: string; config: ModelConfigInput & Record<string, unknown>; wasmTrainLayers?: number }
> = {
  tiny: { label: 'tiny preset (baseline)', config: { ...presetConfig('tiny') } },
  smollm2: {
    label: 'SmolLM2-135M shape',
    wasmTrainLayers: 4,
    config: SMOLLM2_135M,
  },
  gpt2: {
    label: 'GPT-2 shape',
    wasmTrainLayers: 1,
    config: {
      vocabSize: 50257,
      blockSize: 1024,
      nLayer: 12,
      nHead: 12,
      nEmbd: 768,
      mlp: 'gelu_tanh',
      norm: 'layer',
      positions: 'learned',
      qkvBias: true,
      attnOutBias: true,
      mlpBias: true,
      tiedHead: true,
    },
  },
};

type Settings = {
  /** Decode steps timed per batch size (after one warm-up step and one counted step). */
  decodeSteps: number;
  decodeBatches: number[];
  /** Train steps timed (after one warm-up step and one counted step). */
  trainSteps: number;
  trainBatch: number;
  trainSeq: number;
};

function flag(flags: string[], name: string): string | undefined {
  return flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1];
}

/** Wall and CPU seconds (user + system, this process) of fn. */
async function time<T>(fn: () => Promise<T>): Promise<{ seconds: number; cpuSeconds: number; value: T }> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6, value };
}

function memory() {
  const heap = (tf.backend() as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.byteLength;
  return {
    tensorMB: Math.round(tf.memory().numBytes / 2 ** 20),
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
    ...(heap === undefined ? {} : { wasmHeapMB: Math.round(heap / 2 ** 20) }),
  };
}

/** The count without its per-kernel table, plus the table's largest entries (the table is long). */
function summary(count: DispatchCount, top = 8) {
  const byKernel = Object.entries(count.byKernel)
    .sort(([, a], [, b]) => b - a)
    .slice(0, top);
  return {
    kernels: count.kernels,
    gpuKernels: count.kernels - count.dataOnly,
    dataOnly: count.dataOnly,
    reads: count.reads,
    uploads: count.uploads,
    ...(count.webgpu ? { webgpu: count.webgpu } : {}),
    topKernels: Object.fromEntries(byKernel),
  };
}

/**
 * Decoding at batch B with the KV cache, as the sampler runs it: each step's logits are read back (the
 * next token is picked on the host). A 4-token prompt, one warm-up step, one counted step, then `steps`
 * timed steps.
 */
async function decodeRate(policy: Policy, B: number, steps: number) {
  const P = 4;
  const S = P + steps + 2;
  const prompt = tf.tensor2d(new Int32Array(B * P).fill(5), [B, P], 'int32');
  let { logits, cache } = policy.prefill(prompt, {}, S);
  prompt.dispose();
  let slot = P;
  const step = async () => {
    const next = tf.tidy(() => {
      const bias = new Float32Array(B * S).fill(-1e9);
      for (let b = 0; b < B; b++) for (let j = 0; j <= slot; j++) bias[b * S + j] = 0;
      return policy.decodeStep(
        tf.tensor1d(new Int32Array(B).fill(7), 'int32'), // (B)
        tf.tensor1d(new Int32Array(B).fill(slot), 'int32'), // (B)
        slot,
        tf.tensor4d(bias, [B, 1, 1, S]), // (B, 1, 1, S)
        cache,
      );
    });
    await next.logits.data();
    logits.dispose();
    disposeCache(cache);
    logits = next.logits;
    cache = next.cache;
    slot += 1;
  };
  await step(); // warm-up: the first step compiles / allocates
  const counted = await countDispatches(step);
  const timed = await time(async () => {
    for (let i = 0; i < steps; i++) await step();
  });
  logits.dispose();
  disposeCache(cache);
  const tokens = B * steps;
  return {
    batch: B,
    steps,
    tokensPerSecond: round(tokens / timed.seconds),
    tokensPerCpuSecond: round(tokens / timed.cpuSeconds),
    msPerStep: round((timed.seconds * 1000) / steps),
    cpuMsPerStep: round((timed.cpuSeconds * 1000) / steps),
    dispatches: summary(counted),
  };
}

function trainPairs(vocabSize: number, batch: number, seq: number): SequencePair[] {
  // One prompt token, then `seq - 1` reply tokens: a batch × seq packed batch.
  return Array.from({ length: batch }, (_, b) => ({
    promptIds: [1 + b],
    completionIds: Array.from({ length: seq - 1 }, (_, t) => 1 + ((b * 31 + t * 7) % (vocabSize - 1))),
  }));
}

/** SFT steps (forward + backward + AdamW) over `weights`: one warm-up, one counted, `steps` timed. */
async function trainRate(policy: Policy, weights: Record<string, tf.Variable>, settings: Settings) {
  const optimizer = new AdamW(weights);
  const pairs = trainPairs(policy.config.vocabSize, settings.trainBatch, settings.trainSeq);
  const run = () => sftStep(policy, optimizer, pairs, { lr: 1e-5 });
  const first = await time(run);
  const counted = await countDispatches(run);
  const timed = await time(async () => {
    for (let i = 0; i < settings.trainSteps; i++) await run();
  });
  const after = memory(); // weights + gradients' leftovers + AdamW's two moments
  optimizer.dispose();
  const tokens = settings.trainBatch * settings.trainSeq * settings.trainSteps;
  return {
    batch: settings.trainBatch,
    seq: settings.trainSeq,
    steps: settings.trainSteps,
    trainableParameters: Object.values(weights).reduce((n, v) => n + v.size, 0),
    firstStepSeconds: round(first.seconds),
    tokensPerSecond: round(tokens / timed.seconds),
    tokensPerCpuSecond: round(tokens / timed.cpuSeconds),
    secondsPerStep: round(timed.seconds / settings.trainSteps),
    cpuSecondsPerStep: round(timed.cpuSeconds / settings.trainSteps),
    memoryWithOptimizer: after,
    dispatches: summary(counted),
  };
}

/** LoRA (rank 8, the family's default targets) on `policy`: the train step over the adapter only. */
async function loraRate(policy: Policy, settings: Settings) {
  const adapter = lora.createLora(policy, { rank: 8 }, { seed: 1 });
  try {
    lora.attachLora(policy, adapter);
    const result = await trainRate(policy, adapter.weights, settings);
    return { rank: 8, targets: adapter.config.targets, ...result };
  } finally {
    if (lora.loraOf(policy)) lora.detachLora(policy);
    adapter.dispose();
  }
}

/** Stages on stderr, so a run that runs out of memory says how far it got. */
function progress(stage: string, mem: ReturnType<typeof memory>) {
  console.error(`bench hf-shapes: ${stage} (${JSON.stringify(mem)})`);
}

const round = (x: number) => Math.round(x * 100) / 100;

export async function run(flags: string[]) {
  const quick = flags.includes('--quick');
  const backends = (flag(flags, 'backends') ?? 'wasm').split(',').map((b) => BackendNameSchema.parse(b));
  const models = (flag(flags, 'models') ?? 'tiny,smollm2,gpt2').split(',').map((m) => {
    if (!(m in SHAPES)) throw new Error(`unknown model '${m}': ${Object.keys(SHAPES).join(', ')}`);
    return m as ModelName;
  });
  const trainLayersFlag = flag(flags, 'train-layers');
  const trainLayers = trainLayersFlag === undefined ? undefined : Number(trainLayersFlag);
  if (trainLayers !== undefined && !(Number.isInteger(trainLayers) && trainLayers >= 1))
    throw new Error(`--train-layers must be a whole number ≥ 1, got '${trainLayersFlag}'`);
  const settings: Settings = quick
    ? { decodeSteps: 2, decodeBatches: [1, 8, 32], trainSteps: 1, trainBatch: 1, trainSeq: 64 }
    : { decodeSteps: 4, decodeBatches: [1, 8, 32], trainSteps: 2, trainBatch: 1, trainSeq: 64 };
  const decodeOnly = flags.includes('--decode-only');
  const batchesFlag = flag(flags, 'decode-batches');
  if (batchesFlag !== undefined) {
    settings.decodeBatches = batchesFlag.split(',').map(Number);
    if (!settings.decodeBatches.every((b) => Number.isInteger(b) && b >= 1))
      throw new Error(`--decode-batches must list whole numbers ≥ 1, got '${batchesFlag}'`);
  }
  const stepsFlag = flag(flags, 'decode-steps');
  if (stepsFlag !== undefined) {
    settings.decodeSteps = Number(stepsFlag);
    if (!(Number.isInteger(settings.decodeSteps) && settings.decodeSteps >= 1))
      throw new Error(`--decode-steps must be a whole number ≥ 1, got '${stepsFlag}'`);
  }
  const results: Record<string, unknown> = {};
  for (const backend of backends) {
    const info = await selectBackend({ prefer: backend });
    for (const model of models) {
      const { label, config: input, wasmTrainLayers } = SHAPES[model];
      const config = ModelConfigSchema.parse(input);
      const init = await time(async () => createPolicy(config, { seed: 1 }));
      const policy = init.value;
      const afterInit = memory();
      progress(`${model}/${backend}: initialised`, afterInit);
      const decode = [];
      for (const B of settings.decodeBatches) {
        decode.push(await decodeRate(policy, B, settings.decodeSteps));
        progress(`${model}/${backend}: decoded at batch ${B}`, memory());
      }
      // What the fused kernels save, in the same process: the composite ops on webgpu, batch 1.
      let composite: Awaited<ReturnType<typeof decodeRate>> | undefined;
      if (backend === 'webgpu') {
        const previous = useFusedKernels(false);
        try {
          composite = await decodeRate(policy, settings.decodeBatches[0], settings.decodeSteps);
        } finally {
          useFusedKernels(previous);
        }
        progress(`${model}/${backend}: decoded with the composite ops`, memory());
      }
      const summaryFields = {
        model: label,
        backend: info,
        config: { ...config },
        parameters: countParameters(config).total,
        initSeconds: round(init.seconds),
        initCpuSeconds: round(init.cpuSeconds),
        memoryAfterInit: afterInit,
        decodeDispatchesPerToken: {
          batch1: decode[0].dispatches.kernels,
          gpuKernels: decode[0].dispatches.gpuKernels,
        },
        ...(composite
          ? {
              decodeProgramsPerToken: {
                batch: settings.decodeBatches[0],
                fused: decode[0].dispatches.webgpu?.programs,
                composite: composite.dispatches.webgpu?.programs,
              },
              decodeComposite: composite,
            }
          : {}),
        decode,
      };
      if (decodeOnly) {
        policy.dispose();
        results[`${model}/${backend}`] = summaryFields;
        continue;
      }
      // The full train step, or one on fewer layers where the heap cannot hold it (wasmTrainLayers).
      let trainPolicy = policy;
      const layers = trainLayers ?? (backend === 'wasm' ? wasmTrainLayers : undefined);
      if (layers !== undefined) {
        // A fresh policy: disposing the decoded one also frees tfjs-wasm's packed copies of its weights.
        policy.dispose();
        trainPolicy = createPolicy({ ...config, nLayer: Math.min(layers, config.nLayer) }, { seed: 1 });
      }
      const train = await trainRate(trainPolicy, trainPolicy.weights, settings);
      progress(`${model}/${backend}: trained`, train.memoryWithOptimizer);
      const loraTrain = await loraRate(trainPolicy, settings);
      trainPolicy.dispose();
      results[`${model}/${backend}`] = {
        ...summaryFields,
        ...(trainPolicy !== policy ? { trainLayers: trainPolicy.config.nLayer } : {}),
        train,
        loraTrain,
      };
    }
  }
  return {
    quick,
    decodeOnly,
    machine: { cpus: cpus().length, loadavgAtEnd: loadavg().map(round) },
    results,
  };
}
