import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers (redis-server, kinesalite); give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // In CI (CI=true or CI=1) a JSON report lets .ci/run print one plain "N passed, N failed"
    // closing line; each Node version's run names its own file.
    reporters: ['true', '1'].includes((process.env.CI ?? '').toLowerCase())
      ? ['default', ['json', { outputFile: process.env.FRAUDSTREAM_TEST_RESULTS ?? 'test-results.json' }]]
      : ['default'],
  },
});
