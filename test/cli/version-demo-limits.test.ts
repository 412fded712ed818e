import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DEMO_COUNT, demoLimits } from '../../src/cli/demo.js';
import { runCli as run, SMALL } from '../helpers/cli.js';

const DEMO = ['demo', ...SMALL, '--history-days', '40', '--train-days', '7', '--no-dashboard'] as const;

describe('fraudstream --version', () => {
  it('prints the version of package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      const r = await run([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    }
  });
});

describe('demo --count and --duration', () => {
  it('lets the one given decide, both: whichever first, neither: the default count', () => {
    expect(demoLimits({})).toEqual({ count: DEFAULT_DEMO_COUNT });
    expect(demoLimits({ duration: 300 })).toEqual({ count: 0, durationS: 300 });
    expect(demoLimits({ count: 1_000 })).toEqual({ count: 1_000 });
    expect(demoLimits({ count: 1_000, duration: 5 })).toEqual({ count: 1_000, durationS: 5 });
    expect(demoLimits({ count: 0 })).toEqual({ count: 0 });
  });

  it('stops at --duration when only the duration is given (the default count would take minutes at this rate)', async () => {
    const r = await run([...DEMO, '--duration', '1', '--rate', '200']);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { live: number };
    expect(summary.live).toBeGreaterThan(0);
    expect(summary.live).toBeLessThan(DEFAULT_DEMO_COUNT);
  }, 60_000);

  it('stops at --count when it comes before --duration', async () => {
    const r = await run([...DEMO, '--count', '40', '--duration', '600', '--rate', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout.trim().split('\n').pop()!) as { live: number }).live).toBe(40);
  }, 60_000);
});
