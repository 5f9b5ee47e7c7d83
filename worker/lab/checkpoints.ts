import { buildFeedbackPrompt } from '../../shared/agent/prompt';
import { loadSpeller } from '../../shared/agent/quality/spelling';
import { rewardFeedbackReply } from '../../shared/agent/reward';
import type { GovernancePipeline } from '../../shared/governance/types';
import {
  type BlobStorage,
  type Checkpoint,
  CheckpointError,
  checkpointFromFiles,
  checkpointToFiles,
  loadCheckpoint,
  saveCheckpoint,
} from '../../shared/policy/checkpoint';
import type { LightningStore } from '../../shared/store/store';
import { sendability } from '../../shared/train/sample-tap';
import { readTrainerState } from '../../shared/train/trainer-state';
import { checkpointReplyPolicy } from './agent';
import { ensureBackend } from './backend';
import type { ProtectedBlobs } from './protected-blobs';
import { datasetItems } from './dataset';
import type { CheckpointRecord, LabDatabase } from './lab-db';
import { type CheckpointRow, CompareRequest, type Comparison } from './protocol';
import { readTar, writeTar } from './tar';

// Checkpoints as the lab lists them: saved by training, imported from a bundle, or pulled by sync
// (a policy resource whose blobs arrived). Bundles are .tar archives of the checkpoint's files.

export async function listCheckpoints(db: LabDatabase): Promise<CheckpointRow[]> {
  return db.checkpoints.orderBy('createdAt').reverse().toArray();
}

export async function exportBundle(
  db: LabDatabase,
  blobs: BlobStorage,
  id: string,
): Promise<{ name: string; bytes: Uint8Array }> {
  const record = await db.checkpoints.get(id);
  if (!record) throw new Error(`no checkpoint ${id}`);
  const { files } = await checkpointToFiles(await loadCheckpoint(blobs, id));
  const name = `edgelight-${record.preset}-${record.algorithm}-step${record.step}-${id.slice(0, 10)}.tar`;
  return { name, bytes: writeTar(files, record.createdAt / 1000) };
}

export async function importBundle(
  db: LabDatabase,
  blobs: ProtectedBlobs,
  store: LightningStore,
  bytes: unknown,
): Promise<CheckpointRow> {
  if (!(bytes instanceof Uint8Array)) throw new Error('a bundle must be the bytes of a .tar file');
  let parsed: Awaited<ReturnType<typeof checkpointFromFiles>>;
  try {
    parsed = await checkpointFromFiles(readTar(bytes));
  } catch (error) {
    if (error instanceof CheckpointError || error instanceof Error)
      throw new Error(`not an edgelight checkpoint bundle: ${error.message}`);
    throw error;
  }
  const id = await saveCheckpoint(blobs, parsed.checkpoint);
  await blobs.protect(id);
  // Content-addressed: a bundle of a checkpoint already listed keeps its record (and its metrics).
  const existing = await db.checkpoints.get(id);
  if (existing) return existing;
  const record: CheckpointRecord = {
    id,
    createdAt: Date.now(),
    ...describeTraining(parsed.checkpoint),
    runId: null,
    metrics: {},
    source: 'imported',
  };
  await db.checkpoints.put(record);
  await store.addResources({
    policy: { resource_type: 'policy', checkpoint_id: id, metadata: { imported: true } },
  });
  return record;
}

/** Both checkpoints reply to the same test-split feedback with the same seed; each reply is scored. */
export async function compareCheckpoints(
  db: LabDatabase,
  blobs: BlobStorage,
  governance: GovernancePipeline,
  request: unknown,
): Promise<Comparison> {
  const { a, b, prompts, seed, maxNewTokens } = CompareRequest.parse(request);
  let items = await datasetItems(db, 'test');
  if (items.length === 0) items = await datasetItems(db);
  if (items.length === 0) throw new Error('the dataset is empty: generate one to have prompts to compare on');
  const tasks = items.slice(0, prompts);
  const verdicts = tasks.map((t) => governance.govern(t.text, 'feedback'));
  await Promise.all([ensureBackend('auto'), loadSpeller()]);
  const score = async (id: string) => {
    const policy = await checkpointReplyPolicy(blobs, id, maxNewTokens);
    // Each checkpoint gets the prompt format it was trained on (with or without the key-words line).
    const promptTexts = tasks.map((t, i) => buildFeedbackPrompt(t, verdicts[i], policy.promptFormat));
    const drafts = await policy.draft(promptTexts, 1, { seed });
    return drafts.map((group, i) => {
      const text = group[0]?.text ?? '';
      const verdict = governance.govern(text, 'response');
      const reward = rewardFeedbackReply(text, tasks[i], { feedback: verdicts[i], reply: verdict });
      const leaked = verdict.pii.length > 0;
      const stored = leaked || verdict.decision === 'block' ? verdict.redacted : text;
      return {
        text: stored,
        reward: reward.primary,
        terms: reward.terms,
        decision: verdict.decision,
        sendable: reward.quality.sendable,
        failedChecks: reward.quality.failed,
        // A finding quotes the reply: one that leaked PII keeps the checks' names only.
        findings: leaked ? [] : reward.quality.findings.map((f) => `${f.check}: ${f.detail}`),
      };
    });
  };
  const left = await score(a);
  const right = await score(b);
  const mean = (xs: { reward: number }[]) => xs.reduce((s, x) => s + x.reward, 0) / Math.max(1, xs.length);
  const [sendableA, sendableB] = [sendability(left), sendability(right)];
  return {
    a,
    b,
    rows: tasks.map((t, i) => ({
      taskId: t.id,
      feedback: verdicts[i].redacted,
      replies: [left[i], right[i]],
    })),
    mean: [mean(left), mean(right)],
    sendable: [sendableA.sendableRate ?? 0, sendableB.sendableRate ?? 0],
    failedChecks: [sendableA.failedChecks, sendableB.failedChecks],
  };
}

/**
 * Checkpoints that arrived by sync: a policy resource whose blobs are now local but which the lab
 * has not listed yet. Returns how many were added.
 */
export async function registerPulledCheckpoints(
  db: LabDatabase,
  blobs: ProtectedBlobs,
  store: LightningStore,
): Promise<number> {
  const known = new Set((await db.checkpoints.toCollection().primaryKeys()).map(String));
  const resources = await store.queryResources({ sort_by: 'update_time' });
  let added = 0;
  for (const update of resources.items) {
    for (const resource of Object.values(update.resources)) {
      if (resource.resource_type !== 'policy' || known.has(resource.checkpoint_id)) continue;
      if (!/^[0-9a-f]{64}$/.test(resource.checkpoint_id) || !(await blobs.get(resource.checkpoint_id)))
        continue;
      let checkpoint: Awaited<ReturnType<typeof loadCheckpoint>>;
      try {
        checkpoint = await loadCheckpoint(blobs, resource.checkpoint_id);
      } catch {
        continue; // an incomplete checkpoint (some blobs missing) is not listed
      }
      await blobs.protect(resource.checkpoint_id);
      const described = describeTraining(checkpoint);
      const step = Number(resource.metadata?.step ?? described.step);
      await db.checkpoints.put({
        id: resource.checkpoint_id,
        createdAt: update.update_time * 1000,
        ...described,
        step: Number.isFinite(step) ? step : 0,
        runId: null,
        metrics: {},
        source: 'pulled',
      });
      known.add(resource.checkpoint_id);
      added++;
    }
  }
  return added;
}

/**
 * How the lab lists a checkpoint: the run step, the model label (preset, `-copy` with a copy head; a
 * shape of its own otherwise) and the phase's algorithm, from its trainer state where it has one.
 */
function describeTraining(checkpoint: Checkpoint): { step: number; preset: string; algorithm: string } {
  const config = checkpoint.config as { nLayer?: number; nEmbd?: number; copy?: boolean };
  const shape = `custom (${config.nLayer ?? '?'}×${config.nEmbd ?? '?'})`;
  let state: ReturnType<typeof readTrainerState> | null = null;
  try {
    state = checkpoint.trainer ? readTrainerState(checkpoint.trainer) : null;
  } catch {
    state = null; // listed all the same, without its training details
  }
  if (!state) return { step: 0, preset: shape, algorithm: 'unknown' };
  const preset = state.config ? `${state.config.preset}${config.copy ? '-copy' : ''}` : shape;
  return { step: state.offset + state.step, preset, algorithm: state.phase };
}
