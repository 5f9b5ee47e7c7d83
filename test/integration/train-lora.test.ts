// LoRA through the one trainer session (shared/train/session.ts): SFT, GRPO and DPO train only the
// adapter (the base weights bit-identical from checkpoint to checkpoint), checkpoints carry the adapter
// and its config with optimizer state for the adapter alone, a resumed run continues exactly, and a new
// phase from a LoRA checkpoint folds its adapter into the base and trains a fresh one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedbackTask } from '../../shared/agent/task';
import { generateFeedback } from '../../shared/data/generator';
import { createGovernancePipeline } from '../../shared/governance';
import type { Checkpoint } from '../../shared/policy/checkpoint';
import { policyFromCheckpoint } from '../../shared/policy/checkpoint-policy';
import type { NamedTensors } from '../../shared/policy/safetensors';
import { selectBackend } from '../../shared/train/backend';
import type { TrainConfigInput } from '../../shared/train/config';
import { openTrainSession, type StepRecord, type TrainIO } from '../../shared/train/session';

// The tiny preset's width and heads, one layer and a short context so each step takes milliseconds.
const SHAPE = { preset: 'tiny', nLayer: 1, blockSize: 96, vocabSize: 300, maxNewTokens: 12 } as const;

// Four examples and batch 4: every SFT step sees the same batch, so its loss must go down.
const EXAMPLES = [
  { prompt: 'Feedback: the app crashes when I upload a photo.', reply: 'Thanks, we are fixing uploads.' },
  { prompt: 'Feedback: checkout is slow on Mondays.', reply: 'Thanks, we will speed up checkout.' },
  { prompt: 'Feedback: I love the new dark mode.', reply: 'Thank you, glad you like dark mode.' },
  { prompt: 'Feedback: the search misses exact titles.', reply: 'Thanks, exact titles will match soon.' },
];

const isAdapter = (name: string) => name.startsWith('lora.');
const baseOf = (w: NamedTensors) => Object.entries(w).filter(([n]) => !isAdapter(n));
const sameValues = (a: NamedTensors[string], b: NamedTensors[string]) =>
  a.data.length === b.data.length && a.data.every((v, i) => v === b.data[i]);

describe('LoRA through the trainer session', () => {
  const saved = new Map<string, Checkpoint>();
  let tasks: FeedbackTask[];
  let counter = 0;

  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
    tasks = generateFeedback({ count: 40 })
      .filter((i) => i.metadata.split === 'train')
      .slice(0, 6)
      .map((i) => ({ id: i.id, text: i.text }));
  });
  afterAll(() => saved.clear());

  function io(records: StepRecord[] = [], info: string[] = []): TrainIO {
    return {
      sftExamples: async () => EXAMPLES,
      tasks: async () => tasks,
      preferencePairs: async () =>
        EXAMPLES.map((e, i) => ({
          prompt: e.prompt,
          chosen: e.reply,
          rejected: EXAMPLES[(i + 1) % EXAMPLES.length].reply,
        })),
      governance: async () => createGovernancePipeline(),
      loadCheckpoint: async (ref) => {
        const id = typeof ref === 'string' ? ref : (ref.checkpointId ?? '');
        const checkpoint = saved.get(id);
        if (!checkpoint) throw new Error(`no checkpoint ${id}`);
        return { id, checkpoint };
      },
      saveCheckpoint: async (checkpoint) => {
        const id = (counter++).toString(16).padStart(64, '0'); // a checkpoint id is 64 hex digits
        saved.set(id, checkpoint);
        return id;
      },
      onEvent: (event) => {
        if (event.type === 'step') records.push(event.record);
        if (event.type === 'info') info.push(event.message);
      },
    };
  }

  async function train(input: TrainConfigInput, records: StepRecord[] = [], info: string[] = []) {
    const session = await openTrainSession({ ...SHAPE, ...input }, io(records, info));
    try {
      await session.run();
      const { id } = await session.save();
      return { id, checkpoint: saved.get(id) as Checkpoint };
    } finally {
      session.dispose();
    }
  }

  let base: { id: string; checkpoint: Checkpoint };
  let lora: { id: string; checkpoint: Checkpoint };
  const sftRecords: StepRecord[] = [];

  it('SFT trains the adapter alone: the base bit-identical, the loss down on a repeated batch', async () => {
    base = await train({ algo: 'sft', steps: 1, batch: 4 });
    expect(Object.keys(base.checkpoint.weights).some(isAdapter)).toBe(false);

    const info: string[] = [];
    lora = await train(
      { algo: 'sft', init: base.id, steps: 6, batch: 4, lr: 1e-2, warmup: 0, loraRank: 4, logEvery: 1 },
      sftRecords,
      info,
    );
    expect(
      info.some((m) => /^LoRA: rank 4, alpha 4, dropout 0, targets wqkv, wo \(edgelight\)/.test(m)),
    ).toBe(true);
    const weights = lora.checkpoint.weights;
    for (const [name, t] of baseOf(base.checkpoint.weights))
      expect(sameValues(weights[name], t), name).toBe(true);
    const adapterNames = Object.keys(weights).filter(isAdapter).sort();
    expect(adapterNames).toEqual([
      'lora.h.0.attn.wo.wo.A',
      'lora.h.0.attn.wo.wo.B',
      'lora.h.0.attn.wqkv.wqkv.A',
      'lora.h.0.attn.wqkv.wqkv.B',
    ]);
    expect(weights['lora.h.0.attn.wqkv.wqkv.B'].data.some((v) => v !== 0)).toBe(true);
    expect(lora.checkpoint.config.lora).toEqual({
      rank: 4,
      alpha: 4,
      dropout: 0,
      targets: ['wqkv', 'wo'],
      family: 'edgelight',
    });
    // The optimizer's moments are the adapter's only.
    const moments = Object.keys(lora.checkpoint.optimizer?.tensors ?? {});
    expect(moments).toHaveLength(2 * adapterNames.length);
    expect(moments.every((n) => /^exp_avg(_sq)?\.lora\./.test(n))).toBe(true);

    const losses = sftRecords.map((r) => r.loss as number);
    expect(losses).toHaveLength(6);
    expect(losses[5]).toBeLessThan(losses[0] - 0.05);

    // Served, evaluated or sampled by the RL runners, the checkpoint's adapter is folded into the weights.
    const { policy, lora: none } = policyFromCheckpoint(lora.checkpoint);
    expect(none).toBeNull();
    expect(Object.keys(policy.weights).some(isAdapter)).toBe(false);
    policy.dispose();
  });

  it('a resumed LoRA run continues exactly where one straight run would be', async () => {
    const half = await train({
      algo: 'sft',
      init: base.id,
      steps: 3,
      batch: 4,
      lr: 1e-2,
      warmup: 0,
      loraRank: 4,
      lrHorizon: 6,
    });
    const records: StepRecord[] = [];
    const resumed = await train({ algo: 'sft', init: half.id, steps: 3 }, records);
    expect(records.at(-1)?.runStep).toBe(6);
    const straight = await train({
      algo: 'sft',
      init: base.id,
      steps: 6,
      batch: 4,
      lr: 1e-2,
      warmup: 0,
      loraRank: 4,
      lrHorizon: 6,
    });
    for (const [name, t] of Object.entries(straight.checkpoint.weights))
      expect(sameValues(resumed.checkpoint.weights[name], t), name).toBe(true);
    // Asking for another adapter on resume is a mistake, said as such.
    await expect(
      openTrainSession({ algo: 'sft', init: half.id, steps: 1, loraRank: 8 }, io()),
    ).rejects.toThrow(/a resumed run keeps its adapter/);
  });

  it('GRPO from a LoRA checkpoint folds its adapter into the base and trains a fresh one on it', async () => {
    const info: string[] = [];
    const first = await train(
      {
        algo: 'grpo',
        init: lora.id,
        steps: 1,
        batch: 2,
        group: 3,
        mu: 1,
        lr: 1e-2,
        loraRank: 2,
        loraTargets: 'wqkv,wo,wfc,wproj',
      },
      [],
      info,
    );
    const folded = first.checkpoint.weights;
    // The base now is init's base + its adapter, to float rounding.
    const merged = policyFromCheckpoint(lora.checkpoint);
    for (const [name, w] of Object.entries(merged.policy.weights)) {
      const values = w.dataSync();
      const worst = Array.from(folded[name].data).reduce(
        (m, v, i) => Math.max(m, Math.abs(v - values[i])),
        0,
      );
      expect(worst, name).toBeLessThan(1e-6);
    }
    merged.policy.dispose();
    expect(Object.keys(folded).filter(isAdapter)).toHaveLength(2 * 4); // A and B of 4 targets, 1 layer

    const second = await train({ algo: 'grpo', init: first.id, steps: 1 });
    expect(second.checkpoint.trainer?.step).toBe(2);
    for (const [name, t] of baseOf(folded))
      expect(sameValues(second.checkpoint.weights[name], t), name).toBe(true);
    const changed = Object.keys(folded)
      .filter(isAdapter)
      .filter((n) => !sameValues(second.checkpoint.weights[n], folded[n]));
    expect(changed.length).toBeGreaterThan(0);
    // The reference is the base itself: the run recorded init as the reference it stands for.
    expect(second.checkpoint.trainer?.reference).toEqual({ checkpointId: lora.id });
  });

  it('DPO trains the adapter against the base as its reference', async () => {
    const records: StepRecord[] = [];
    const dpo = await train(
      { algo: 'dpo', init: base.id, steps: 2, batch: 4, lr: 1e-2, loraRank: 4 },
      records,
    );
    for (const [name, t] of baseOf(base.checkpoint.weights))
      expect(sameValues(dpo.checkpoint.weights[name], t), name).toBe(true);
    expect(dpo.checkpoint.weights['lora.h.0.attn.wo.wo.B'].data.some((v) => v !== 0)).toBe(true);
    // The first step compares the policy with itself: the implicit rewards start at 0.
    expect(records[0].loss).toBeCloseTo(Math.log(2), 4);
    await expect(
      openTrainSession(
        { ...SHAPE, algo: 'dpo', init: base.id, steps: 1, loraRank: 4, reference: base.id },
        io(),
      ),
    ).rejects.toThrow(/with LoRA the reference is the frozen base/);
  });

  it("an RL run's LoRA warm-up: at the switch its adapter folds into the base, which is the reference", async () => {
    const checkpoints: string[] = [];
    const session = await openTrainSession(
      { ...SHAPE, algo: 'grpo', steps: 1, sftSteps: 2, batch: 2, group: 2, mu: 1, loraRank: 2 },
      {
        ...io(),
        onEvent: (event) => {
          if (event.type === 'checkpoint') checkpoints.push(event.id);
        },
      },
    );
    try {
      await session.run();
    } finally {
      session.dispose();
    }
    const warmUp = saved.get(checkpoints[0]) as Checkpoint;
    const end = saved.get(checkpoints.at(-1) as string) as Checkpoint;
    expect(warmUp.trainer?.phase).toBe('sft');
    expect(end.trainer?.phase).toBe('grpo');
    expect(end.trainer?.reference).toEqual({ checkpointId: checkpoints[0] });
    // The base the RL phase trained on is the warm-up's base + adapter.
    const folded = policyFromCheckpoint(warmUp);
    for (const [name, w] of Object.entries(folded.policy.weights)) {
      const values = w.dataSync();
      const worst = Array.from(end.weights[name].data).reduce(
        (m, v, i) => Math.max(m, Math.abs(v - values[i])),
        0,
      );
      expect(worst, name).toBeLessThan(1e-6);
    }
    folded.policy.dispose();
    expect(Object.keys(end.weights).filter(isAdapter)).toHaveLength(4);
  });
});
