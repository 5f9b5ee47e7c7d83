import { serve } from '@hono/node-server';
import { mkdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppConfigError, assertSafeOptions, createApp } from '../app';
import { BlobStore } from '../blobs/blob-store';
import { isLoopbackHost } from '../middleware/auth';
import { allowedHostName } from '../middleware/origin';
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

const HELP = `usage: edgelight serve [--port 8787] [--host 127.0.0.1] [--data DIR] [--token T] [options]

Serves the edgelight API (Agent Lightning v0.3 store under /v1/agl, sync, blobs, training jobs)
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
  --web           built web app folder (default dist/web of this package)`;

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

  const dataDir = resolve(values.data);
  const layout = dataLayout(dataDir);
  let store: ReturnType<typeof openSqliteStore>;
  const blobs = new BlobStore(layout.blobs, maxBlobBytes);
  try {
    mkdirSync(dataDir, { recursive: true, mode: OWNER_ONLY_DIR });
    await blobs.init();
    store = openSqliteStore(layout.store);
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
      }),
    }),
  });

  const app = createApp({
    token,
    corsOrigins,
    allowedHosts,
    maxJsonBytes,
    rateLimitPerSecond,
    blobs,
    store,
    sync: store,
    jobs: { manager: jobs, configSchema: TrainJobConfig, limits: jobLimits },
    accessLog: values['access-log'] === 'on' ? (line) => process.stderr.write(`${line}\n`) : undefined,
  });

  mountWebApp(app, values.web ? resolve(values.web) : defaultWebRoot);

  const server = serve({ fetch: app.fetch, port, hostname: values.host }, (info) => {
    // A machine-readable first line lets tests and scripts find the port chosen with --port 0.
    console.log(`edgelight listening on http://${values.host}:${info.port}`);
  });
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
    await store.close();
    return 1;
  }
  await new Promise<void>((resolveStop) => {
    const stop = () =>
      server.close(() => {
        void jobs
          .stopAll()
          .then(() => store.close())
          .then(() => resolveStop());
      });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
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
