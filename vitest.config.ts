import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Vite would pick graphql's `module` build (index.mjs) for test files while yoga and Pothos
    // load the CommonJS one through Node: two copies of graphql cannot share a schema. Resolve
    // it the way Node does.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts', 'scripts/**/*.test.ts'],
    // Brings up the rig of real libvirtd + QEMU hosts once per run (test/rig).
    globalSetup: ['test/global-setup.ts'],
    // Real daemons: migrations and domain starts take seconds, not milliseconds.
    testTimeout: 60_000,
    // The global setup may install packages and start the rig from cold.
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    // Test files run in parallel in forked workers (one per core on this 2-core machine).
    pool: 'forks',
  },
});
