import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'web/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test-support/cheap-password-hashing.ts', 'src/test-support/bundled-worker-threads.ts'],
    globalSetup: ['src/test-support/cli-bundle.ts'],
    pool: 'forks',
    // Test files mostly wait (servers, browsers, timers, SMTP): two at a time even on two cores, where
    // Vitest would run one. Suites share nothing: each has its own schema, data directory and ports.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    // A poll waits on a server, the pipeline or a browser: with two files at a time on two cores that
    // can take longer than the default second (a failing poll just says so later).
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 60_000,
    // No retries: a flaky test is a bug to fix, not to hide.
    retry: 0,
  },
});
