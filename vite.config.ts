import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The SPA lives in web/; workers in worker/ are bundled as ES-module workers next to it.
export default defineConfig({
  root: 'web',
  publicDir: false,
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
