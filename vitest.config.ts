import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2-core CI machines: end-to-end files spawn child processes, so keep parallelism modest.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
