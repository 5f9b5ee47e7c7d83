// `edgelight train`: flags, files and printing around the one trainer session. Every setting and its
// --help line come from TrainConfig (shared/train/config.ts); this file adds only where things are
// (data, run folder, server) and how progress looks in a terminal.
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import {
  flagName,
  isPreference,
  isRl,
  resolveTrainConfig,
  type TrainConfigInput,
  TrainConfigSchema,
  trainSettings,
} from '../../shared/train/config';
import type { StepRecord } from '../../shared/train/session';
import { TrainSetupError } from '../../shared/train/session';
import { HttpLightningStore } from '../../shared/store/http';
import type { LightningStore } from '../../shared/store/store';
import { type BlobStorage, CHECKPOINT_ID, loadCheckpoint } from '../../shared/policy/checkpoint';
import { HubHttpError, HubIntegrityError } from '../../shared/hf/hub';
import { readServedRemote } from '../../shared/sync/promotion';
import { HttpBlobStorage } from '../../shared/sync/remote';
import { DirectoryBlobStorage } from '../checkpoints/directory';
import { createNodeFetch } from '../node-fetch';
import { readServed } from '../serving/served';
import { openSqliteStore } from '../store/sqlite';
import { type CheckpointFinder, folderCheckpoints, trainInFolder } from '../train/run-folder';
import { dataLayout } from './data-dir';
import { CliUsageError, parseCommandArgs, readFlagFile } from './args';
import { downloadToCache, hubSettings } from './hf';
import { formatDuration } from './progress';

/** Where things are: the command line's own options, beside the TrainConfig settings. */
const PLACES = {
  config: {
    type: 'string',
    help: 'a JSON file of settings (camelCase, as --print-config prints); flags override it',
  },
  data: {
    type: 'string',
    help: 'sft: JSON Lines of {prompt, reply} or {prompt, completion} (edgelight data reviews’ sft.jsonl); grpo/rloo: JSON Lines of {id, text, category?} (default: the seeded synthetic train split and its SFT corpus); dpo: {prompt, chosen, rejected}; kto: {prompt, completion, label} (required for both)',
  },
  base: {
    type: 'string',
    help: 'a Hugging Face model to start from, weights only (as init): a model folder, or a Hub repo id REPO[@REVISION] downloaded into the Hub cache first (HF_ENDPOINT, HF_TOKEN and EDGELIGHT_HUB_CACHE as for edgelight hf); GPT-2, Llama and Qwen2 architectures',
  },
  out: { type: 'string', help: 'run folder (default .edgelight/runs/<algo>-<preset or base>)' },
  server: {
    type: 'string',
    help: "grpo / rloo: use an edgelight server's store and blob folder (e.g. http://127.0.0.1:8787), so rollouts, spans and every published policy version land there",
  },
  token: { type: 'string', help: 'bearer token for --server (default: EDGELIGHT_TOKEN)' },
  'server-data': {
    type: 'string',
    help: "grpo / rloo: a server's data folder (serve --data DIR) used in place, its store.sqlite and blobs/, instead of a store in memory (--recorded reads the rollouts recorded there); dpo / kto: where --init served (or a checkpoint id) is found",
  },
  'print-config': { type: 'boolean', help: 'print the resolved settings as JSON and exit' },
  help: { type: 'boolean', short: 'h', help: 'this text' },
} as const;

const SETTINGS = trainSettings();

const OPTIONS = {
  ...Object.fromEntries(
    SETTINGS.map((s) => [flagName(s.key), { type: s.kind === 'boolean' ? 'boolean' : 'string' } as const]),
  ),
  ...Object.fromEntries(
    Object.entries(PLACES).map(([name, o]) => [
      name,
      { type: o.type, ...('short' in o ? { short: o.short } : {}) } as const,
    ]),
  ),
} as Record<string, { type: 'string' | 'boolean'; short?: string }>;

function helpText(): string {
  const line = (flag: string, text: string) => {
    const head = `  --${flag}`;
    return head.length < 18 ? `${head.padEnd(18)}${text}` : `${head}\n${' '.repeat(18)}${text}`;
  };
  const settings = SETTINGS.map((s) => {
    const values = s.values ? ` (${s.values.join('|')})` : '';
    const fallback = s.default !== undefined ? ` [default ${s.default}]` : '';
    return line(flagName(s.key), `${s.description}${values}${fallback}`);
  });
  const places = Object.entries(PLACES).map(([name, o]) => line(name, o.help));
  return `usage: edgelight train --algo sft|grpo|rloo|dpo|kto (--steps N | --minutes M) [settings] [--data FILE] [--out DIR]

Trains the reply policy and writes checkpoints (safetensors + config.json + tokenizer.json, optimizer
and trainer state for an exact resume) to DIR/step-NNNNNN/, DIR/latest naming the newest, with
DIR/train_config.json (the resolved settings) and DIR/metrics.jsonl (one JSON object per step).

Settings (the same TrainConfig as the lab's Train page and server jobs' bodies, camelCase there):
${settings.join('\n')}

Where things are:
${places.join('\n')}`;
}

/** Flags (and --config's file) as TrainConfig input: numbers coerced, unknown keys refused. */
async function configInput(values: Record<string, string | boolean | undefined>): Promise<TrainConfigInput> {
  let base: Record<string, unknown> = {};
  if (typeof values.config === 'string') {
    const text = await readFlagFile('--config', values.config);
    try {
      base = z.record(z.string(), z.unknown()).parse(JSON.parse(text));
    } catch {
      throw new CliUsageError(`--config ${values.config} must hold one JSON object of settings`);
    }
  }
  const given: Record<string, unknown> = {};
  const raw: Record<string, string> = {};
  for (const s of SETTINGS) {
    const value = values[flagName(s.key)];
    if (value === undefined) continue;
    raw[s.key] = String(value);
    if ((s.kind === 'integer' || s.kind === 'number') && typeof value === 'string')
      given[s.key] = value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
    else given[s.key] = value;
  }
  const input = { ...base, ...given };
  const checked = TrainConfigSchema.safeParse(input);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const key = String(issue.path[0] ?? '');
    if (issue.code === 'unrecognized_keys')
      throw new CliUsageError(
        `--config ${values.config}: unknown setting ${issue.keys.map((k) => `'${k}'`).join(', ')}`,
      );
    if (key && issue.code !== 'custom') {
      const got = key in raw ? `'${raw[key]}'` : JSON.stringify(input[key]);
      throw new CliUsageError(`--${flagName(key)} must be ${issue.message}, got ${got}`);
    }
    throw new CliUsageError(issue.message);
  }
  return input as TrainConfigInput;
}

/** One progress line: step, reward, sendable and violation rates, KL, loss, tokens/s, ETA. */
function progressLine(r: StepRecord, total: number | undefined, etaSeconds: number) {
  const parts = [`step ${r.runStep}${total !== undefined ? `/${total}` : ''}`];
  if (r.rewardMean !== undefined)
    parts.push(`reward ${r.rewardMean.toFixed(3)}±${(r.rewardStd ?? 0).toFixed(3)}`);
  if (r.sendableRate !== undefined) parts.push(`sendable ${(100 * r.sendableRate).toFixed(1)}%`);
  if (r.violationRate !== undefined) parts.push(`viol ${(100 * r.violationRate).toFixed(1)}%`);
  // DPO has no KL figure of its own (its β·log-ratios are the rewards below); KTO's kl is its z₀.
  if (r.algo !== 'dpo') parts.push(`kl ${(r.kl ?? 0).toFixed(4)}`);
  parts.push(`loss ${r.loss.toFixed(4)}`, `lr ${r.lr.toExponential(2)}`);
  // DPO / KTO: the implicit rewards β·log π/π_ref of the chosen (desirable) and rejected replies.
  const reward = (key: 'rewards/chosen' | 'rewards/rejected' | 'rewards/margins', name: string) => {
    const value = r[key];
    if (value !== undefined) parts.push(`${name} ${value.toFixed(4)}`);
  };
  reward('rewards/chosen', 'chosen');
  reward('rewards/rejected', 'rejected');
  reward('rewards/margins', 'margin');
  if (r['rewards/accuracies'] !== undefined) parts.push(`acc ${(100 * r['rewards/accuracies']).toFixed(1)}%`);
  // Where an RL step's time goes: drafting the replies (rollouts, reward, reference) vs the update.
  if (r.samplingSeconds !== undefined)
    parts.push(`time ${r.seconds.toFixed(1)}s (sampling ${r.samplingSeconds.toFixed(1)}s)`);
  parts.push(`tok/s ${Math.round(r.tokensPerSecond)}`, `eta ${formatDuration(etaSeconds)}`);
  return parts.join('  ');
}

export interface TrainRunOptions {
  /**
   * Ends the run after the current step, with a final checkpoint. Without one, Ctrl-C / SIGTERM does
   * the same from a terminal; a second Ctrl-C quits at once.
   */
  signal?: AbortSignal;
}

export async function run(argv: string[], options: TrainRunOptions = {}): Promise<number> {
  const { values } = parseCommandArgs(argv, OPTIONS);
  if (values.help) {
    console.log(helpText());
    return 0;
  }
  const input = await configInput(values);
  const base = values.base as string | undefined;
  if (base !== undefined) {
    if (input.init !== undefined) throw new CliUsageError('give --base or --init, not both');
    input.init = await baseModelFolder(base);
  }
  if (values['print-config']) {
    console.log(JSON.stringify(resolveTrainConfig(input), null, 2));
    return 0;
  }
  const rl = isRl(input.algo);
  const server = values.server as string | undefined;
  if (server !== undefined) {
    if (!rl) throw new CliUsageError('--server is for grpo / rloo (sft, dpo and kto read no store)');
    if (!/^https?:\/\/[^\s/]+/.test(server))
      throw new CliUsageError(`--server must be an http(s) URL, got '${server}'`);
  }
  const serverData = values['server-data'] as string | undefined;
  if (serverData !== undefined && server !== undefined)
    throw new CliUsageError('give --server or --server-data, not both');
  if (serverData !== undefined && !rl && !isPreference(input.algo))
    throw new CliUsageError('--server-data is for grpo / rloo / dpo / kto');
  const remote = server
    ? {
        baseUrl: server,
        token: (values.token as string | undefined) ?? process.env.EDGELIGHT_TOKEN,
        fetch: createNodeFetch(),
      }
    : null;
  if (remote) {
    // Fail before any work (and without a stack trace) when the server is unreachable or refuses us.
    try {
      await new HttpLightningStore({ ...remote, retryDelaysMs: [200, 500] }).getLatestResources();
    } catch (error) {
      throw new CliUsageError(`--server ${server}: ${(error as Error).message}`);
    }
  }
  // A store (and its blobs) to read recorded rollouts from, and where `init` may name a checkpoint by id
  // or as 'served'.
  let local: { store: ReturnType<typeof openSqliteStore>; blobs: BlobStorage } | null = null;
  if (serverData !== undefined) {
    const layout = dataLayout(serverData);
    try {
      local = { store: openSqliteStore(layout.store), blobs: new DirectoryBlobStorage(layout.blobs) };
    } catch (error) {
      throw new CliUsageError(`--server-data ${serverData}: ${(error as Error).message}`);
    }
  }
  const storeCheckpoints = remote
    ? {
        blobs: new HttpBlobStorage(remote) as BlobStorage,
        served: async () => {
          const body = (await readServedRemote(remote)) as { served?: { checkpointId?: string } };
          return body.served?.checkpointId ?? null;
        },
      }
    : local
      ? { blobs: local.blobs, served: async () => (await readServed(local.store))?.checkpointId ?? null }
      : null;
  const store: LightningStore | undefined = remote ? new HttpLightningStore(remote) : local?.store;
  const out =
    (values.out as string | undefined) ??
    join(
      '.edgelight',
      'runs',
      `${input.algo}-${base ? basename(base.split('@')[0]) : (input.preset ?? 'tiny')}`,
    );

  const startedAt = Date.now();
  const interrupt = options.signal ? null : interruptOnSignals();
  let total: number | undefined;
  let firstStep = 0;
  let deadline: number | undefined;
  let logEvery = 1;
  try {
    const result = await trainInFolder({
      input,
      out,
      data: values.data as string | undefined,
      // A recorded reference is looked for among this run's steps and those of the run init came from.
      checkpoints: withStoreCheckpoints(
        folderCheckpoints([out, ...(input.init ? [input.init, dirname(input.init)] : [])]),
        storeCheckpoints,
      ),
      ...(store ? { store } : {}),
      ...(remote ? { publish: new HttpBlobStorage(remote) } : local ? { publish: local.blobs } : {}),
      signal: options.signal ?? interrupt?.signal,
      log: (line) => console.error(line),
      onOpen: (session) => {
        total = session.totalSteps;
        firstStep = session.position.runStep;
        logEvery = session.config.logEvery;
        deadline =
          session.config.minutes !== undefined ? startedAt + session.config.minutes * 60_000 : undefined;
      },
      onEvent: (event) => {
        if (event.type === 'info') console.error(event.message);
        else if (event.type === 'phase' && event.runStep > firstStep)
          console.error(`phase ${event.phase} from step ${event.runStep}`);
        else if (event.type === 'step') {
          const r = event.record;
          if (r.runStep % logEvery !== 0 && !(total !== undefined && r.runStep >= total)) return;
          const perStep = (Date.now() - startedAt) / 1000 / Math.max(1, r.runStep - firstStep);
          const bySteps = total !== undefined ? (total - r.runStep) * perStep : Number.POSITIVE_INFINITY;
          const byClock = deadline !== undefined ? (deadline - Date.now()) / 1000 : Number.POSITIVE_INFINITY;
          console.log(progressLine(r, total, Math.max(0, Math.min(bySteps, byClock))));
        }
      },
    });
    const stopped = result.reason === 'aborted' ? ' (stopped)' : '';
    console.error(
      `done${stopped}: ${result.runStep - result.startStep} steps in ${formatDuration((Date.now() - startedAt) / 1000)}`,
    );
    return 0;
  } catch (error) {
    // What was asked cannot be done (a mismatched resume, a bad data file): one line, exit 2.
    if (error instanceof TrainSetupError) throw new CliUsageError(error.message);
    throw error;
  } finally {
    interrupt?.dispose();
    await local?.store.close();
  }
}

/**
 * With a server (or its data folder), `--init` may also name a checkpoint of its blob folder: by id, or
 * `served` for the one it serves (the policy whose tokenizer recorded its chat completions).
 */
function withStoreCheckpoints(
  folders: CheckpointFinder,
  where: { blobs: BlobStorage; served: () => Promise<string | null> } | null,
): CheckpointFinder {
  if (!where) return folders;
  return async (ref) => {
    if (typeof ref === 'string' && (ref === 'served' || CHECKPOINT_ID.test(ref))) {
      const id = ref === 'served' ? await where.served() : ref;
      if (!id) throw new TrainSetupError('init served: the server serves no policy yet');
      return { id, checkpoint: await loadCheckpoint(where.blobs, id) };
    }
    if (typeof ref !== 'string' && ref.checkpointId && !ref.path)
      return { id: ref.checkpointId, checkpoint: await loadCheckpoint(where.blobs, ref.checkpointId) };
    return folders(ref);
  };
}

/** `--base`: a model folder as it is, or a Hub repo id downloaded into the cache (its folder). */
async function baseModelFolder(base: string): Promise<string> {
  if (
    await stat(base).then(
      (s) => s.isDirectory(),
      () => false,
    )
  )
    return base;
  const match = /^([\w.-]+\/[\w.-]+)(?:@([\w./-]+))?$/.exec(base);
  if (!match)
    throw new CliUsageError(`--base ${base}: no such folder, and not a Hub repo id (owner/name[@revision])`);
  const [, repo, revision] = match;
  const { hub, cache } = hubSettings(revision ? { revision } : {});
  console.error(`base: ${repo}@${hub.revision} from ${hub.endpoint} (cache ${cache.root})`);
  try {
    return (await downloadToCache(repo, hub, cache)).folder;
  } catch (error) {
    if (error instanceof HubHttpError || error instanceof HubIntegrityError)
      throw new CliUsageError(`--base ${base}: ${error.message}`);
    throw error;
  }
}

/** SIGINT/SIGTERM → abort after the current step; a second signal exits at once. */
function interruptOnSignals(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    console.error(`${name}: stopping after this step and saving a checkpoint (again to quit now)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
