import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['node_modules', 'dist'],
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: one worker on CI's two. Most of the suite waits on
    // PostgreSQL, Azurite, devhost and Chromium rather than computing, so two files at a time keep the run short.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // Kills whatever a worker started and did not stop (test/support/processes.ts).
    globalSetup: ['test/support/global-setup.ts'],
  },
});
