import { defineConfig } from 'vitest/config';
import { isCI } from './test/helpers/ci.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers (redis-server, kinesalite); give them room on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // In CI a JSON report lets .ci/run print one plain "N passed, N failed" closing line.
    reporters: isCI() ? ['default', ['json', { outputFile: 'test-results.json' }]] : ['default'],
  },
});
