import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The SPA lives in web/; workers in worker/ are bundled as ES-module workers next to it. web/public/ is
// served as it is at the app's root and copied into the build: the starter policy's checkpoint files
// (web/public/starter-policy/, made by scripts/starter-policy.ts) are fetched by the lab worker from there.
export default defineConfig({
  root: 'web',
  publicDir: 'public',
  plugins: [preact()],
  worker: { format: 'es' },
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
    chunkSizeWarningLimit: 4096,
  },
  server: { fs: { allow: ['..'] } },
});
