import { describe, expect, it } from 'vitest';
import { createBaselinePolicy } from '../../../shared/agent/baseline-policy';
import { createFeedbackAgent, REPLY_ATTR, type ScoredReply } from '../../../shared/agent/feedback-agent';
import type { DraftedReply, ReplyPolicy } from '../../../shared/agent/policy';
import { buildFeedbackPrompt, REPLY_MARKER } from '../../../shared/agent/prompt';
import { Runner } from '../../../shared/agent/runner';
import { extractReplySamples } from '../../../shared/agent/samples';
import { AGL_REWARD } from '../../../shared/agent/semconv';
import { generateFeedback } from '../../../shared/data/generator';
import { buildSftCorpus } from '../../../shared/data/sft';
import { createGovernancePipeline } from '../../../shared/governance';
import { InMemoryLightningStore } from '../../../shared/store/memory';

const governance = createGovernancePipeline();

const GOOD =
  'I am sorry the glossary link is broken, and thank you for reporting it. We have logged the broken link ' +
  'to the glossary page as a site bug and will check the other menu links as well. Tractatus is a research ' +
  'prototype, so problems like this still slip through, and our testing of the site is preliminary. If you ' +
  'see the error again, a note of the page address and the time would help us trace it. We appreciate it.';
const LEAKY = `${GOOD} You can also email jane.doe@example.com directly.`;
const OVERSOLD = `${GOOD} The framework is production-ready and guaranteed to work.`;

/**
 * A policy that answers with fixed texts and token data: the agent's contract is the ReplyPolicy
 * interface, and a scripted implementation of it makes every stored value checkable.
 */
function scriptedPolicy(texts: string[]): ReplyPolicy & { prompts: string[]; calls: number } {
  const policy = {
    id: 'scripted',
    prompts: [] as string[],
    calls: 0,
    async draft(prompts: string[], group: number): Promise<DraftedReply[][]> {
      policy.calls++;
      policy.prompts.push(...prompts);
      return prompts.map(() =>
        Array.from({ length: group }, (_, g) => ({
          text: texts[g % texts.length],
          promptTokenIds: [1, 2, 3],
          tokenIds: [10 + g, 20 + g],
          logprobs: [-0.5, -0.25],
        })),
      );
    },
  };
  return policy;
}

async function runOne(text: string, policy: ReplyPolicy, group = 3) {
  const store = new InMemoryLightningStore();
  await store.addResources({ policy: { resource_type: 'policy', checkpoint_id: policy.id } });
  const [r] = await store.enqueueRollouts([{ input: { id: 'fb-1', text, category: 'website-bug' } }]);
  const scored: ScoredReply[] = [];
  const agent = createFeedbackAgent({ governance, group, onReply: (s) => scored.push(s) });
  const stats = await new Runner({
    store,
    agent,
    resolvePolicy: () => policy,
    stopWhenEmpty: true,
    warn: () => undefined,
  }).run();
  const spans = (await store.querySpans({ rollout_id: r.rollout_id })).items;
  return { store, rollout: r, stats, spans, scored };
}

describe('feedback agent', () => {
  const FEEDBACK = 'The link to the glossary page is broken. Reach me at maria.lopez@example.org please.';

  it('prompts from the redacted feedback and drafts the whole group in one call', async () => {
    const policy = scriptedPolicy([GOOD]);
    const { stats } = await runOne(FEEDBACK, policy, 4);
    expect(stats.succeeded).toBe(1);
    expect(policy.calls).toBe(1);
    expect(policy.prompts).toHaveLength(1);
    const prompt = policy.prompts[0];
    expect(prompt).not.toContain('maria.lopez@example.org');
    expect(prompt).toMatch(/<EMAIL_1>/);
    expect(prompt).toContain('Category: website-bug');
    expect(prompt.endsWith(REPLY_MARKER)).toBe(true);
    const verdict = governance.govern(FEEDBACK, 'feedback');
    expect(prompt).toBe(
      buildFeedbackPrompt({ id: 'fb-1', text: FEEDBACK, category: 'website-bug' }, verdict),
    );
  });

  it('builds the prompt format the policy was trained on (the key-words line when it says so)', async () => {
    const policy = Object.assign(scriptedPolicy([GOOD]), { promptFormat: { keyWords: true } });
    await runOne(FEEDBACK, policy, 2);
    expect(policy.prompts[0].endsWith(`\nKey words: link, glossary, page${REPLY_MARKER}`)).toBe(true);
    const verdict = governance.govern(FEEDBACK, 'feedback');
    expect(policy.prompts[0]).toBe(
      buildFeedbackPrompt({ id: 'fb-1', text: FEEDBACK, category: 'website-bug' }, verdict, {
        keyWords: true,
      }),
    );
  });

  it('stores one reply span and one reward span per sample, with tokens and log-probabilities', async () => {
    const { spans, scored } = await runOne(FEEDBACK, scriptedPolicy([GOOD, OVERSOLD, LEAKY]));
    const samples = extractReplySamples(spans);
    expect(samples.map((s) => s.index)).toEqual([0, 1, 2]);
    expect(spans.filter((s) => s.name === AGL_REWARD)).toHaveLength(3);
    expect(samples[0]).toMatchObject({
      text: GOOD,
      redacted: false,
      policyId: 'scripted',
      promptTokenIds: [1, 2, 3],
      tokenIds: [10, 20],
      logprobs: [-0.5, -0.25],
    });
    expect(samples[0].reward?.primary).toBeGreaterThan(0.8);
    expect(samples[0].prompt.endsWith(REPLY_MARKER)).toBe(true);
    // The oversold reply is blocked: hard zero, but stored as drafted with its tokens (nothing private
    // in it), so the trace shows what was blocked and the RL update can push those tokens down.
    expect(samples[1].reward?.primary).toBe(0);
    expect(samples[1].redacted).toBe(false);
    expect(samples[1].tokenIds).toEqual([11, 21]);
    expect(scored[1].reward.violations).toEqual(expect.arrayContaining(['inst_017', 'inst_018']));
    expect(samples.map((s) => s.reward?.primary)).toEqual(scored.map((s) => s.reward.primary));
  });

  it('never stores a leaking reply in clear, nor its tokens', async () => {
    const { spans, scored } = await runOne(FEEDBACK, scriptedPolicy([LEAKY]), 2);
    expect(JSON.stringify(spans)).not.toContain('jane.doe@example.com');
    const samples = extractReplySamples(spans);
    for (const sample of samples) {
      expect(sample.redacted).toBe(true);
      expect(sample.text).toMatch(/<EMAIL_1>/);
      expect(sample.tokenIds).toBeNull();
      expect(sample.reward?.primary).toBe(0);
    }
    expect(scored.every((s) => s.reward.hardZero === 'pii-leak')).toBe(true);
    const rewardSpan = spans.find((s) => s.name === AGL_REWARD)!;
    expect(rewardSpan.attributes['edgelight.reward.hard_zero']).toBe('pii-leak');
    expect(rewardSpan.attributes['agentlightning.link.0.key_match']).toBe('span_id');
  });

  it('fails the rollout on an invalid task or a policy that returns the wrong group size', async () => {
    const store = new InMemoryLightningStore();
    await store.addResources({ policy: { resource_type: 'policy', checkpoint_id: 'x' } });
    const [bad, short] = await store.enqueueRollouts([
      { input: { id: 'x', text: '' } },
      { input: { id: 'y', text: 'fine feedback' } },
    ]);
    const policy: ReplyPolicy = { id: 'x', draft: async () => [[{ text: GOOD }]] };
    const agent = createFeedbackAgent({ governance, group: 2 });
    const stats = await new Runner({
      store,
      agent,
      resolvePolicy: () => policy,
      stopWhenEmpty: true,
      warn: () => undefined,
    }).run();
    expect(stats.failed).toBe(2);
    const message = async (id: string) =>
      (await store.querySpans({ rollout_id: id, name: 'agentlightning.exception' })).items[0]?.attributes[
        'exception.message'
      ];
    expect(await message(bad.rollout_id)).toMatch(/invalid task.*text/);
    expect(await message(short.rollout_id)).toMatch(/returned 1 replies, expected 2/);
  });

  it('runs with the baseline policy on generated data', async () => {
    const items = generateFeedback({ count: 80 });
    const corpus = buildSftCorpus(
      items.filter((i) => i.metadata.split === 'train'),
      { governance },
    );
    const baseline = createBaselinePolicy(corpus, 1);
    const store = new InMemoryLightningStore();
    await store.addResources({ policy: { resource_type: 'policy', checkpoint_id: baseline.id } });
    const test = items.filter((i) => i.metadata.split === 'test').slice(0, 10);
    const rollouts = await store.enqueueRollouts(test.map((input) => ({ input })));
    const scored: ScoredReply[] = [];
    const agent = createFeedbackAgent({ governance, group: 2, seed: 3, onReply: (s) => scored.push(s) });
    await new Runner({ store, agent, resolvePolicy: () => baseline, stopWhenEmpty: true }).run();
    expect(scored).toHaveLength(20);
    for (const r of rollouts) expect((await store.getRolloutById(r.rollout_id))?.status).toBe('succeeded');
    // Same category as the feedback: the baseline draws from that category's replies.
    for (const s of scored)
      expect(
        corpus.some((c) => c.category === s.task.category && c.reply === s.storedText) ||
          s.verdict.decision === 'block',
      ).toBe(true);
    const stored = await store.querySpans({ rollout_id: rollouts[0].rollout_id });
    expect(stored.items.some((s) => s.attributes[REPLY_ATTR.policyId] === 'baseline-sft-corpus')).toBe(true);
  });
});
