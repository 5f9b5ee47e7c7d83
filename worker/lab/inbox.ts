import type { z } from 'zod';
import { REPLY_ATTR, REPLY_OBJECT_TYPE } from '../../shared/agent/feedback-agent';
import { AGL_OBJECT, ATTR } from '../../shared/agent/semconv';
import type { GovernancePipeline } from '../../shared/governance/types';
import {
  type AgreementReport,
  agreementSummary,
  governedScorer,
  reviewAgreement,
} from '../../shared/review/agreement';
import {
  DECISION_SPAN,
  DELIVERY_ATTR,
  DELIVERY_SPAN,
  decisionAttributes,
  FEEDBACK_ITEM_KIND,
  FeedbackItemInput,
  OUTCOME_ATTR,
  OUTCOME_SPAN,
  readDecision,
  ReviewDecision,
} from '../../shared/review/contract';
import { replyFindings } from '../../shared/review/findings';
import { newSpanId, newTraceId } from '../../shared/store/ids';
import type { LightningStore } from '../../shared/store/store';
import type { RolloutWithAttempt, Span } from '../../shared/store/types';
import { readRolloutGroup } from '../../shared/train/rl-data';
import type { LabDatabase } from './lab-db';
import { lineDiff } from '../../shared/review/line-diff';
import {
  DecideRequest,
  type DecideResult,
  type InboxDecisionView,
  type InboxDelivery,
  type InboxDraft,
  InboxFilter,
  type InboxItem,
  type InboxOutcome,
  type InboxRow,
  type InboxState,
  type ReplyCheck,
} from './protocol';

// The reviewer's Inbox, read from and written to the lab's local store only, so it works offline:
// feedback items (rollouts whose input is a FeedbackItemInput) arrive by sync, their drafts are the
// feedback agent's reply and reward spans, and a decision is one `edgelight.review.decision` span on
// the item's latest attempt, written through the outbox-recording store so the next sync sends it.
// The server answers with an outcome span (whose decision counts) and delivery spans, which the
// next pull brings back here.

const SCAN_PAGE = 500;
/** Lab setting: the reviewer's name, asked once and written into every decision. */
export const REVIEWER_SETTING = 'inbox.reviewer';
/** Lab settings `inbox.mine.<decision id>`: decisions made in this lab (to tell the reviewer they lost). */
const MINE_PREFIX = 'inbox.mine.';

export type InboxDeps = {
  /** The local store, read as is. */
  local: LightningStore;
  /** The outbox-recording store: decisions written through it are queued for sync. */
  store: LightningStore;
  db: LabDatabase;
  governance: () => Promise<GovernancePipeline>;
  now?: () => number;
};

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** The feedback item a rollout holds, or null for any other rollout. */
function itemOf(rollout: RolloutWithAttempt): FeedbackItemInput | null {
  const input = rollout.input as { kind?: unknown } | null;
  if (input?.kind !== FEEDBACK_ITEM_KIND) return null;
  const parsed = FeedbackItemInput.safeParse(input);
  return parsed.success ? parsed.data : null;
}

async function mineIds(db: LabDatabase): Promise<Set<string>> {
  const keys = await db.settings.where('key').startsWith(MINE_PREFIX).primaryKeys();
  return new Set(keys.map((k) => String(k).slice(MINE_PREFIX.length)));
}

function readOutcome(spans: Span[]): InboxOutcome | null {
  // The server rules once per item; should it write again, its latest word counts.
  const span = spans.filter((s) => s.name === OUTCOME_SPAN).at(-1);
  const winner = text(span?.attributes[OUTCOME_ATTR.winner]);
  if (!span || !winner) return null;
  return {
    winner,
    winnerReviewer: text(span.attributes[OUTCOME_ATTR.winnerReviewer]),
    superseded: strings(span.attributes[OUTCOME_ATTR.superseded]),
  };
}

function readDeliveries(spans: Span[]): InboxDelivery[] {
  return spans
    .filter((s) => s.name === DELIVERY_SPAN)
    .map((s) => ({
      decision: text(s.attributes[DELIVERY_ATTR.decision]),
      attempt: num(s.attributes[DELIVERY_ATTR.attempt]) ?? 0,
      status: text(s.attributes[DELIVERY_ATTR.status]) ?? 'unknown',
      httpStatus: num(s.attributes[DELIVERY_ATTR.httpStatus]),
      error: text(s.attributes[DELIVERY_ATTR.error]),
      nextAttemptAt: num(s.attributes[DELIVERY_ATTR.nextAttemptAt]),
      at: s.end_time ?? s.start_time,
    }))
    .sort((a, b) => a.attempt - b.attempt || (a.at ?? 0) - (b.at ?? 0));
}

function readDecisions(spans: Span[], mine: Set<string>): InboxDecisionView[] {
  const out: InboxDecisionView[] = [];
  for (const span of spans) {
    const d = readDecision(span);
    if (!d) continue;
    out.push({
      id: d.id,
      action: d.action,
      reviewer: d.reviewer,
      decidedAt: d.decidedAt,
      draftIndex: d.draftIndex ?? null,
      reply: d.reply ?? null,
      diff: d.diff ?? null,
      reason: d.reason ?? null,
      findings: d.findings,
      override: d.override ?? null,
      mine: mine.has(d.id),
    });
  }
  return out.sort((a, b) => a.decidedAt - b.decidedAt);
}

function stateOf(decisions: InboxDecisionView[], outcome: InboxOutcome | null): InboxState {
  const mine = decisions.filter((d) => d.mine);
  if (outcome) {
    if (mine.some((d) => d.id === outcome.winner)) return 'won';
    return mine.length > 0 ? 'lost' : 'settled';
  }
  return decisions.length > 0 ? 'waiting' : 'open';
}

const isReplySpan = (s: Span) => s.name === AGL_OBJECT && s.attributes[ATTR.objectType] === REPLY_OBJECT_TYPE;

function rowOf(
  rollout: RolloutWithAttempt,
  item: FeedbackItemInput,
  spans: Span[],
  mine: Set<string>,
): InboxRow & { decisions: InboxDecisionView[]; outcome: InboxOutcome | null } {
  const latest = rollout.attempt?.attempt_id;
  const decisions = readDecisions(spans, mine);
  const outcome = readOutcome(spans);
  const v = item.metadata.verdict;
  return {
    rolloutId: rollout.rollout_id,
    itemId: item.id,
    text: item.text,
    category: item.category ?? null,
    sentiment: v.sentiment,
    sentimentScore: v.sentiment_score,
    boundaries: v.boundaries,
    pii: v.pii,
    intakeDecision: v.decision,
    submittedAt: item.metadata.submitted_at,
    source: item.metadata.source,
    drafts: spans.filter((s) => s.attempt_id === latest && isReplySpan(s)).length,
    state: stateOf(decisions, outcome),
    delivery: readDeliveries(spans).at(-1)?.status ?? null,
    decisions,
    outcome,
  };
}

async function spansOf(local: LightningStore, rolloutId: string): Promise<Span[]> {
  return (await local.querySpans({ rollout_id: rolloutId, limit: -1 })).items;
}

/**
 * The ids of the store's feedback item rollouts. The store has no index on the input's kind, so finding
 * them means reading every rollout (a lab may hold many training rollouts); the answer is kept per store
 * until its rollout count changes (rollouts are never deleted), so refreshing the list after a decision,
 * which only adds a span, does not read them again.
 */
const itemIdCache = new WeakMap<LightningStore, { total: number; ids: string[] }>();

async function itemRolloutIds(local: LightningStore): Promise<string[]> {
  const total = (await local.statistics()).total_rollouts;
  const cached = itemIdCache.get(local);
  if (cached?.total === total) return cached.ids;
  const ids: string[] = [];
  for (let offset = 0; ; offset += SCAN_PAGE) {
    const page = await local.queryRollouts({ sort_by: 'start_time', limit: SCAN_PAGE, offset });
    for (const rollout of page.items) if (itemOf(rollout)) ids.push(rollout.rollout_id);
    if (page.items.length < SCAN_PAGE) break;
  }
  itemIdCache.set(local, { total, ids });
  return ids;
}

/** Feedback items, newest submission first. */
export async function listInbox(deps: InboxDeps, filter: unknown): Promise<InboxRow[]> {
  const which = InboxFilter.parse(filter ?? 'open');
  const mine = await mineIds(deps.db);
  const ids = await itemRolloutIds(deps.local);
  // The reads are issued together: IndexedDB serves them in one go rather than in turn.
  const rows = await Promise.all(
    ids.map(async (id): Promise<InboxRow | null> => {
      const [rollout, spans] = await Promise.all([deps.local.getRolloutById(id), spansOf(deps.local, id)]);
      const item = rollout && itemOf(rollout);
      if (!rollout || !item) return null;
      const { decisions: _d, outcome: _o, ...row } = rowOf(rollout, item, spans, mine);
      return which === 'all' || (which === 'open') === (row.state === 'open') ? row : null;
    }),
  );
  return rows
    .filter((r): r is InboxRow => r !== null)
    .sort((a, b) => b.submittedAt - a.submittedAt || b.rolloutId.localeCompare(a.rolloutId));
}

/** One item with its drafts (best reward first), decisions, the server's outcome and the delivery log. */
export async function inboxItem(deps: InboxDeps, rolloutId: unknown): Promise<InboxItem | null> {
  if (typeof rolloutId !== 'string') throw new Error('rolloutId must be a string');
  const rollout = await deps.local.getRolloutById(rolloutId);
  const item = rollout && itemOf(rollout);
  if (!rollout || !item) return null;
  const spans = await spansOf(deps.local, rolloutId);
  const row = rowOf(rollout, item, spans, await mineIds(deps.db));
  const { drafts, policyId } = await readDrafts(deps.local, rollout);
  return { ...row, draftList: drafts, policyId, deliveries: readDeliveries(spans) };
}

/** The agreement report and its one-line headline, as the Inbox's panel (and the Train page) show them. */
export type LabAgreement = { report: AgreementReport; summary: string };

/**
 * How well the heuristic reward agrees with the decisions in this lab's store (made here or pulled by
 * sync), by the one measure shared/review/agreement.ts decides; written replies and edits are scored
 * with the reward under this lab's governance. Reads every item's spans, so the page asks for it only
 * when its panel is open.
 */
export async function reviewAgreementOf(deps: InboxDeps, examples: unknown = 3): Promise<LabAgreement> {
  if (typeof examples !== 'number' || !Number.isInteger(examples) || examples < 0)
    throw new Error('examples must be an integer ≥ 0');
  const ids = await itemRolloutIds(deps.local);
  const items = await Promise.all(
    ids.map(async (id) => {
      const [rollout, spans] = await Promise.all([deps.local.getRolloutById(id), spansOf(deps.local, id)]);
      const input = rollout && itemOf(rollout);
      return input ? { rolloutId: id, input, spans } : null;
    }),
  );
  const report = reviewAgreement(
    items.filter((i) => i !== null),
    { examples, scoreReply: await governedScorer(await deps.governance()) },
  );
  return { report, summary: agreementSummary(report) };
}

/** The latest attempt's drafts, best reward first (a draft without a reward last). */
async function readDrafts(
  local: LightningStore,
  rollout: RolloutWithAttempt,
): Promise<{ drafts: InboxDraft[]; policyId: string | null }> {
  if (!rollout.attempt) return { drafts: [], policyId: null };
  const group = await readRolloutGroup(local, rollout);
  const { items } = await local.querySpans({
    rollout_id: rollout.rollout_id,
    attempt_id: rollout.attempt.attempt_id,
    limit: -1,
  });
  const replySpans = new Map<number, Span>();
  for (const s of items) {
    const index = s.attributes[REPLY_ATTR.index];
    if (isReplySpan(s) && typeof index === 'number') replySpans.set(index, s);
  }
  const drafts = group.samples.map((sample): InboxDraft => {
    const span = replySpans.get(sample.index);
    const { primary, ...terms } = sample.reward ?? {};
    return {
      index: sample.index,
      text: sample.text,
      redacted: sample.redacted,
      reward: typeof primary === 'number' ? primary : null,
      terms,
      violations: sample.violations,
      failedChecks: sample.failedChecks,
      findings: strings(span?.attributes[REPLY_ATTR.qualityFindings]),
      decision: text(span?.attributes[REPLY_ATTR.decision]) ?? 'unknown',
    };
  });
  const rank = (d: InboxDraft) => d.reward ?? Number.NEGATIVE_INFINITY;
  drafts.sort((a, b) => rank(b) - rank(a) || a.index - b.index);
  return { drafts, policyId: group.samples.find((s) => s.policyId)?.policyId ?? null };
}

/**
 * Governance's findings on a reply about to be sent (governed as a `response`, the agent's own
 * check): each PII type found and each rule violated. Empty means it may go out without an override.
 */
export async function checkReply(
  governance: () => Promise<GovernancePipeline>,
  reply: unknown,
): Promise<ReplyCheck> {
  if (typeof reply !== 'string') throw new Error('reply must be a string');
  const verdict = (await governance()).govern(reply, 'response');
  const findings = replyFindings(verdict);
  return { findings, decision: verdict.decision };
}

export async function getReviewer(db: LabDatabase): Promise<string> {
  return (await db.getSetting<string>(REVIEWER_SETTING)) ?? '';
}

export async function setReviewer(db: LabDatabase, name: unknown): Promise<string> {
  const parsed = ReviewDecision.shape.reviewer.safeParse(name);
  if (!parsed.success) throw new Error('the reviewer name must be 1 to 200 characters');
  await db.setSetting(REVIEWER_SETTING, parsed.data);
  return parsed.data;
}

/** Parses with `schema`, or fails with the issues in words (the page shows the message as is). */
function parseOrExplain<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) =>
    i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message,
  );
  throw new Error(`invalid ${what}: ${issues.join('; ')}`);
}

/**
 * Records a reviewer's decision as one decision span on the item's latest attempt. A reply (approve,
 * edit, write) is governed again here, whatever the page showed: with findings it is refused unless
 * the request carries an override reason, and then the findings and the override are kept with it.
 */
export async function decide(deps: InboxDeps, request: unknown): Promise<DecideResult> {
  const r = parseOrExplain(DecideRequest, request, 'decision request');
  const reviewer = await getReviewer(deps.db);
  if (!reviewer) throw new Error('set your reviewer name first');
  const rollout = await deps.local.getRolloutById(r.rolloutId);
  const item = rollout && itemOf(rollout);
  if (!rollout || !item) throw new Error(`no feedback item ${r.rolloutId} in this lab`);
  const attempt = rollout.attempt;
  if (!attempt) throw new Error('this item has no attempt yet (not drafted): sync again later');
  const spans = await spansOf(deps.local, r.rolloutId);
  const earlier = readDecisions(spans, await mineIds(deps.db));
  if (earlier.length > 0)
    throw new Error(`${earlier[0].reviewer} decided this item already (${earlier[0].action})`);

  const { drafts, policyId } = await readDrafts(deps.local, rollout);
  const draft = r.draftIndex === undefined ? undefined : drafts.find((d) => d.index === r.draftIndex);
  if ((r.action === 'approve' || r.action === 'edit') && !draft)
    throw new Error(`draft ${r.draftIndex ?? '(none)'} is not among this item's drafts`);
  if (r.action === 'approve' && draft?.redacted)
    throw new Error(
      'this draft was stored redacted (it leaked personal data): edit it or write a reply instead',
    );

  let reply: string | undefined;
  let diff: string | undefined;
  if (r.action === 'approve') reply = draft!.text;
  if (r.action === 'edit' || r.action === 'write') {
    reply = r.reply?.trim();
    if (!reply) throw new Error(`${r.action} needs the reply text`);
  }
  if (r.action === 'edit') {
    diff = lineDiff(draft!.text, reply!);
    if (!diff) throw new Error('the edit changes nothing: approve the draft instead');
  }
  let findings: string[] = [];
  if (reply !== undefined) {
    findings = (await checkReply(deps.governance, reply)).findings;
    if (findings.length > 0 && !r.override?.trim()) return { status: 'refused', findings };
  }

  const decision = parseOrExplain(
    ReviewDecision,
    {
      id: crypto.randomUUID(),
      action: r.action,
      reviewer,
      decidedAt: (deps.now ?? (() => Date.now() / 1000))(),
      draftIndex: r.action === 'approve' || r.action === 'edit' ? r.draftIndex : undefined,
      reply,
      diff,
      reason: r.reason?.trim() || undefined,
      findings,
      // An override says why findings were let through: without findings there is nothing to override.
      override: findings.length > 0 ? r.override?.trim() : undefined,
      policyId: policyId ?? undefined,
    },
    'decision',
  );
  // The attempt's own trace, so the decision sits beside the drafts in the trace explorer.
  const traceId = spans.find((s) => s.attempt_id === attempt.attempt_id)?.trace_id ?? newTraceId();
  const at = decision.decidedAt;
  await deps.store.addSpan({
    rollout_id: rollout.rollout_id,
    attempt_id: attempt.attempt_id,
    sequence_id: await deps.store.getNextSpanSequenceId(rollout.rollout_id, attempt.attempt_id),
    trace_id: traceId,
    span_id: newSpanId(),
    name: DECISION_SPAN,
    status: { status_code: 'OK' },
    attributes: decisionAttributes(decision),
    start_time: at,
    end_time: at,
  });
  await deps.db.setSetting(`${MINE_PREFIX}${decision.id}`, rollout.rollout_id);
  return { status: 'decided', decisionId: decision.id };
}
