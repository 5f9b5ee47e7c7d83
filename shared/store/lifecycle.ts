// The store's semantics as pure functions: every implementation (memory, Dexie, SQLite) runs
// these through engine.ts, so they differ only in how rows are kept. They follow Agent
// Lightning v0.3 (agentlightning/store/collection_based.py and store/utils.py).

import {
  ACTIVE_ROLLOUT_STATUSES,
  type Attempt,
  type AttemptStatus,
  QUEUED_ROLLOUT_STATUSES,
  type Rollout,
  type RolloutConfig,
  type RolloutStatus,
  TERMINAL_ROLLOUT_STATUSES,
  type Worker,
} from './types';

export const isFinished = (status: RolloutStatus) => TERMINAL_ROLLOUT_STATUSES.includes(status);
export const isQueued = (status: RolloutStatus) => QUEUED_ROLLOUT_STATUSES.includes(status);
export const isActive = (status: RolloutStatus) => ACTIVE_ROLLOUT_STATUSES.includes(status);

/**
 * The rollout status implied by its latest attempt. A failed, timed-out or unresponsive attempt
 * requeues the rollout while the status is in `retry_condition` and attempts remain
 * (`sequence_id < max_attempts`); otherwise the rollout fails.
 */
export function rolloutStatusFromAttempt(
  status: AttemptStatus,
  sequenceId: number,
  config: RolloutConfig,
): RolloutStatus {
  switch (status) {
    case 'preparing':
    case 'running':
    case 'succeeded':
      return status;
    case 'failed':
    case 'timeout':
    case 'unresponsive':
      return config.retry_condition.includes(status) && sequenceId < config.max_attempts
        ? 'requeuing'
        : 'failed';
  }
}

/** A finished rollout gets its end time when it reaches a final status (and keeps the first). */
export function withRolloutStatus(rollout: Rollout, status: RolloutStatus, now: number): Rollout {
  const next = { ...rollout, status };
  if (isFinished(status)) next.end_time = now;
  return next;
}

/** A span is a heartbeat: it records the time and wakes a preparing or unresponsive attempt. */
export function heartbeat(attempt: Attempt, now: number): Attempt {
  const status: AttemptStatus =
    attempt.status === 'preparing' || attempt.status === 'unresponsive' ? 'running' : attempt.status;
  return { ...attempt, status, last_heartbeat_time: now };
}

/** After a heartbeat on the latest attempt, a rollout that is not yet running starts running. */
export function rolloutAfterHeartbeat(rollout: Rollout): Rollout | null {
  return rollout.status === 'preparing' || isQueued(rollout.status)
    ? { ...rollout, status: 'running' }
    : null;
}

/** Attempt end times are set when the attempt succeeds or fails, as in Agent Lightning. */
export function attemptEndsWith(status: AttemptStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

/**
 * The watchdog's verdict on the latest attempt of an active rollout: `timeout` once the attempt
 * has run longer than `timeout_seconds`, `unresponsive` once no heartbeat (or, with none, no
 * start) was seen for `unresponsive_seconds`; null when it is healthy or already judged.
 */
export function watchdogVerdict(
  attempt: Attempt,
  config: RolloutConfig,
  now: number,
): 'timeout' | 'unresponsive' | null {
  if (attempt.status !== 'preparing' && attempt.status !== 'running') return null;
  if (config.timeout_seconds !== null && now - attempt.start_time > config.timeout_seconds) return 'timeout';
  const lastSign = attempt.last_heartbeat_time ?? attempt.start_time;
  if (config.unresponsive_seconds !== null && now - lastSign > config.unresponsive_seconds)
    return 'unresponsive';
  return null;
}

/** A worker's row after its attempt changed: busy while it runs, idle or unknown once it ends. */
export function workerAfterAttempt(worker: Worker, attempt: Attempt, now: number, dequeued: boolean): Worker {
  const next: Worker = { ...worker };
  if (dequeued) next.last_dequeue_time = now;
  if (attempt.status === 'succeeded' || attempt.status === 'failed') {
    Object.assign(next, {
      status: 'idle',
      last_idle_time: now,
      current_rollout_id: null,
      current_attempt_id: null,
    });
  } else if (attempt.status === 'timeout' || attempt.status === 'unresponsive') {
    Object.assign(next, {
      status: 'unknown',
      last_idle_time: now,
      current_rollout_id: null,
      current_attempt_id: null,
    });
  } else {
    Object.assign(next, {
      status: 'busy',
      last_busy_time: now,
      current_rollout_id: attempt.rollout_id,
      current_attempt_id: attempt.attempt_id,
    });
  }
  return next;
}

/** A worker that asked for work and found none. */
export function workerIdle(worker: Worker, now: number): Worker {
  return {
    ...worker,
    status: 'idle',
    last_idle_time: worker.status === 'idle' ? worker.last_idle_time : now,
    last_dequeue_time: now,
  };
}

export function blankWorker(workerId: string): Worker {
  return {
    worker_id: workerId,
    status: 'unknown',
    heartbeat_stats: null,
    last_heartbeat_time: null,
    last_dequeue_time: null,
    last_busy_time: null,
    last_idle_time: null,
    current_rollout_id: null,
    current_attempt_id: null,
  };
}

/** How far a record has progressed; sync imports never move a row backwards (see engine). */
export function rolloutRank(status: RolloutStatus): number {
  return isFinished(status) ? 2 : 1;
}
export function attemptRank(status: AttemptStatus): number {
  return status === 'succeeded' || status === 'failed' || status === 'timeout' ? 2 : 1;
}

/** The last time a worker was seen doing anything; the newer copy of a worker row wins a sync. */
export function workerActivity(worker: Worker): number {
  return Math.max(
    worker.last_heartbeat_time ?? Number.NEGATIVE_INFINITY,
    worker.last_dequeue_time ?? Number.NEGATIVE_INFINITY,
    worker.last_busy_time ?? Number.NEGATIVE_INFINITY,
    worker.last_idle_time ?? Number.NEGATIVE_INFINITY,
  );
}
