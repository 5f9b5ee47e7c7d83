import { defineConfig } from 'vitest/config';

// Two projects: `node` (unit and integration, in Node) and `browser` (tests that drive Debian's
// Chromium through playwright-core: real IndexedDB, Workers and WebGPU on SwiftShader).
// Both run on a 2-core machine, so browser tests run one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 240_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
