// The trainer runs in a real module Web Worker in Chromium on WebGPU (SwiftShader without a GPU), reached
// through comlink, and its loss falls over a few steps. The model is micro-sized: SwiftShader computes at
// well under 1 GFLOP/s and the first step compiles every shader.
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARITY_TOLERANCE } from '../../shared/train/parity';
import { launchChromium } from '../helpers/browser';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('trainer worker on WebGPU (Chromium)', () => {
  let server: ViteDevServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    server = await createServer({
      configFile: false,
      root: repoRoot,
      // Its own pre-bundle cache: other dev servers with other include lists may run at the same time.
      cacheDir: 'node_modules/.vite-trainer-webgpu',
      logLevel: 'error',
      worker: { format: 'es' },
      server: { host: '127.0.0.1', port: 0, hmr: false, watch: null },
      optimizeDeps: {
        noDiscovery: true,
        include: [
          'comlink',
          'zod',
          '@tensorflow/tfjs-core',
          '@tensorflow/tfjs-core/dist/register_all_gradients',
          '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops',
          '@tensorflow/tfjs-backend-cpu',
          '@tensorflow/tfjs-backend-webgpu',
          '@tensorflow/tfjs-backend-wasm',
          '@tensorflow/tfjs-backend-webgl',
        ],
      },
    });
    await server.listen();
    const address = server.httpServer?.address();
    if (!address || typeof address === 'string') throw new Error('no dev server address');
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${address.port}/test/browser/blank.html`);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  // WebGL here is Chromium's SwiftShader GL (no GPU), WebGPU its SwiftShader Vulkan adapter.
  it.each(['webgpu', 'webgl'] as const)(
    'trains in a module worker on the %s backend and the loss falls',
    async (backend) => {
      const result = await page.evaluate(async (backend) => {
        const comlink = (await window.importModule('/node_modules/comlink/dist/esm/comlink.mjs')) as {
          wrap: <T>(w: Worker) => T;
        };
        type Metrics = { loss: number; gradNorm: number; step: number };
        type Api = {
          start(options: unknown): Promise<{
            backend: { name: string; software: boolean; adapterDescription: string };
            parameters: number;
          }>;
          train(steps: number): Promise<Metrics[]>;
          generate(
            prompts: number[][],
            options: unknown,
          ): Promise<Array<{ tokens: number[]; logprobs: number[] }>>;
        };
        const worker = new Worker('/worker/trainer.worker.ts', { type: 'module' });
        const trainer = comlink.wrap<Api>(worker);
        const started = await trainer.start({
          backend,
          config: { vocabSize: 32, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 },
          seed: 3,
          lr: 2e-2,
          pairs: [
            { promptIds: [1, 2], completionIds: [3, 4, 5, 6, 7] },
            { promptIds: [8], completionIds: [9, 10, 11, 12] },
          ],
        });
        const metrics = [...(await trainer.train(1)), ...(await trainer.train(5))];
        const sample = await trainer.generate([[1, 2]], { maxNewTokens: 3, seed: 1 });
        worker.terminate();
        return { started, metrics, sample };
      }, backend);
      expect(errors).toEqual([]);
      expect(result.started.backend.name).toBe(backend);
      expect(result.started.backend.software).toBe(true); // SwiftShader: allowed because asked for by name
      console.info(`${backend} adapter: ${result.started.backend.adapterDescription}`);
      expect(result.started.parameters).toBeGreaterThan(10_000);
      const losses = result.metrics.map((m) => m.loss);
      expect(result.metrics.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[0]).toBeGreaterThan(3); // ≈ ln 32 at init
      expect(losses[5]).toBeLessThan(losses[0] - 0.5);
      expect(result.sample[0].tokens).toHaveLength(3);
      expect(result.sample[0].logprobs.every((lp) => lp <= 0)).toBe(true);
    },
  );

  it('agrees with cpu on one seeded train step on wasm, webgpu and webgl (loss 1e-4 relative, gradients 1e-3, weights 1e-4)', async () => {
    const reports = await page.evaluate(async () => {
      type Backend = typeof import('../../shared/train/backend');
      type Parity = typeof import('../../shared/train/parity');
      const { selectBackend } = (await window.importModule('/shared/train/backend.ts')) as Backend;
      const parity = (await window.importModule('/shared/train/parity.ts')) as Parity;
      const wasmPaths = '/node_modules/@tensorflow/tfjs-backend-wasm/dist/';
      await selectBackend({ prefer: 'cpu' });
      const cpu = await parity.trainStepFingerprint();
      const out: Array<{ backend: string; report: ReturnType<Parity['compareFingerprints']> }> = [];
      for (const backend of ['wasm', 'webgpu', 'webgl'] as const) {
        await selectBackend({ prefer: backend, wasmPaths });
        const other = await parity.trainStepFingerprint();
        out.push({ backend: other.backend, report: parity.compareFingerprints(cpu, other) });
      }
      return out;
    });
    expect(errors).toEqual([]);
    expect(reports.map((r) => r.backend)).toEqual(['wasm', 'webgpu', 'webgl']);
    for (const { backend, report } of reports) {
      console.info(`parity ${backend} vs cpu`, JSON.stringify(report));
      expect(report.lossRelative, backend).toBeLessThan(PARITY_TOLERANCE.lossRelative);
      expect(report.gradRelative, `${backend} worst gradient ${report.worst}`).toBeLessThan(
        PARITY_TOLERANCE.gradRelative,
      );
      expect(report.weightAbsolute, backend).toBeLessThan(PARITY_TOLERANCE.weightAbsolute);
    }
  });
});
