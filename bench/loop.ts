// `npm run bench -- loop [--quick] [--backend=wasm] [--preset=tiny]`: the RL loop's costs, measured in one
// run on one backend.
//   sampling  G replies for P prompts as the runners need them: one generate per rollout (P calls of
//             batch G, the baseline) vs gathered into one call of batch P·G, as TransformerReplyPolicy
//             does with coalescing; tokens/s each and the ratio. Fixed length (no stop token).
//   rl_step   a few steps of runRlLoop on the in-memory store: seconds per step, split into the
//             sampling side (publish, rollouts, read-back) and the update, rollouts/s.
// The model is freshly initialised (costs do not depend on training); the tokenizer is trained on the
// SFT corpus so prompts have their real length.
import { generateFeedback } from '../shared/data/generator';
import { buildSftCorpus } from '../shared/data/sft';
import { createGovernancePipeline } from '../shared/governance';
import { MemoryBlobStorage } from '../shared/policy/checkpoint';
import { createPolicy, presetConfig } from '../shared/policy/model';
import { generate } from '../shared/policy/sampling';
import { encodePrompt, promptBudget } from '../shared/policy/sequence';
import { PolicyTokenizer } from '../shared/policy/tokenizer';
import { trainByteLevelBpe } from '../shared/policy/tokenizer-train';
import { InMemoryLightningStore } from '../shared/store/memory';
import { selectBackend } from '../shared/train/backend';
import type { StepMetrics } from '../shared/train/loop';
import { runRlLoop } from '../shared/train/loop-rl';
import { AdamW } from '../shared/train/optimizer';
import { ScheduleConfigSchema } from '../shared/train/schedule';

function flag(flags: string[], name: string, fallback: string): string {
  return flags.find((f) => f.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
}

export async function run(flags: string[]) {
  const quick = flags.includes('--quick');
  const backend = await selectBackend({ prefer: flag(flags, 'backend', 'wasm') as 'wasm' | 'cpu' });
  const preset = flag(flags, 'preset', 'tiny') as 'tiny' | 'small';
  const prompts = quick ? 4 : 8;
  const group = quick ? 4 : 8;
  const newTokens = quick ? 32 : 64;

  const governance = createGovernancePipeline();
  const train = generateFeedback().filter((i) => i.metadata.split === 'train');
  const corpus = buildSftCorpus(train, { governance });
  const tokenizer = PolicyTokenizer.fromJson(trainByteLevelBpe(corpus.flatMap((e) => [e.prompt, e.reply])));
  const policy = createPolicy(
    presetConfig(preset, { vocabSize: tokenizer.vocabSize, padId: tokenizer.padId }),
    {
      seed: 1,
    },
  );
  const promptIds = corpus
    .slice(0, prompts)
    .map((e) => encodePrompt(tokenizer, e.prompt, promptBudget(policy.config.blockSize, newTokens)));

  // Warm-up (kernel set-up, first allocations) outside the timings.
  await generate(policy, promptIds.slice(0, 1), { maxNewTokens: 4, samplesPerPrompt: 2, seed: 0 });
  const sampleOptions = { maxNewTokens: newTokens, samplesPerPrompt: group, seed: 3, stopTokens: [] };
  let started = performance.now();
  for (const ids of promptIds) await generate(policy, [ids], sampleOptions);
  const perRolloutSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  await generate(policy, promptIds, sampleOptions);
  const gatheredSeconds = (performance.now() - started) / 1000;
  const sampledTokens = prompts * group * newTokens;

  const steps: StepMetrics[] = [];
  const optimizer = new AdamW(policy.weights, { weightDecay: 0 });
  const tasksPerStep = quick ? 2 : 4;
  await runRlLoop({
    store: new InMemoryLightningStore(),
    checkpoints: new MemoryBlobStorage(),
    policy,
    tokenizer,
    optimizer,
    algo: 'grpo',
    tasks: train,
    tasksPerStep,
    group,
    governance,
    sampling: { maxNewTokens: newTokens },
    schedule: ScheduleConfigSchema.parse({ lr: 1e-4, totalSteps: 10 }),
    seed: 1,
    startStep: 0,
    stop: { untilStep: quick ? 2 : 3 },
    onMetrics: (m) => {
      steps.push(m);
    },
  });
  optimizer.dispose();
  policy.dispose();
  const timed = steps.slice(1); // the first step compiles and allocates
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const stepSeconds = mean(timed.map((m) => m.seconds));
  const samplingSeconds = mean(timed.map((m) => m.samplingSeconds ?? 0));
  return {
    backend: backend.name,
    preset,
    sampling: {
      prompts,
      group,
      new_tokens: newTokens,
      per_rollout_tokens_per_s: Math.round(sampledTokens / perRolloutSeconds),
      gathered_tokens_per_s: Math.round(sampledTokens / gatheredSeconds),
      gathered_vs_per_rollout: Number((perRolloutSeconds / gatheredSeconds).toFixed(2)),
    },
    rl_step: {
      tasks_per_step: tasksPerStep,
      group,
      steps_timed: timed.length,
      seconds_per_step: Number(stepSeconds.toFixed(2)),
      sampling_share: Number((samplingSeconds / stepSeconds).toFixed(2)),
      update_seconds: Number((stepSeconds - samplingSeconds).toFixed(2)),
      rollouts_per_s: Number((tasksPerStep / stepSeconds).toFixed(3)),
    },
  };
}
