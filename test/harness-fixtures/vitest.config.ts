// Suites that fail on purpose, run by test/contract/harness-teardown.test.ts in a vitest of their own: whatever they
// started must be stopped by the harness although they never stop it themselves.
import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: path.resolve(__dirname, '../..'),
  test: {
    include: ['test/harness-fixtures/*.fixture.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    globalSetup: ['test/support/global-setup.ts'],
  },
});
