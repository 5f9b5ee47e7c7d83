// Watches the spans RL runners write and pairs each drafted reply with its reward, so a trainer can
// show what the policy is saying while it trains (the lab's samples panel, a job's step events).
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../agent/feedback-agent';
import { QUALITY_CHECKS, type QualityCheck } from '../agent/quality/checks';
import { AGL_OBJECT, AGL_REWARD, ATTR, readReward } from '../agent/semconv';
import type { LightningStore } from '../store/store';
import type { SpanInput } from '../store/types';

/** One drafted reply of a training step, with its reward and terms. */
export type SampledReply = {
  step: number;
  prompt: string;
  reply: string;
  reward: number;
  terms: Record<string, number>;
  /** The sendability checks it failed (shared/agent/quality); [] for a reply a person could send. */
  failedChecks: QualityCheck[];
  /** What each failed check found ("stutter: are are"); [] when the reply leaked PII (they would quote it). */
  findings: string[];
};

/**
 * Share of `replies` that passed every sendability check (null for none), and of those that failed each
 * check, the checks no reply failed left out.
 */
export function sendability(replies: ReadonlyArray<{ failedChecks: readonly QualityCheck[] }>): {
  sendableRate: number | null;
  failedChecks: Partial<Record<QualityCheck, number>>;
} {
  const n = replies.length;
  const failedChecks: Partial<Record<QualityCheck, number>> = {};
  for (const check of QUALITY_CHECKS) {
    const failed = replies.filter((r) => r.failedChecks.includes(check)).length;
    if (failed > 0) failedChecks[check] = failed / n;
  }
  const sendable = replies.filter((r) => r.failedChecks.length === 0).length;
  return { sendableRate: n ? sendable / n : null, failedChecks };
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];

export class SampleTap {
  private replies = new Map<
    string,
    { text: string; prompt: string; failedChecks: QualityCheck[]; findings: string[] }
  >();
  private ready: Array<Omit<SampledReply, 'step'>> = [];

  observe(span: SpanInput): void {
    const a = span.attributes ?? {};
    const key = `${span.rollout_id}:${a[REPLY_ATTR.index]}`;
    if (span.name === AGL_OBJECT && a[ATTR.objectType] === REPLY_OBJECT_TYPE) {
      this.replies.set(key, {
        text: String(a[REPLY_ATTR.text] ?? ''),
        prompt: String(a[REPLY_ATTR.prompt] ?? ''),
        failedChecks: QUALITY_CHECKS.filter((c) => strings(a[REPLY_ATTR.qualityFailed]).includes(c)),
        findings: strings(a[REPLY_ATTR.qualityFindings]),
      });
    } else if (span.name === AGL_REWARD) {
      const reward = readReward({ attributes: a });
      const reply = this.replies.get(key);
      if (!reward || !reply) return;
      this.replies.delete(key);
      const { primary, ...terms } = reward;
      this.ready.push({
        prompt: reply.prompt,
        reply: reply.text,
        reward: primary,
        terms,
        failedChecks: reply.failedChecks,
        findings: reply.findings,
      });
    }
  }

  /** The replies scored since the last call, labelled with `step`. */
  take(step: number): SampledReply[] {
    const out = this.ready.map((s) => ({ ...s, step }));
    this.ready = [];
    this.replies.clear();
    return out;
  }

  /** The store as the RL loop sees it, with every span written shown to the tap first. */
  wrap(store: LightningStore): LightningStore {
    return new Proxy(store, {
      get: (target, property, receiver) => {
        if (property === 'addSpan')
          return (span: SpanInput) => {
            this.observe(span);
            return target.addSpan(span);
          };
        if (property === 'addSpans')
          return (spans: SpanInput[]) => {
            for (const span of spans) this.observe(span);
            return target.addSpans(spans);
          };
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
}
