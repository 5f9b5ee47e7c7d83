// `npm run bench -- train [--quick] [--backends=wasm,cpu] [--presets=tiny,small,tiny-copy]`
// (a `-copy` suffix adds the copy head to the preset)
//
// For each backend × preset: train tokens/s (SFT steps), sampling tokens/s with the KV cache, KV-cache
// decode ms/token (median) at positions 0–64 vs 192–256 (and, for contrast, a full recompute without the cache),
// and the roofline ratio: the train step's achieved FLOP/s ÷ tf.matMul's FLOP/s, measured on the same
// backend in the same run on the model's own largest projection shape (tokens, C) · (C, 4C). The ratio
// is computed per CPU second of this process (`rooflineRatio`, steady when other processes share the
// cores) and per wall second (`rooflineRatioWall`).
//
// FLOPs of a train step (forward + backward), counted analytically as in the PaLM paper (appendix B):
//   6 · N · tokens  +  12 · nLayer · nEmbd · T · tokens
// where N counts every weight matrix (the tied embedding once, as the output projection; norm gains
// excluded) and the second term is attention's q·kᵀ and p·v over a full T × T score matrix (what the
// kernels compute; causal masking does not skip work); a copy head adds its pointer's q·kᵀ,
// 6 · nEmbd · T · tokens. The embedding gather, its one-hot gradient, the pointer's scatter,
// RoPE and element-wise ops are not counted: they are overhead the ratio should expose.
import * as tf from '../shared/policy/tfjs';
import {
  countParameters,
  createPolicy,
  disposeCache,
  type ModelConfig,
  type Policy,
  presetConfig,
} from '../shared/policy/model';
import { generate } from '../shared/policy/sampling';
import { type BackendName, BackendNameSchema, selectBackend } from '../shared/train/backend';
import { AdamW } from '../shared/train/optimizer';
import { sftStep } from '../shared/train/sft';

type Shape = { batch: number; seq: number; steps: number };

function flag(flags: string[], name: string): string | undefined {
  return flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1];
}

/** Train-step FLOPs for `batch` sequences of `seq` tokens (see the header). */
export function trainStepFlops(config: ModelConfig, batch: number, seq: number): number {
  const c = countParameters(config);
  const matrixParams = c.total - c.norms;
  const tokens = batch * seq;
  const pointer = config.copy ? 6 * config.nEmbd * seq * tokens : 0;
  return 6 * matrixParams * tokens + 12 * config.nLayer * config.nEmbd * seq * tokens + pointer;
}

/** Wall time and this process's CPU time (user + system) of fn. */
async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, value };
}

/** tf.matMul FLOP/s per wall second and per CPU second, running for at least minMs. */
async function matMulFlops(m: number, k: number, n: number, minMs: number) {
  const a = tf.randomNormal([m, k]);
  const b = tf.randomNormal([k, n]);
  const once = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  await once();
  let reps = 0;
  const timed = await time(async () => {
    const start = performance.now();
    while (performance.now() - start < minMs || reps < 2) {
      await once();
      reps++;
    }
  });
  tf.dispose([a, b]);
  const flops = 2 * m * k * n * reps;
  return { wall: flops / (timed.ms / 1000), cpu: flops / (timed.cpuMs / 1000) };
}

async function trainThroughput(policy: Policy, shape: Shape) {
  const { vocabSize } = policy.config;
  const optimizer = new AdamW(policy.weights);
  // One prompt token, then `seq` completion tokens: every input position is trained on.
  const pairs = Array.from({ length: shape.batch }, (_, b) => ({
    promptIds: [1 + (b % (vocabSize - 1))],
    completionIds: Array.from({ length: shape.seq }, (_, t) => 1 + ((b * 31 + t * 7) % (vocabSize - 1))),
  }));
  const first = await time(() => sftStep(policy, optimizer, pairs, { lr: 1e-4 })); // includes warm-up
  const timed = await time(async () => {
    for (let i = 0; i < shape.steps; i++) await sftStep(policy, optimizer, pairs, { lr: 1e-4 });
  });
  optimizer.dispose();
  const secondsPerStep = timed.ms / 1000 / shape.steps;
  const cpuSecondsPerStep = timed.cpuMs / 1000 / shape.steps;
  const flops = trainStepFlops(policy.config, shape.batch, shape.seq);
  return {
    batch: shape.batch,
    seq: shape.seq,
    steps: shape.steps,
    firstStepMs: Math.round(first.ms),
    msPerStep: Math.round(secondsPerStep * 1000),
    cpuMsPerStep: Math.round(cpuSecondsPerStep * 1000),
    tokensPerSecond: Math.round((shape.batch * shape.seq) / secondsPerStep),
    gflopPerStep: flops / 1e9,
    achievedGflops: flops / secondsPerStep / 1e9,
    achievedGflopsPerCpuSecond: flops / cpuSecondsPerStep / 1e9,
  };
}

/**
 * Decode ms/token with the KV cache at positions 1–64 vs 192–255, `rows` rows. Two decoders run
 * interleaved, one step each in turn — one from a 1-token prompt, one from a 192-token prompt (the
 * prefill fills the same cache slots decoding would) — so both see the same load on a shared machine.
 */
async function kvCacheProfile(policy: Policy, rows: number) {
  const S = policy.config.blockSize;
  const start = (promptLength: number) => {
    const ids = tf.tensor2d(new Int32Array(rows * promptLength).fill(1), [rows, promptLength], 'int32');
    const { logits, cache } = policy.prefill(ids, {}, S);
    ids.dispose();
    return { logits, cache, slot: promptLength, times: [] as number[] };
  };
  const step = async (decoder: ReturnType<typeof start>) => {
    const began = performance.now();
    const slot = decoder.slot;
    const next = tf.tidy(() => {
      const bias = new Float32Array(rows * S).fill(-1e9);
      for (let b = 0; b < rows; b++) for (let j = 0; j <= slot; j++) bias[b * S + j] = 0;
      return policy.decodeStep(
        tf.tensor1d(new Int32Array(rows).fill(2), 'int32'),
        tf.tensor1d(new Int32Array(rows).fill(slot), 'int32'),
        slot,
        tf.tensor4d(bias, [rows, 1, 1, S]),
        decoder.cache,
      );
    });
    await next.logits.data();
    decoder.times.push(performance.now() - began);
    decoder.logits.dispose();
    disposeCache(decoder.cache);
    decoder.logits = next.logits;
    decoder.cache = next.cache;
    decoder.slot += 1;
  };
  const early = start(1);
  const late = start(192);
  await step(early); // warm-up step of each, not counted
  await step(late);
  early.times.length = 0;
  late.times.length = 0;
  while (late.slot < S) {
    await step(early);
    await step(late);
  }
  for (const d of [early, late]) {
    d.logits.dispose();
    disposeCache(d.cache);
  }
  // Medians, not means: a neighbour's burst should not decide the ratio.
  const msEarly = median(early.times); // positions 2–64
  const msLate = median(late.times); // positions 193–255
  return { rows, msPerTokenPos0to64: msEarly, msPerTokenPos192to256: msLate, ratio: msLate / msEarly };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Without the cache, one new token at position p costs a full forward over p tokens. */
async function noCacheProfile(policy: Policy, rows: number, reps: number) {
  const at = async (length: number) => {
    const ids = tf.tensor2d(new Int32Array(rows * length).fill(3), [rows, length], 'int32');
    const run = async () => {
      const logits = policy.forward(ids, { lastOnly: true });
      await logits.data();
      logits.dispose();
    };
    await run();
    const timed = await time(async () => {
      for (let i = 0; i < reps; i++) await run();
    });
    ids.dispose();
    return timed.ms / reps;
  };
  const early = await at(32);
  const late = await at(224);
  return { rows, msPerTokenPos32: early, msPerTokenPos224: late, ratio: late / early };
}

async function samplingThroughput(policy: Policy, newTokens: number) {
  const prompts = [
    [1, 2, 3, 4, 5, 6, 7, 8],
    [9, 10, 11, 12],
    [13, 14, 15, 16, 17, 18],
    [19, 20],
  ];
  const options = { maxNewTokens: newTokens, samplesPerPrompt: 4, seed: 1, temperature: 1 };
  await generate(policy, prompts, { ...options, maxNewTokens: 2 });
  const run = await time(() => generate(policy, prompts, options));
  const tokens = run.value.reduce((a, s) => a + s.tokens.length, 0);
  return { rows: 16, newTokens, tokensPerSecond: Math.round(tokens / (run.ms / 1000)) };
}

function shapeFor(backend: BackendName, preset: string, quick: boolean): Shape {
  if (backend === 'cpu')
    return preset === 'small' ? { batch: 2, seq: 64, steps: 1 } : { batch: 4, seq: 64, steps: 1 };
  if (quick) return { batch: 4, seq: 128, steps: 1 };
  return { batch: 8, seq: 128, steps: 3 };
}

export async function run(flags: string[]) {
  const quick = flags.includes('--quick');
  const backends = (flag(flags, 'backends') ?? 'wasm,cpu').split(',').map((b) => BackendNameSchema.parse(b));
  const presets = (flag(flags, 'presets') ?? 'tiny,small').split(',').map((name) => {
    const [base, variant] = name.split('-');
    if (!['tiny', 'small'].includes(base) || (variant !== undefined && variant !== 'copy'))
      throw new Error(`unknown preset '${name}': tiny, small, tiny-copy or small-copy`);
    return { name, base: base as 'tiny' | 'small', copy: variant === 'copy' };
  });
  const results: Record<string, unknown> = {};
  for (const backend of backends) {
    const info = await selectBackend({ prefer: backend });
    const wasmSimd = backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : undefined;
    for (const { name: preset, base, copy } of presets) {
      const config = presetConfig(base, { copy });
      const policy = createPolicy(config, { seed: 1 });
      const shape = shapeFor(backend, base, quick);
      const tokens = shape.batch * shape.seq;
      const matMulMs = backend === 'cpu' ? 1500 : 1000;
      // The reference is measured before and after the train steps; per wall second the faster figure
      // is kept (a neighbour's load during one of them cannot flatter the ratio). Per CPU second of
      // this process the ratio is steady on a shared machine: tfjs-wasm and cpu run on one thread.
      const reference = () => matMulFlops(tokens, config.nEmbd, 4 * config.nEmbd, matMulMs);
      const before = await reference();
      const train = await trainThroughput(policy, shape);
      const after = await reference();
      const matMul = { wall: Math.max(before.wall, after.wall), cpu: Math.max(before.cpu, after.cpu) };
      const sampling = await samplingThroughput(policy, quick || backend === 'cpu' ? 16 : 48);
      const kvCache = await kvCacheProfile(policy, 2);
      const noCache = quick ? null : await noCacheProfile(policy, 2, backend === 'cpu' ? 1 : 2);
      policy.dispose();
      results[`${preset}/${backend}`] = {
        backend: info,
        ...(wasmSimd === undefined ? {} : { wasmSimd, wasmThreads: 1 }),
        parameters: countParameters(config).total,
        train,
        matMulReference: {
          shape: [tokens, config.nEmbd, 4 * config.nEmbd],
          gflops: matMul.wall / 1e9,
          gflopsPerCpuSecond: matMul.cpu / 1e9,
        },
        rooflineRatio: (train.achievedGflopsPerCpuSecond * 1e9) / matMul.cpu,
        rooflineRatioWall: (train.achievedGflops * 1e9) / matMul.wall,
        sampling,
        kvCache,
        ...(noCache ? { noCache } : {}),
      };
      console.error(`bench train: ${preset}/${backend} done`);
    }
  }
  return {
    quick,
    flopsFormula: '6·N·tokens + 12·nLayer·nEmbd·T·tokens (N: weight matrices, tied embedding once)',
    goals: { rooflineSmallWasm: '≥ 0.30', kvCacheRatio: '≤ 1.5' },
    results,
  };
}
