import * as tf from '../../../shared/policy/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPolicy, presetConfig } from '../../../shared/policy/model';
import { generate } from '../../../shared/policy/sampling';
import { selectBackend } from '../../../shared/train/backend';
import { MetricsAccumulator } from '../../../shared/train/metrics';
import { AdamW } from '../../../shared/train/optimizer';
import { policyGradientUpdate } from '../../../shared/train/policy-gradient';
import { sftStep } from '../../../shared/train/sft';

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

describe('memory', () => {
  it.each([
    ['', false],
    [', copy head', true],
  ])(
    'keeps tf.memory().numTensors flat over 50 train steps and samplings (tiny preset%s, short sequences)',
    async (_, copy) => {
      const policy = createPolicy(presetConfig('tiny', { vocabSize: 256, copy }), { seed: 1 });
      const optimizer = new AdamW(policy.weights);
      const metrics = new MetricsAccumulator();
      const batch = [
        { promptIds: [1, 2, 3], completionIds: [4, 5, 6, 7] },
        { promptIds: [8], completionIds: [9, 10] },
      ];
      await sftStep(policy, optimizer, batch, { lr: 1e-3 });
      const toSamples = (out: Awaited<ReturnType<typeof generate>>) =>
        out.map((s) => ({
          promptIds: [1, 2],
          completionIds: s.tokens,
          oldLogprobs: s.logprobs,
          reward: s.tokens[0] % 2,
          group: 0,
        }));
      let samples = toSamples(
        await generate(policy, [[1, 2]], { maxNewTokens: 3, samplesPerPrompt: 2, seed: 0 }),
      );
      const counts: number[] = [];
      for (let step = 0; step < 50; step++) {
        if (step % 2 === 0) await sftStep(policy, optimizer, batch, { lr: 1e-3, metrics });
        else await policyGradientUpdate(policy, optimizer, samples, {}, { lr: 1e-3, metrics });
        if (step % 10 === 9) {
          await metrics.flush();
          samples = toSamples(
            await generate(policy, [[1, 2]], { maxNewTokens: 3, samplesPerPrompt: 2, seed: step }),
          );
        }
        counts.push(tf.memory().numTensors);
      }
      expect(new Set(counts.filter((_, i) => i % 10 === 9)).size).toBe(1);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(10 * 7 + 5); // only pending metrics vary
      optimizer.dispose();
      policy.dispose();
    },
  );
});
