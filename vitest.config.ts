import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['node_modules', 'dist'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // Kills whatever a worker started and did not stop (test/support/processes.ts).
    globalSetup: ['test/support/global-setup.ts'],
  },
});
