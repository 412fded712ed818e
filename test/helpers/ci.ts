/**
 * Whether the tests run in continuous integration, where a missing tool (redis-server,
 * Chromium, a Redis module) is a failure rather than a skip. CI systems set `CI` to `true`
 * (GitHub Actions, GitLab), `1` or `yes`; any case counts. Every CI check of the test suite goes
 * through this one function so that they cannot disagree.
 */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value === 'true' || value === '1' || value === 'yes';
}
