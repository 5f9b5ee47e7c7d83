// The lab worker's drafts (the Feedback page's "Draft replies", worker/lab/agent.ts) and the training
// samples tap (shared/train/sample-tap.ts) report whether each reply is sendable, which sendability
// checks it failed and what they found — from the real reward, governance and quality checker, on
// replies a scripted policy returns, written to an in-memory store.
import { describe, expect, it } from 'vitest';
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../../../shared/agent/feedback-agent';
import type { DraftedReply, ReplyPolicy } from '../../../shared/agent/policy';
import { ATTR } from '../../../shared/agent/semconv';
import { createGovernancePipeline } from '../../../shared/governance/index';
import { InMemoryLightningStore } from '../../../shared/store/memory';
import { SampleTap, sendability } from '../../../shared/train/sample-tap';
import { draftReplies } from '../../../worker/lab/agent';

const governance = createGovernancePipeline();
const FEEDBACK = 'The upload page keeps failing when I attach a large file.';
const SENDABLE = 'Thank you for telling us about the upload failure. We are looking into it now.';
const STUTTER = 'Thank you for telling us about the upload failure. We are are looking into it now.';
const LEAKY = 'Thanks for telling us. Please write to dana.ortiz@example.org and we are are on it.';

/** Answers every prompt with `texts`, one per sample. */
function scriptedPolicy(texts: string[]): ReplyPolicy {
  return {
    id: 'scripted',
    async draft(prompts: string[], group: number): Promise<DraftedReply[][]> {
      return prompts.map(() => Array.from({ length: group }, (_, g) => ({ text: texts[g % texts.length] })));
    },
  };
}

async function draft(texts: string[]) {
  const store = new InMemoryLightningStore();
  const tap = new SampleTap();
  const result = await draftReplies(
    tap.wrap(store),
    governance,
    { policy: scriptedPolicy(texts), kind: 'baseline' },
    { text: FEEDBACK, group: texts.length },
  );
  return { store, tap, result };
}

describe('lab drafts: sendability', () => {
  it('a sendable reply reports no failed checks; one with a stutter reports `stutter` and what it found', async () => {
    const { result } = await draft([SENDABLE, STUTTER]);
    const [good, stutter] = result.replies;
    expect(good).toMatchObject({ text: SENDABLE, sendable: true, failedChecks: [], findings: [] });
    expect(good.terms.quality).toBe(1);
    expect(stutter).toMatchObject({
      text: STUTTER,
      sendable: false,
      failedChecks: ['stutter'],
      findings: ['stutter: are are'],
    });
    // The failed check halves the quality factor and so the reward.
    expect(stutter.terms.quality).toBe(0.5);
    expect(stutter.reward).toBeCloseTo(good.reward / 2, 10);
    for (const reply of result.replies) {
      expect(Object.keys(reply.terms)).toEqual([
        'length',
        'tone',
        'integrity',
        'overselling',
        'acknowledgement',
        'quality',
      ]);
      expect(reply.terms).not.toHaveProperty('fluency');
    }
  });

  it('a reply that leaked PII keeps the names of its failed checks but no findings (they would quote it)', async () => {
    const { result, store } = await draft([LEAKY]);
    const [leaky] = result.replies;
    expect(leaky.text).not.toContain('dana.ortiz@example.org');
    expect(leaky.hardZero).toBe('pii-leak');
    expect(leaky.sendable).toBe(false);
    expect(leaky.failedChecks).toContain('stutter');
    expect(leaky.failedChecks).toContain('spelling');
    expect(leaky.findings).toEqual([]);
    // The reply span agrees with the page: no finding stored either.
    const spans = (await store.querySpans({ rollout_id: result.rolloutId, limit: -1 })).items;
    const reply = spans.find((s) => s.attributes[ATTR.objectType] === REPLY_OBJECT_TYPE);
    expect(reply?.attributes[REPLY_ATTR.qualityFailed]).toEqual(leaky.failedChecks);
    expect(reply?.attributes[REPLY_ATTR.qualityFindings]).toBeUndefined();
    expect(JSON.stringify(result)).not.toContain('ortiz');
  });

  it('the training samples tap carries each reply’s failed checks and findings from its span', async () => {
    const { tap, result } = await draft([SENDABLE, STUTTER, LEAKY]);
    const samples = tap.take(7);
    expect(samples.map((s) => [s.step, s.failedChecks, s.findings])).toEqual(
      result.replies.map((r) => [7, r.failedChecks, r.findings]),
    );
    expect(samples[1]).toMatchObject({ failedChecks: ['stutter'], findings: ['stutter: are are'] });
    expect(samples.map((s) => s.terms.quality)).toEqual(result.replies.map((r) => r.terms.quality));
    // Shares over the three: one sendable; stutter failed by two, the others by the leaky one only.
    const summary = sendability(samples);
    expect(summary.sendableRate).toBeCloseTo(1 / 3, 10);
    expect(summary.failedChecks.stutter).toBeCloseTo(2 / 3, 10);
    expect(summary.failedChecks.spelling).toBeCloseTo(1 / 3, 10);
    expect(summary.failedChecks).not.toHaveProperty('placeholder');
    expect(sendability([])).toEqual({ sendableRate: null, failedChecks: {} });
  });
});
