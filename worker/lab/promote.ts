// The Checkpoints page's "Promote to served": the lab asks the server its Sync settings name to run
// the promotion gate (server/serving/promote.ts) on a checkpoint the server has, and reports the gate's
// figures whether it promoted or refused. The server does the evaluating; this is its client.
import {
  PromotionError,
  type PromotionRecord,
  promoteRemote,
  readServedRemote,
} from '../../shared/sync/promotion';
import { PromoteCheckpointRequest, type PromotionOutcome, type SyncSettings } from './protocol';

function serverOf(settings: SyncSettings) {
  if (!settings.url) throw new Error('set a server URL on the Sync page first: the server runs the gate');
  return { baseUrl: settings.url, token: settings.token || undefined };
}

/**
 * Promotes a checkpoint on the server: `promoted` or `refused` with the gate's figures, `failed` with
 * the server's message (an unknown checkpoint: sync it first). Never throws for an answer the server
 * gave, so the page can show a refusal's figures beside its reason.
 */
export async function promoteCheckpoint(
  settings: SyncSettings,
  input: unknown,
  requestedBy: string,
): Promise<PromotionOutcome> {
  const request = PromoteCheckpointRequest.parse(input);
  const server = serverOf(settings);
  try {
    const promotion = await promoteRemote(server, {
      checkpoint_id: request.checkpointId,
      ...(request.overrideReason ? { override: { reason: request.overrideReason } } : {}),
      requested_by: requestedBy,
    });
    return { status: 'promoted', message: `${request.checkpointId.slice(0, 10)}… is served now`, promotion };
  } catch (error) {
    if (!(error instanceof PromotionError)) throw error;
    const promotion: PromotionRecord | null = error.promotion;
    const refused = error.status === 409 && promotion?.status === 'refused';
    return {
      status: refused ? 'refused' : 'failed',
      message: refused
        ? `the gate refused it: ${promotion?.gate?.reasons.join('; ')}. Tick “Override a refusal” and give a reason to promote it anyway.`
        : error.status === 404
          ? `the server does not have this checkpoint: sync first (${error.message})`
          : error.message,
      promotion,
    };
  }
}

/** The checkpoint the server serves now, or null when no server is set. */
export async function servedCheckpoint(settings: SyncSettings): Promise<string | null> {
  if (!settings.url) return null;
  const body = (await readServedRemote(serverOf(settings))) as { served?: { checkpointId?: string } };
  return body.served?.checkpointId ?? null;
}
