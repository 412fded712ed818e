import { defineConfig } from 'vitest/config';
import { isCI } from './test/helpers/ci.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers (redis-server, kinesalite); give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // In CI (isCI: CI=true, 1 or yes) a JSON report lets .ci/run print one plain "N passed, N failed"
    // closing line; each Node version's run names its own file.
    reporters: isCI()
      ? ['default', ['json', { outputFile: process.env.FRAUDSTREAM_TEST_RESULTS ?? 'test-results.json' }]]
      : ['default'],
  },
});
