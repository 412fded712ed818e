import { readFileSync } from 'node:fs';

/**
 * The version in fraudstream's `package.json`, found by walking up from this file: two levels
 * up from `src/cli/` when run from source, three from `dist/src/cli/` when built.
 */
export function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'fraudstream' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not at this level: try the next one up.
    }
  }
  return 'unknown';
}
