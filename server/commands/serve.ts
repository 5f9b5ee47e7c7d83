import { serve } from '@hono/node-server';
import { mkdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppConfigError, assertSafeOptions, createApp } from '../app';
import { BlobStore } from '../blobs/blob-store';
import { isLoopbackHost } from '../middleware/auth';
import { allowedHostName } from '../middleware/origin';
import { KEEP_ALIVE_TIMEOUT_MS } from '../listen';
import { mountWebApp } from '../static';
import { TrainJobConfig } from '../jobs/config';
import { TrainJobManager } from '../jobs/manager';
import { workerThreadRunner } from '../jobs/worker-runner';
import { openSqliteStore } from '../store/sqlite';
import type { LightningStore } from '../../shared/store/store';
import { CliUsageError, parseCommandArgs } from './args';
import { OWNER_ONLY_DIR } from '../write-file-atomic';
import { DEFAULT_MAX_JOB_MEMORY_BYTES, DEFAULT_MAX_JOB_PARAMETERS } from '../jobs/estimate';
import { DEFAULT_DATA_DIR, dataLayout } from './data-dir';
import { openChatServing } from '../serving/chat';
import { DEFAULT_RETRY_POLICY } from '../review/outbox';
import { ReviewService } from '../review/service';
import type { WebhookConfig } from '../review/webhook';
import { DirectoryBlobStorage } from '../checkpoints/directory';
import { DEFAULT_GATE_SETTINGS, PromotionManager } from '../serving/promote';
import { readServed } from '../serving/served';
import { DEFAULT_DRAFT_GROUP, DEFAULT_DRAFT_MAX_TOKENS, FeedbackDrafter } from '../intake/drafter';
import { DEFAULT_INTAKE_LIMITS, FeedbackIntake } from '../intake/intake';
import { IntakeKeyError, parseIntakeFlags } from '../intake/keys';
import { createGovernancePipeline } from '../../shared/governance';

const HELP = `usage: edgelight serve [--port 8787] [--host 127.0.0.1] [--data DIR] [--token T] [options]

Serves the edgelight API (Agent Lightning v0.3 store under /v1/agl, sync, blobs, training jobs,
the served policy over OpenAI's API at /v1/chat/completions: docs/serving.md)
and the built web app.
  --port          TCP port (0 picks a free one; default 8787)
  --host          interface to bind (default 127.0.0.1); a non-loopback host needs a token
  --data          data folder: store.sqlite + blobs/ (default ./.edgelight)
  --token         bearer token every API route but health requires (or EDGELIGHT_TOKEN)
  --cors          comma-separated origins allowed to call the API from a browser ('*' for any: needs a token)
  --allowed-host  a Host name the API answers besides loopback ones and the bound address (repeatable)
  --max-body-mb   largest JSON request body in MiB (default 16)
  --max-blob-mb   largest blob (checkpoint) in MiB (default 512)
  --rate-limit    requests per second per client address (default 10000; 0 disables)
  --access-log    on (one JSON line per request on stderr; default) or off
  --max-job-params     largest new policy a training job may create, in parameters (default 100000000)
  --max-job-memory-mb  largest estimated memory of a training job, in MiB (default 4096)
  --web           built web app folder (default dist/web of this package)
  --webhook-url   where approved replies are POSTed (HMAC-signed JSON; docs/review.md); needs a secret
  --webhook-secret  the webhook's signing secret, 16+ characters (or EDGELIGHT_WEBHOOK_SECRET)
  --webhook-max-attempts  tries per delivery before it is failed (default 12; waits double from 1 s, jittered, at most 1 h)
  --gate-items    held-out feedback items the promotion gate drafts for, per policy (default ${DEFAULT_GATE_SETTINGS.items})
  --gate-max-violation-rise  refuse a promotion whose violation rate rises by more than this share (default ${DEFAULT_GATE_SETTINGS.maxViolationRise})
  --gate-max-reward-drop     refuse a promotion whose mean reward falls by more than this (default ${DEFAULT_GATE_SETTINGS.maxRewardDrop})
Public feedback intake (docs/intake.md): POST /v1/feedback and GET /widget.js exist only with a key.
  --intake-key    NAME=KEY (or NAME=@FILE to read the key from a file), 16+ characters; repeatable.
                  A publishable key a website posts feedback with instead of the token; it opens nothing else
  --intake-origin NAME=ORIGIN[,ORIGIN]: browser origins that may post with key NAME (repeatable; none:
                  server-side posts only)
  --intake-rate   posts per second per client address and key (default ${DEFAULT_INTAKE_LIMITS.perSecond}); --intake-burst (default ${DEFAULT_INTAKE_LIMITS.burst})
  --intake-backlog  items accepted but not yet drafted past which posts get 429 + Retry-After (default ${DEFAULT_INTAKE_LIMITS.maxBacklog})
  --drafting      on (the served policy drafts replies for each item in the background; default) or off
  --draft-group   replies drafted per item (default ${DEFAULT_DRAFT_GROUP})
  --draft-max-tokens  longest drafted reply in tokens (default ${DEFAULT_DRAFT_MAX_TOKENS})`;

const defaultWebRoot = fileURLToPath(new URL('../../dist/web', import.meta.url));

function positiveNumber(flag: string, value: string, allowZero = false): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0))
    throw new CliUsageError(
      `--${flag} must be a ${allowZero ? 'non-negative' : 'positive'} number, got '${value}'`,
    );
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    port: { type: 'string', default: '8787' },
    host: { type: 'string', default: '127.0.0.1' },
    data: { type: 'string', default: DEFAULT_DATA_DIR },
    token: { type: 'string' },
    cors: { type: 'string' },
    'allowed-host': { type: 'string', multiple: true },
    'max-body-mb': { type: 'string', default: '16' },
    'max-blob-mb': { type: 'string', default: '512' },
    'rate-limit': { type: 'string', default: '10000' },
    'access-log': { type: 'string', default: 'on' },
    'max-job-params': { type: 'string', default: String(DEFAULT_MAX_JOB_PARAMETERS) },
    'max-job-memory-mb': { type: 'string', default: String(DEFAULT_MAX_JOB_MEMORY_BYTES / 1024 ** 2) },
    web: { type: 'string' },
    'webhook-url': { type: 'string' },
    'webhook-secret': { type: 'string' },
    'webhook-max-attempts': { type: 'string', default: String(DEFAULT_RETRY_POLICY.maxAttempts) },
    'gate-items': { type: 'string', default: String(DEFAULT_GATE_SETTINGS.items) },
    'gate-max-violation-rise': { type: 'string', default: String(DEFAULT_GATE_SETTINGS.maxViolationRise) },
    'gate-max-reward-drop': { type: 'string', default: String(DEFAULT_GATE_SETTINGS.maxRewardDrop) },
    'intake-key': { type: 'string', multiple: true },
    'intake-origin': { type: 'string', multiple: true },
    'intake-rate': { type: 'string', default: String(DEFAULT_INTAKE_LIMITS.perSecond) },
    'intake-burst': { type: 'string', default: String(DEFAULT_INTAKE_LIMITS.burst) },
    'intake-backlog': { type: 'string', default: String(DEFAULT_INTAKE_LIMITS.maxBacklog) },
    drafting: { type: 'string', default: 'on' },
    'draft-group': { type: 'string', default: String(DEFAULT_DRAFT_GROUP) },
    'draft-max-tokens': { type: 'string', default: String(DEFAULT_DRAFT_MAX_TOKENS) },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliUsageError(`--port must be 0..65535, got '${values.port}'`);
  const token = values.token ?? process.env.EDGELIGHT_TOKEN ?? undefined;
  if (token !== undefined && token.length < 8)
    throw new CliUsageError('--token must be at least 8 characters');
  if (!token && !isLoopbackHost(values.host)) {
    throw new CliUsageError(
      `refusing to bind ${values.host} without a token: anyone on the network could read and write the store. ` +
        'Pass --token T (or set EDGELIGHT_TOKEN), or bind 127.0.0.1.',
    );
  }
  const maxJsonBytes = Math.floor(positiveNumber('max-body-mb', values['max-body-mb']) * 1024 * 1024);
  const maxBlobBytes = Math.floor(positiveNumber('max-blob-mb', values['max-blob-mb']) * 1024 * 1024);
  const rateLimitPerSecond = positiveNumber('rate-limit', values['rate-limit'], true);
  if (values['access-log'] !== 'on' && values['access-log'] !== 'off')
    throw new CliUsageError(`--access-log must be on or off, got '${values['access-log']}'`);
  const jobLimits = {
    maxParameters: positiveNumber('max-job-params', values['max-job-params']),
    maxMemoryBytes: positiveNumber('max-job-memory-mb', values['max-job-memory-mb']) * 1024 ** 2,
  };
  const gateItems = positiveNumber('gate-items', values['gate-items']);
  if (!Number.isInteger(gateItems))
    throw new CliUsageError(`--gate-items must be a positive integer, got '${values['gate-items']}'`);
  const gate = {
    items: gateItems,
    maxViolationRise: positiveNumber('gate-max-violation-rise', values['gate-max-violation-rise'], true),
    maxRewardDrop: positiveNumber('gate-max-reward-drop', values['gate-max-reward-drop'], true),
  };
  const corsOrigins = values.cors
    ? values.cors
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean)
    : [];
  try {
    assertSafeOptions({ corsOrigins, token });
  } catch (error) {
    if (error instanceof AppConfigError) throw new CliUsageError(error.message);
    throw error;
  }
  const allowedHosts = hostsToAnswer(values.host, values['allowed-host'] ?? []);
  const webhook = webhookFromFlags(values);
  const webhookMaxAttempts = positiveNumber('webhook-max-attempts', values['webhook-max-attempts']);
  if (!Number.isInteger(webhookMaxAttempts))
    throw new CliUsageError(
      `--webhook-max-attempts must be a positive integer, got '${values['webhook-max-attempts']}'`,
    );

  const intakeFlags = intakeFromFlags(values);

  const dataDir = resolve(values.data);
  const layout = dataLayout(dataDir);
  let store: ReturnType<typeof openSqliteStore>;
  let review: ReviewService;
  const blobs = new BlobStore(layout.blobs, maxBlobBytes);
  try {
    mkdirSync(dataDir, { recursive: true, mode: OWNER_ONLY_DIR });
    await blobs.init();
    store = openSqliteStore(layout.store);
    review = new ReviewService({
      store,
      path: layout.review,
      webhook,
      retry: { maxAttempts: webhookMaxAttempts },
      log: (message) => console.error(message),
    });
  } catch (error) {
    throw new CliUsageError(`cannot use --data ${dataDir}: ${(error as Error).message}`);
  }

  const jobs = new TrainJobManager({
    store,
    runner: workerThreadRunner(new URL('../jobs/train-worker.ts', import.meta.url), {
      data: async () => ({
        runsDir: layout.runs,
        blobsDir: layout.blobs,
        latestCheckpointId: await latestPolicyCheckpoint(store),
        servedCheckpointId: (await readServed(store))?.checkpointId ?? null,
        storePath: layout.store,
      }),
    }),
  });

  const promotions = new PromotionManager({
    store,
    blobs: new DirectoryBlobStorage(layout.blobs),
    settings: gate,
    log: (message) => console.error(message),
  });

  // A fresh server promotes the starter policy, so `model: "served"` always resolves.
  const serving = await openChatServing(store, layout.blobs, (message) => console.error(message));

  // The public intake, drafting with the policy the chat routes serve (one loaded copy, one queue).
  let drafter: FeedbackDrafter | null = null;
  let intake: FeedbackIntake | undefined;
  if (intakeFlags) {
    const governance = createGovernancePipeline();
    const checkpoints = new DirectoryBlobStorage(layout.blobs);
    if (intakeFlags.drafting)
      drafter = new FeedbackDrafter({
        store,
        checkpoints,
        governance,
        policies: serving.policies,
        group: intakeFlags.group,
        maxTokens: intakeFlags.maxTokens,
        log: (message) => console.error(message),
      });
    intake = await FeedbackIntake.open({
      store,
      checkpoints,
      governance,
      drafter,
      keys: intakeFlags.keys,
      limits: intakeFlags.limits,
    });
  }

  const app = createApp({
    intake,
    token,
    corsOrigins,
    allowedHosts,
    maxJsonBytes,
    rateLimitPerSecond,
    blobs,
    store,
    sync: store,
    jobs: { manager: jobs, configSchema: TrainJobConfig, limits: jobLimits },
    serving,
    review,
    promotions,
    accessLog: values['access-log'] === 'on' ? (line) => process.stderr.write(`${line}\n`) : undefined,
  });

  mountWebApp(app, values.web ? resolve(values.web) : defaultWebRoot);

  const server = serve(
    {
      fetch: app.fetch,
      port,
      hostname: values.host,
      serverOptions: { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS },
    },
    (info) => {
      // A machine-readable first line lets tests and scripts find the port chosen with --port 0.
      console.log(`edgelight listening on http://${values.host}:${info.port}`);
    },
  );
  const listening = await new Promise<boolean>((resolveListen) => {
    server.once('listening', () => resolveListen(true));
    server.once('error', (error: NodeJS.ErrnoException) => {
      console.error(
        error.code === 'EADDRINUSE'
          ? `edgelight serve: port ${port} on ${values.host} is in use; pick another with --port`
          : `edgelight serve: cannot listen on ${values.host}:${port}: ${error.message}`,
      );
      resolveListen(false);
    });
  });
  if (!listening) {
    await review.stop();
    await store.close();
    return 1;
  }
  // Decisions are ruled on and replies delivered in the background from here until shutdown.
  review.start();
  // Items a previous run accepted and did not draft are drafted first.
  if (drafter)
    void drafter
      .resume()
      .then((n) => n > 0 && console.error(`edgelight serve: drafting ${n} feedback item(s) left undrafted`));
  await new Promise<void>((resolveStop) => {
    const stop = () =>
      server.close(() => {
        void jobs
          .stopAll()
          .then(() => drafter?.stop())
          .then(() => review.stop())
          .then(() => store.close())
          .then(() => resolveStop());
      });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

/** The intake's keys, limits and drafting settings from the flags; null without an --intake-key. */
function intakeFromFlags(values: {
  'intake-key'?: string[];
  'intake-origin'?: string[];
  'intake-rate': string;
  'intake-burst': string;
  'intake-backlog': string;
  drafting: string;
  'draft-group': string;
  'draft-max-tokens': string;
}) {
  const keyFlags = values['intake-key'] ?? [];
  const originFlags = values['intake-origin'] ?? [];
  if (keyFlags.length === 0) {
    if (originFlags.length > 0) throw new CliUsageError('--intake-origin needs an --intake-key');
    return null;
  }
  let keys: ReturnType<typeof parseIntakeFlags>;
  try {
    keys = parseIntakeFlags(keyFlags, originFlags, (path) => readFileSync(path, 'utf8'));
  } catch (error) {
    if (error instanceof IntakeKeyError) throw new CliUsageError(error.message);
    throw error;
  }
  if (values.drafting !== 'on' && values.drafting !== 'off')
    throw new CliUsageError(`--drafting must be on or off, got '${values.drafting}'`);
  const integerFlag = (flag: keyof typeof values) => {
    const n = positiveNumber(flag, values[flag] as string);
    if (!Number.isInteger(n))
      throw new CliUsageError(`--${flag} must be a positive integer, got '${values[flag]}'`);
    return n;
  };
  return {
    keys,
    drafting: values.drafting === 'on',
    group: integerFlag('draft-group'),
    maxTokens: integerFlag('draft-max-tokens'),
    limits: {
      perSecond: positiveNumber('intake-rate', values['intake-rate']),
      burst: integerFlag('intake-burst'),
      maxBacklog: integerFlag('intake-backlog'),
    },
  };
}

/** The webhook from --webhook-url and its secret; a URL without a secret is refused (bodies are signed). */
function webhookFromFlags(values: {
  'webhook-url'?: string;
  'webhook-secret'?: string;
}): WebhookConfig | undefined {
  const secret = values['webhook-secret'] ?? process.env.EDGELIGHT_WEBHOOK_SECRET ?? undefined;
  const url = values['webhook-url'];
  if (!url) {
    if (values['webhook-secret']) throw new CliUsageError('--webhook-secret needs --webhook-url');
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliUsageError(`--webhook-url must be an http(s) URL, got '${url}'`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new CliUsageError(`--webhook-url must be an http(s) URL, got '${url}'`);
  if (!secret)
    throw new CliUsageError(
      'refusing --webhook-url without a secret: receivers could not tell our deliveries from forgeries. ' +
        'Pass --webhook-secret S (or set EDGELIGHT_WEBHOOK_SECRET).',
    );
  if (secret.length < 16) throw new CliUsageError('--webhook-secret must be at least 16 characters');
  return { url: parsed.href, secret };
}

/**
 * The Host names the API answers (the DNS-rebinding guard; loopback names are always answered): the
 * --allowed-host names, the bound address, and for a wildcard bind (0.0.0.0, ::) this machine's
 * interface addresses at start-up. An address is safe to answer: DNS rebinding needs a name.
 */
function hostsToAnswer(bind: string, flags: string[]): string[] {
  const hosts = flags
    .flatMap((f) => f.split(','))
    .map((h) => h.trim())
    .filter(Boolean);
  for (const h of hosts)
    if (allowedHostName(h) === null)
      throw new CliUsageError(`--allowed-host takes a name or address without a port, got '${h}'`);
  const bare = bind.replace(/^\[|\]$/g, '');
  if (bare === '0.0.0.0' || bare === '::') {
    for (const list of Object.values(networkInterfaces()))
      for (const address of list ?? []) hosts.push(address.address.replace(/%.*$/, ''));
  } else if (!isLoopbackHost(bind)) hosts.push(bare);
  return hosts;
}

/** The checkpoint of the newest published policy, which a job's `init: "latest"` starts from. */
async function latestPolicyCheckpoint(store: LightningStore): Promise<string | null> {
  const page = await store.queryResources({ sort_by: 'update_time', sort_order: 'desc' });
  for (const update of page.items) {
    for (const resource of Object.values(update.resources)) {
      if (resource.resource_type === 'policy') return resource.checkpoint_id;
    }
  }
  return null;
}
