import { AGL_MESSAGE, AGL_OPERATION, AGL_REWARD, ATTR, readReward } from '../../shared/agent/semconv';
import type { LightningStore } from '../../shared/store/store';
import type { Attempt, RolloutWithAttempt, Span } from '../../shared/store/types';
import type { LabDatabase, TraceRecord } from './lab-db';
import type { TraceFilter, TraceRow } from './protocol';

// The trace explorer's index. The LightningStore answers rollout queries by status only and keeps
// rewards in spans, so the lab keeps one small row per rollout (status, mode, primary reward, a
// preview) in its own table, indexed for the explorer's filters over 100k rollouts. Rows of
// finished rollouts never change, so a refresh only reads the spans of rollouts it has not seen
// finish.

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const SCAN_PAGE = 1000;
const NO_REWARD = Number.NEGATIVE_INFINITY;

/**
 * A line of text for the list: the redacted feedback the agent governed (never the raw input,
 * which may hold personal data), else the first message, else the task id.
 */
function preview(rollout: RolloutWithAttempt, spans: Span[]): string {
  for (const span of spans) {
    if (span.name !== AGL_OPERATION || span.attributes[ATTR.operationName] !== 'govern-feedback') continue;
    const output = span.attributes[ATTR.operationOutput];
    try {
      const redacted =
        typeof output === 'string' ? (JSON.parse(output) as { redacted?: unknown }).redacted : null;
      if (typeof redacted === 'string') return redacted.slice(0, 200);
    } catch {
      // Not JSON: fall through to the other sources.
    }
  }
  const message = spans.find((s) => s.name === AGL_MESSAGE)?.attributes[ATTR.messageBody];
  if (typeof message === 'string') return message.slice(0, 200);
  const input = rollout.input as { id?: unknown; kind?: unknown; algo?: unknown } | null;
  if (input?.kind === 'edgelight.training-run')
    return `training run (${String(input.algo)}): metrics per step`;
  return typeof input?.id === 'string' ? `task ${input.id}` : '';
}

async function summarise(store: LightningStore, rollout: RolloutWithAttempt): Promise<TraceRecord> {
  const spans = rollout.attempt
    ? (await store.querySpans({ rollout_id: rollout.rollout_id, attempt_id: rollout.attempt.attempt_id }))
        .items
    : [];
  // A group rollout carries one reward span per drafted reply: the row shows their mean.
  const rewards = spans
    .filter((s) => s.name === AGL_REWARD)
    .map((s) => readReward(s)?.primary)
    .filter((r): r is number => typeof r === 'number');
  const reward = rewards.length ? rewards.reduce((a, b) => a + b, 0) / rewards.length : undefined;
  return {
    rollout_id: rollout.rollout_id,
    status: rollout.status,
    mode: rollout.mode ?? 'none',
    reward: typeof reward === 'number' ? reward : NO_REWARD,
    start_time: rollout.start_time,
    end_time: rollout.end_time,
    attempts: rollout.attempt?.sequence_id ?? 0,
    preview: preview(rollout, spans),
  };
}

export class TraceIndex {
  private finished = new Set<string>();
  private settled = 0;
  private loaded = false;
  private running: Promise<number> | null = null;

  constructor(
    private readonly db: LabDatabase,
    private readonly store: () => Promise<LightningStore>,
  ) {}

  /** Brings the index up to date with the store; returns how many rows changed. */
  refresh(): Promise<number> {
    this.running ??= this.scan().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async scan(): Promise<number> {
    const store = await this.store();
    if (!this.loaded) {
      await this.db.traces.each((row) => {
        if (FINAL.has(row.status)) this.finished.add(row.rollout_id);
      });
      this.loaded = true;
    }
    let changed = 0;
    // Rollouts are read oldest first from the end of the settled prefix: a long run of finished
    // rollouts is not read again on every refresh.
    let settling = true;
    for (let offset = this.settled; ; offset += SCAN_PAGE) {
      const page = await store.queryRollouts({ sort_by: 'start_time', limit: SCAN_PAGE, offset });
      const fresh = page.items.filter((r) => !this.finished.has(r.rollout_id));
      const rows = await Promise.all(fresh.map((r) => summarise(store, r)));
      if (rows.length > 0) await this.db.traces.bulkPut(rows);
      for (const row of rows) if (FINAL.has(row.status)) this.finished.add(row.rollout_id);
      for (const [i, r] of page.items.entries()) {
        settling &&= this.finished.has(r.rollout_id);
        if (settling) this.settled = offset + i + 1;
      }
      changed += rows.length;
      if (page.items.length < SCAN_PAGE) break;
    }
    return changed;
  }

  /** Rows may have arrived out of order (a sync pull): the next refresh reads every rollout again. */
  invalidate(): void {
    this.settled = 0;
  }

  async query(
    filter: TraceFilter,
    offset: number,
    limit: number,
  ): Promise<{ total: number; rows: TraceRow[] }> {
    const search = filter.search?.toLowerCase();
    const matches = (r: TraceRecord) =>
      (!filter.status || r.status === filter.status) &&
      (!filter.mode || r.mode === filter.mode) &&
      (filter.minReward === undefined || r.reward >= filter.minReward) &&
      (filter.maxReward === undefined || (r.reward !== NO_REWARD && r.reward <= filter.maxReward)) &&
      (!search || r.rollout_id.toLowerCase().includes(search) || r.preview.toLowerCase().includes(search));
    const unfiltered =
      !filter.status &&
      !filter.mode &&
      filter.minReward === undefined &&
      filter.maxReward === undefined &&
      !search;
    const collection = this.db.traces.orderBy('start_time').reverse();
    const total = unfiltered
      ? await this.db.traces.count()
      : await collection.clone().filter(matches).count();
    const records = await (unfiltered ? collection : collection.filter(matches))
      .offset(offset)
      .limit(limit)
      .toArray();
    return {
      total,
      rows: records.map((r) => ({ ...r, reward: r.reward === NO_REWARD ? null : r.reward })),
    };
  }

  async facets(): Promise<{ statuses: string[]; modes: string[]; total: number }> {
    const [statuses, modes, total] = await Promise.all([
      this.db.traces.orderBy('status').uniqueKeys(),
      this.db.traces.orderBy('mode').uniqueKeys(),
      this.db.traces.count(),
    ]);
    return { statuses: statuses.map(String), modes: modes.map(String), total };
  }
}

export type TraceDetail = {
  rollout: RolloutWithAttempt;
  attempts: Array<{ attempt: Attempt; spans: Span[] }>;
};

/** A rollout with every attempt and its spans (in sequence order), for the detail view. */
export async function traceDetail(store: LightningStore, rolloutId: string): Promise<TraceDetail | null> {
  const rollout = await store.getRolloutById(rolloutId);
  if (!rollout) return null;
  const attempts = (await store.queryAttempts(rolloutId)).items;
  return {
    rollout,
    attempts: await Promise.all(
      attempts.map(async (attempt) => ({
        attempt,
        spans: (await store.querySpans({ rollout_id: rolloutId, attempt_id: attempt.attempt_id })).items,
      })),
    ),
  };
}
