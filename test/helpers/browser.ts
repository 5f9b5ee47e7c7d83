// Drives Debian's Chromium (never a downloaded browser) against a Vite dev server rooted at the
// repository, so a test page can import shared/ and worker/ sources as the app does.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import preact from '@preact/preset-vite';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless=new',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium libvulkan1)`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A Vite dev server over the whole repository on a free loopback port. */
export async function startDevServer(): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    configFile: false,
    root: repoRoot,
    logLevel: 'error',
    plugins: [preact()],
    worker: { format: 'es' },
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    // CommonJS packages the sources import must be pre-bundled for the browser; discovery stays off
    // so a test page's first import does not trigger a reload mid-test.
    optimizeDeps: { noDiscovery: true, include: ['dexie', 'comlink'] },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('vite dev server has no address');
  return { server, url: `http://127.0.0.1:${address.port}` };
}

export type BrowserHarness = {
  browser: Browser;
  page: Page;
  url: string;
  close: () => Promise<void>;
  errors: string[];
};

/** Opens test/browser/blank.html on a fresh dev server; page errors are collected, not swallowed. */
export async function openHarness(): Promise<BrowserHarness> {
  const { server, url } = await startDevServer();
  const browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${url}/test/browser/blank.html`);
  return {
    browser,
    page,
    url,
    errors,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}

declare global {
  interface Window {
    /** Defined by test/browser/blank.html: dynamic import from the page's own context. */
    importModule: (path: string) => Promise<Record<string, unknown>>;
  }
}
