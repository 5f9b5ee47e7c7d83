import { z } from 'zod';
import { FeedbackCategory, FeedbackTask } from '../agent/task';
import type { Verdict } from '../governance/types';
import type { Span } from '../store/types';

// The review loop's shared names: what the public intake stores (a feedback item rollout), what a
// reviewer's decision looks like (a span on that rollout), and what the server adds once it has decided
// whose decision counts and tried to deliver it (outcome and delivery spans). The server, the lab worker
// and the Inbox page all read and write these through the LightningStore and sync; nothing else is
// shared between them.

/** `rollout.input.kind` of a visitor's feedback that came in through POST /v1/feedback. */
export const FEEDBACK_ITEM_KIND = 'edgelight.feedback-item';

/** Governance's findings on the submitted text, kept instead of the text (which is never stored). */
export const IntakeVerdict = z.object({
  decision: z.enum(['allow', 'review', 'block']),
  sentiment: z.string(),
  sentiment_score: z.number(),
  /** PII types found and redacted (`EMAIL`, `PHONE`, ...), never the values. */
  pii: z.array(z.string()),
  violations: z.array(z.string()),
  boundaries: z.array(z.string()),
});
export type IntakeVerdict = z.infer<typeof IntakeVerdict>;

/** What an item keeps of governance's verdict on the submitted text: kinds and labels, never values. */
export function intakeVerdictOf(verdict: Verdict): IntakeVerdict {
  return {
    decision: verdict.decision,
    sentiment: verdict.sentiment.label,
    sentiment_score: verdict.sentiment.score,
    pii: [...new Set(verdict.pii.map((p) => p.type))],
    violations: [...new Set(verdict.violations.map((v) => v.rule))],
    boundaries: [...new Set(verdict.boundaries.map((b) => b.boundary))],
  };
}

/**
 * A feedback item's rollout input: a FeedbackTask (so the feedback agent drafts for it as is) whose
 * `text` is the REDACTED text, plus where it came from. `id` is the item id the visitor's status URL names.
 */
export const FeedbackItemInput = FeedbackTask.extend({
  kind: z.literal(FEEDBACK_ITEM_KIND),
  category: FeedbackCategory.optional(),
  metadata: z.object({
    /** Epoch seconds at the server. */
    submitted_at: z.number(),
    source: z.enum(['form', 'api']),
    /** The intake key's name (not the key). */
    intake: z.string(),
    verdict: IntakeVerdict,
    /** A contact address the visitor gave for the reply is never stored: delivery goes to the webhook. */
    page: z.string().max(2048).optional(),
  }),
});
export type FeedbackItemInput = z.infer<typeof FeedbackItemInput>;

export const isFeedbackItem = (input: unknown): input is FeedbackItemInput =>
  FeedbackItemInput.safeParse(input).success;

// ── Decisions ────────────────────────────────────────────────────────────────────────────────────────

/** Span name of a reviewer's decision on an item (written by the lab, synced to the server). */
export const DECISION_SPAN = 'edgelight.review.decision';
/** Span name of the server's ruling: which decision counts (first in server order), which lost. */
export const OUTCOME_SPAN = 'edgelight.review.outcome';
/** Span name of one delivery attempt of the winning reply (webhook). */
export const DELIVERY_SPAN = 'edgelight.delivery';

export const REVIEW_ACTIONS = ['approve', 'edit', 'write', 'reject', 'spam'] as const;
export const ReviewAction = z.enum(REVIEW_ACTIONS);
export type ReviewAction = z.infer<typeof ReviewAction>;
/** Actions that send a reply. */
export const SENDS_REPLY: ReadonlySet<ReviewAction> = new Set(['approve', 'edit', 'write']);

export const DECISION_ATTR = {
  /** A UUID the reviewer's lab gives the decision; outcome and delivery spans name it. */
  id: 'edgelight.review.id',
  action: 'edgelight.review.action',
  reviewer: 'edgelight.review.reviewer',
  /** Epoch seconds on the reviewer's clock (the server's order decides, not this). */
  decidedAt: 'edgelight.review.decided_at',
  /** The draft approved or edited (its reply index). */
  draftIndex: 'edgelight.review.draft_index',
  /** The reply to send (approve, edit, write). */
  reply: 'edgelight.review.reply',
  /** The edit as a line diff of the draft (edit). */
  diff: 'edgelight.review.diff',
  /** Why (reject, spam; optional otherwise). */
  reason: 'edgelight.review.reason',
  /** The governance findings the reply still had when sent ("pii:EMAIL", "rule:inst_017"), if any. */
  findings: 'edgelight.review.findings',
  /** The reviewer's reason for sending despite findings; required when findings is not empty. */
  override: 'edgelight.review.override',
  /** The policy that drafted the item's replies. */
  policyId: 'edgelight.review.policy_id',
} as const;

export const ReviewDecision = z
  .object({
    id: z.string().uuid(),
    action: ReviewAction,
    reviewer: z.string().trim().min(1).max(200),
    decidedAt: z.number(),
    draftIndex: z.number().int().min(0).optional(),
    reply: z.string().trim().min(1).max(20_000).optional(),
    diff: z.string().max(100_000).optional(),
    reason: z.string().trim().max(2000).optional(),
    findings: z.array(z.string()).default([]),
    override: z.string().trim().max(2000).optional(),
    policyId: z.string().optional(),
  })
  .superRefine((d, ctx) => {
    const need = (ok: boolean, message: string) => ok || ctx.addIssue({ code: 'custom', message });
    if (SENDS_REPLY.has(d.action)) need(!!d.reply, `${d.action} needs the reply text`);
    if (d.action === 'approve' || d.action === 'edit')
      need(d.draftIndex !== undefined, `${d.action} names a draft`);
    if (d.action === 'edit') need(!!d.diff, 'edit records its diff');
    if (d.action === 'reject') need(!!d.reason, 'reject needs a reason');
    if (!SENDS_REPLY.has(d.action)) need(!d.reply, `${d.action} sends no reply`);
    need(
      d.findings.length === 0 || !!d.override,
      'a reply with governance findings needs an override reason',
    );
  });
export type ReviewDecision = z.infer<typeof ReviewDecision>;

/** A decision as span attributes (arrays and scalars only, as the store keeps them). */
export function decisionAttributes(d: ReviewDecision): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {
    [DECISION_ATTR.id]: d.id,
    [DECISION_ATTR.action]: d.action,
    [DECISION_ATTR.reviewer]: d.reviewer,
    [DECISION_ATTR.decidedAt]: d.decidedAt,
    [DECISION_ATTR.findings]: d.findings,
  };
  const optional = {
    draftIndex: d.draftIndex,
    reply: d.reply,
    diff: d.diff,
    reason: d.reason,
    override: d.override,
    policyId: d.policyId,
  };
  for (const [key, value] of Object.entries(optional))
    if (value !== undefined) out[DECISION_ATTR[key as keyof typeof optional]] = value;
  return out;
}

/** The decision a span holds, or null when it is not a well-formed decision span. */
export function readDecision(span: Pick<Span, 'name' | 'attributes'>): ReviewDecision | null {
  if (span.name !== DECISION_SPAN) return null;
  const a = span.attributes;
  const parsed = ReviewDecision.safeParse({
    id: a[DECISION_ATTR.id],
    action: a[DECISION_ATTR.action],
    reviewer: a[DECISION_ATTR.reviewer],
    decidedAt: a[DECISION_ATTR.decidedAt],
    draftIndex: a[DECISION_ATTR.draftIndex],
    reply: a[DECISION_ATTR.reply],
    diff: a[DECISION_ATTR.diff],
    reason: a[DECISION_ATTR.reason],
    findings: a[DECISION_ATTR.findings] ?? [],
    override: a[DECISION_ATTR.override],
    policyId: a[DECISION_ATTR.policyId],
  });
  return parsed.success ? parsed.data : null;
}

// ── The server's ruling and deliveries ─────────────────────────────────────────────────────────────────

export const OUTCOME_ATTR = {
  /** The decision that counts: the first the server received for the item. */
  winner: 'edgelight.review.outcome.winner',
  /** Its reviewer (so a losing lab can say who decided first). */
  winnerReviewer: 'edgelight.review.outcome.winner_reviewer',
  /** Decisions that arrived after the winner and were not acted on. */
  superseded: 'edgelight.review.outcome.superseded',
} as const;

export const DELIVERY_ATTR = {
  /** The decision whose reply this delivers. */
  decision: 'edgelight.delivery.decision',
  /** 1, 2, ... */
  attempt: 'edgelight.delivery.attempt',
  status: 'edgelight.delivery.status',
  /** The webhook's HTTP status, when it answered. */
  httpStatus: 'edgelight.delivery.http_status',
  error: 'edgelight.delivery.error',
  /** Epoch seconds of the next try (status `retrying`). */
  nextAttemptAt: 'edgelight.delivery.next_attempt_at',
} as const;

export const DELIVERY_STATUSES = ['delivered', 'retrying', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
