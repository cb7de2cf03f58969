import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The web console's build: `npm run web:build` writes clients/web/dist, which is committed and
// served by the controller at `/` (src/server/web-console.ts), so a server needs no build step.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Chunk names carry content hashes; the build is checked fresh in CI (scripts/web-build).
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2048,
  },
  logLevel: 'warn',
});
