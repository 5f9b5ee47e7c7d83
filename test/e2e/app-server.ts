// Starts the real `edgelight serve` over the built web app on a free loopback port, as a user
// would run it. The app is built first when dist/web is missing or older than its sources, so a
// local `npm test` never drives a stale bundle (CI builds before testing anyway).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const builtIndex = join(repoRoot, 'dist/web/index.html');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function isBuildStale(): boolean {
  if (!existsSync(builtIndex)) return true;
  const built = statSync(builtIndex).mtimeMs;
  return ['web', 'worker', 'shared'].some((dir) => newestMtime(join(repoRoot, dir)) > built);
}

/** Builds the SPA with the project's own vite config when the build is missing or stale. */
export async function ensureWebBuilt(): Promise<void> {
  if (!isBuildStale()) return;
  const { build } = await import('vite');
  await build({
    root: join(repoRoot, 'web'),
    configFile: join(repoRoot, 'vite.config.ts'),
    logLevel: 'warn',
  });
}

export type AppServer = { url: string; dataDir: string; stop: () => Promise<void> };

/** `node bin/edgelight.mjs serve --port 0 --data <tmp>`; resolves once it prints its address. */
export async function startAppServer(extraArgs: string[] = []): Promise<AppServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelight-e2e-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['bin/edgelight.mjs', 'serve', '--port', '0', '--data', dataDir, ...extraArgs],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`edgelight serve did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/listening on (http:\/\/[^\s]+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`edgelight serve exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    dataDir,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
