// `edgelight promote`: asks a running server to make a checkpoint the served policy, through its gate
// (server/serving/promote.ts), and prints the gate's figures. The server does the work; this is a client.
import { CHECKPOINT_ID } from '../../shared/policy/checkpoint';
import {
  type GateResult,
  PromotionError,
  promoteRemote,
  readServedRemote,
} from '../../shared/sync/promotion';
import { createNodeFetch } from '../node-fetch';
import { CliUsageError, parseCommandArgs } from './args';

const HELP = `usage: edgelight promote --server URL --checkpoint ID [--override-reason TEXT] [--token T]
       edgelight promote --server URL --show

Promotes a checkpoint (already in the server's blob folder: train there, upload or sync it) to the
policy the server serves. The server evaluates it and the served policy on its held-out set and
refuses it when its violation rate rises or its mean reward falls past the gate's margins
(docs/promotion.md). Prints the promotion as JSON on stdout and the figures in words on stderr.
Exit 0 promoted, 1 refused or failed, 2 a usage mistake.
  --server           the edgelight server, e.g. http://127.0.0.1:8787
  --token            bearer token (default: EDGELIGHT_TOKEN)
  --checkpoint       the checkpoint id (64 hex digits)
  --override-reason  promote even if the gate refuses; the reason is recorded with the figures
  --by               who asks (recorded; default: $USER)
  --show             print the served checkpoint and the promotion history instead`;

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

/** The gate in two lines: each policy's reward and violation rate, and the verdict. */
export function gateSummary(gate: GateResult): string {
  const line = (name: string, f: GateResult['candidate']) =>
    `${name} ${f.checkpoint_id.slice(0, 12)}: reward ${f.reward_mean.toFixed(3)} · violations ${pct(f.violation_rate)} · sendable ${pct(f.sendable_rate)} (${f.replies} replies)`;
  return [
    line('candidate', gate.candidate),
    line('served   ', gate.served),
    gate.passed
      ? `gate passed (margins: violation rise ${pct(gate.margins.max_violation_rise)}, reward drop ${gate.margins.max_reward_drop}) in ${gate.seconds.toFixed(1)} s`
      : `gate refused: ${gate.reasons.join('; ')}`,
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    server: { type: 'string' },
    token: { type: 'string' },
    checkpoint: { type: 'string' },
    'override-reason': { type: 'string' },
    by: { type: 'string' },
    show: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.server) throw new CliUsageError('--server URL is required');
  if (!/^https?:\/\/[^\s/]+/.test(values.server))
    throw new CliUsageError(`--server must be an http(s) URL, got '${values.server}'`);
  const client = {
    baseUrl: values.server,
    token: values.token ?? process.env.EDGELIGHT_TOKEN,
    fetch: createNodeFetch(),
  };
  if (values.show) {
    const served = await readServedRemote(client).catch((error: Error) => {
      throw new CliUsageError(`--server ${values.server}: ${error.message}`);
    });
    console.log(JSON.stringify(served, null, 2));
    return 0;
  }
  if (!values.checkpoint) throw new CliUsageError('--checkpoint ID is required (or --show)');
  if (!CHECKPOINT_ID.test(values.checkpoint))
    throw new CliUsageError(
      `--checkpoint must be a checkpoint id (64 lowercase hex), got '${values.checkpoint}'`,
    );
  const reason = values['override-reason'];
  if (reason !== undefined && reason.trim() === '')
    throw new CliUsageError('--override-reason needs a reason');
  try {
    const promotion = await promoteRemote(
      client,
      {
        checkpoint_id: values.checkpoint,
        ...(reason ? { override: { reason } } : {}),
        requested_by: values.by ?? process.env.USER ?? 'edgelight promote',
      },
      () => console.error('the gate is still evaluating…'),
    );
    console.log(JSON.stringify(promotion));
    if (promotion.gate) console.error(gateSummary(promotion.gate));
    console.error(`promoted: ${promotion.checkpoint_id} is served${promotion.override ? ' (override)' : ''}`);
    return 0;
  } catch (error) {
    if (!(error instanceof PromotionError)) unreachable(values.server)(error);
    const refusal = error as PromotionError;
    if (refusal.promotion) console.log(JSON.stringify(refusal.promotion));
    if (refusal.promotion?.gate) console.error(gateSummary(refusal.promotion.gate));
    console.error(`edgelight promote: ${refusal.message}`);
    return 1;
  }
}

/** A connection failure as a usage error (one line), anything else rethrown. */
function unreachable(server: string) {
  return (error: unknown): never => {
    if (error instanceof PromotionError) throw error;
    throw new CliUsageError(`--server ${server}: ${(error as Error).message}`);
  };
}
