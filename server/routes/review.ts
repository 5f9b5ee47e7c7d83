// The review loop for callers that are not the lab: list feedback items (redacted) with their drafts,
// decide one, export the decided ones. The lab's Inbox does the same through sync; both write the same
// decision span and the same resolver rules on it (server/review/resolver.ts).
import { randomUUID } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { extractReplySamples } from '../../shared/agent/samples';
import {
  DECISION_SPAN,
  decisionAttributes,
  type FeedbackItemInput,
  isFeedbackItem,
  ReviewAction,
  ReviewDecision,
  SENDS_REPLY,
} from '../../shared/review/contract';
import type { LightningStore } from '../../shared/store/store';
import type { RolloutWithAttempt } from '../../shared/store/types';
import { ApiError, validationError } from '../middleware/errors';
import { readJson, readPathId, readQuery } from '../middleware/validate';
import { ExportQuery, exportLines } from '../review/export';
import { replyFindings } from '../../shared/review/findings';
import { lineDiff } from '../../shared/review/line-diff';
import type { DecisionRow } from '../review/resolver';
import type { ReviewService } from '../review/service';
import { derivedSpanId, derivedTraceId } from '../review/spans';
import type { Span } from '../../shared/store/types';

/**
 * A decision as an API caller sends it: the contract's ReviewDecision, except that the server gives
 * the id (when absent), the time (when absent) and the governance findings (always its own).
 */
const DecisionRequest = z.object({
  id: z.string().uuid().optional(),
  action: ReviewAction,
  reviewer: z.string().trim().min(1).max(200),
  decidedAt: z.number().finite().optional(),
  draftIndex: z.number().int().min(0).optional(),
  reply: z.string().trim().min(1).max(20_000).optional(),
  diff: z.string().max(100_000).optional(),
  reason: z.string().trim().max(2000).optional(),
  /** Why a reply with governance findings should go out anyway; logged in the decision span. */
  override: z.string().trim().min(1).max(2000).optional(),
  policyId: z.string().max(200).optional(),
});

const ItemsQuery = z.object({
  status: z.enum(['open', 'decided']).default('open'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

const unprocessable = (field: string, message: string) =>
  new ApiError(422, 'validation_failed', message, [
    { loc: ['body', field], msg: message, type: 'value_error' },
  ]);

const traceOf = (spans: Span[], attemptId: string) => spans.find((s) => s.attempt_id === attemptId)?.trace_id;

type ItemRow = { rollout_id: string; item_id: string; submitted_at: number };

function rulingSummary(service: ReviewService, rolloutId: string) {
  const ruling = service.resolver.ruling(rolloutId);
  if (!ruling) return null;
  const { winner, superseded } = ruling;
  const delivery = service.outbox.get(winner.decision_id);
  return {
    winner: winner.decision_id,
    winner_reviewer: winner.decision.reviewer,
    action: winner.decision.action,
    decided_at: winner.decision.decidedAt,
    superseded: superseded.map((d) => d.decision_id),
    delivery: delivery
      ? {
          delivery_id: delivery.delivery_id,
          status: delivery.status,
          attempts: delivery.attempts,
          last_error: delivery.last_error,
        }
      : null,
  };
}

async function itemView(store: LightningStore, service: ReviewService, rollout: RolloutWithAttempt) {
  const input = rollout.input as FeedbackItemInput;
  const spans = rollout.attempt
    ? (await store.querySpans({ rollout_id: rollout.rollout_id, attempt_id: rollout.attempt.attempt_id }))
        .items
    : [];
  const drafts = extractReplySamples(spans)
    .map((s) => ({
      index: s.index,
      text: s.text,
      redacted: s.redacted,
      policy_id: s.policyId,
      reward: s.reward?.primary ?? null,
      terms: s.reward,
    }))
    .sort((a, b) => (b.reward ?? -Infinity) - (a.reward ?? -Infinity));
  const { verdict, submitted_at, source } = input.metadata;
  return {
    item_id: input.id,
    rollout_id: rollout.rollout_id,
    submitted_at,
    source,
    feedback: input.text,
    category: input.category ?? null,
    verdict,
    drafts,
    decision: rulingSummary(service, rollout.rollout_id),
  };
}

function decisionAnswer(service: ReviewService, row: DecisionRow) {
  const ruling = rulingSummary(service, row.rollout_id);
  if (ruling && ruling.winner !== row.decision_id)
    throw new ApiError(
      409,
      'conflict',
      `item ${row.rollout_id} was already decided by ${ruling.winner_reviewer} (${ruling.action})`,
      { decision: row.decision_id, ...ruling },
    );
  return { decision: row.decision, outcome: ruling };
}

export function reviewRoutes(store: LightningStore, service: ReviewService) {
  const app = new Hono();
  // A request that arrives while the server shuts down gets a 503, not a closed database's 500.
  // (Only on these paths: this group is mounted at /v1 beside others.)
  const open: MiddlewareHandler = async (_c, next) => {
    if (service.stopped) throw new ApiError(503, 'unavailable', 'the review loop is shutting down');
    await next();
  };
  for (const path of ['/items', '/items/*', '/replies/*']) app.use(path, open);

  app.get('/items', async (c) => {
    const query = readQuery(c, ItemsQuery);
    await service.resolver.catchUp();
    const decided = query.status === 'decided' ? '' : 'NOT';
    const where = `${decided} EXISTS (SELECT 1 FROM decisions d WHERE d.rollout_id = i.rollout_id)`;
    const rows = service.db
      .prepare(
        `SELECT i.* FROM items i WHERE ${where}
         ORDER BY i.submitted_at DESC, i.rollout_id DESC LIMIT ? OFFSET ?`,
      )
      .all(query.limit, query.offset) as ItemRow[];
    const total = service.db.prepare(`SELECT COUNT(*) FROM items i WHERE ${where}`).pluck().get() as number;
    const items = [];
    for (const row of rows) {
      const rollout = await store.getRolloutById(row.rollout_id);
      if (rollout && isFeedbackItem(rollout.input)) items.push(await itemView(store, service, rollout));
    }
    return c.json({ items, total, limit: query.limit, offset: query.offset });
  });

  app.post('/items/:rollout_id/decisions', async (c) => {
    const rolloutId = readPathId(c, 'rollout_id');
    const request = await readJson(c, DecisionRequest);
    const rollout = await store.getRolloutById(rolloutId);
    if (!rollout || !isFeedbackItem(rollout.input))
      throw new ApiError(404, 'not_found', `no feedback item with rollout id ${rolloutId}`);

    // A decision sent again (a client retrying after a lost answer) gets the answer it got first.
    if (request.id) {
      const known = service.resolver.decision(request.id);
      if (known && known.rollout_id !== rolloutId)
        throw new ApiError(409, 'conflict', `decision ${request.id} was made on another item`);
      if (known) return c.json(decisionAnswer(service, known), 200);
    }
    const attempt = rollout.attempt;
    if (!attempt)
      throw new ApiError(409, 'conflict', `item ${rolloutId} has not been drafted yet: nothing to decide on`);
    const spans = (await store.querySpans({ rollout_id: rolloutId, attempt_id: attempt.attempt_id })).items;

    // The same rules as the lab's Inbox: approve sends a draft as it is, edit records its diff from one,
    // and a draft stored redacted (it leaked PII) cannot be approved.
    let reply = request.reply;
    let diff = request.diff;
    if (request.action === 'approve' || request.action === 'edit') {
      const draft = extractReplySamples(spans).find((d) => d.index === request.draftIndex);
      if (!draft)
        throw unprocessable(
          'draftIndex',
          `draft ${request.draftIndex ?? '(none)'} is not among this item's drafts`,
        );
      if (request.action === 'approve') {
        if (draft.redacted)
          throw unprocessable(
            'draftIndex',
            'this draft was stored redacted (it leaked PII): edit it or write a reply',
          );
        if (reply !== undefined && reply !== draft.text.trim())
          throw unprocessable('reply', 'approve sends the draft as it is: use "edit" to change it');
        reply = draft.text.trim();
      } else if (reply !== undefined) {
        diff = lineDiff(draft.text, reply);
        if (!diff) throw unprocessable('reply', 'the edit changes nothing: approve the draft instead');
      }
    }

    // The reply is governed again here, whatever the caller checked: PII or a rule violation is sent
    // only with an override reason, which the decision span keeps.
    let findings: string[] = [];
    if (reply !== undefined && SENDS_REPLY.has(request.action)) {
      findings = replyFindings(service.governance().govern(reply, 'response'));
      if (findings.length > 0 && !request.override)
        throw new ApiError(
          422,
          'validation_failed',
          `the reply has governance findings (${findings.join(', ')}); fix it, or send it with an "override" reason`,
          [
            {
              loc: ['body', 'reply'],
              msg: `governance findings: ${findings.join(', ')}`,
              type: 'governance',
            },
          ],
        );
    }
    const parsed = ReviewDecision.safeParse({
      ...request,
      reply,
      diff,
      id: request.id ?? randomUUID(),
      decidedAt: request.decidedAt ?? Date.now() / 1000,
      findings,
      // An override says why findings were let through: without findings there is nothing to override.
      override: findings.length > 0 ? request.override : undefined,
    });
    if (!parsed.success) throw validationError('body', parsed.error);
    const decision = parsed.data;

    const now = Date.now() / 1000;
    await store.addSpan({
      rollout_id: rolloutId,
      attempt_id: attempt.attempt_id,
      // The attempt's own trace, as the lab does, so the decision sits beside the drafts.
      trace_id: traceOf(spans, attempt.attempt_id) ?? derivedTraceId('decision', decision.id),
      span_id: derivedSpanId('decision', decision.id),
      name: DECISION_SPAN,
      attributes: decisionAttributes(decision),
      start_time: now,
      end_time: now,
      status: { status_code: 'OK' },
    });
    await service.resolver.catchUp();
    service.wake(); // the delivery goes out now rather than at the next poll
    const row = service.resolver.decision(decision.id);
    if (!row) throw new Error(`decision ${decision.id} was stored but not recorded`);
    return c.json(decisionAnswer(service, row), 201);
  });

  app.get('/replies/export', async (c) => {
    const query = readQuery(c, ExportQuery);
    await service.resolver.catchUp();
    const encoder = new TextEncoder();
    const lines = exportLines(service.db, store, query);
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await lines.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
      },
      async cancel() {
        await lines.return(undefined);
      },
    });
    return c.body(body, 200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'content-disposition': 'attachment; filename="replies.jsonl"',
    });
  });

  return app;
}
