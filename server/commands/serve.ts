import { serve } from '@hono/node-server';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../app';
import { mountWebApp } from '../static';
import { parseCommandArgs } from './args';
import { CliUsageError } from '../cli';

const HELP = `usage: edgelight serve [--port 8787] [--host 127.0.0.1] [--data DIR] [--web DIR]

Serves the edgelight API and the built web app.
  --port   TCP port (0 picks a free one; default 8787)
  --host   interface to bind (default 127.0.0.1)
  --data   data folder (default ./.edgelight)
  --web    built web app folder (default dist/web of this package)`;

const defaultWebRoot = fileURLToPath(new URL('../../dist/web', import.meta.url));

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    port: { type: 'string', default: '8787' },
    host: { type: 'string', default: '127.0.0.1' },
    data: { type: 'string', default: '.edgelight' },
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

  const app = createApp();
  mountWebApp(app, values.web ? resolve(values.web) : defaultWebRoot);

  const server = serve({ fetch: app.fetch, port, hostname: values.host }, (info) => {
    // A machine-readable first line lets tests and scripts find the port chosen with --port 0.
    console.log(`edgelight listening on http://${values.host}:${info.port}`);
  });
  await new Promise<void>((resolveStop) => {
    const stop = () => server.close(() => resolveStop());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
