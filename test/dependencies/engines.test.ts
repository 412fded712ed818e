import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * fraudstream supports Node 20 (`engines` in package.json): every package the lockfile installs
 * must accept it, or `npm ci` warns and the package may use APIs Node 20 lacks. Runtime packages
 * must accept Node 20.0.0, as fraudstream's own `>=20` promises; development tools at least the
 * last Node 20 line (20.19).
 */
interface LockPackage {
  dev?: boolean;
  engines?: { node?: string };
}

type Version = readonly [number, number, number];

function parseVersion(text: string): Version {
  const [major = 0, minor = 0, patch = 0] = text
    .replace(/^v/, '')
    .split('.')
    .map((part) => (part === 'x' || part === '*' ? 0 : Number(part)));
  return [major, minor, patch];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The subset of semver ranges the lockfile's `engines.node` fields use: `*`, `>=`, `^`, bare versions, `||`. */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((alternative) => {
    const clause = alternative.trim();
    if (clause === '*' || clause === '') return true;
    const ge = /^>=\s*(\S+)$/.exec(clause);
    if (ge) return compare(version, parseVersion(ge[1]!)) >= 0;
    const caret = /^\^\s*(\S+)$/.exec(clause);
    const base = caret ? caret[1]! : clause;
    if (!/^v?\d+(\.(\d+|x))*$/.test(base)) throw new Error(`unsupported engines range ${range}`);
    const low = parseVersion(base);
    return version[0] === low[0] && compare(version, low) >= 0;
  });
}

const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, LockPackage>;
};

describe('Node 20 support of dependencies', () => {
  it('reads the ranges it checks', () => {
    expect(satisfies([20, 0, 0], '>=18')).toBe(true);
    expect(satisfies([20, 0, 0], '^20.19.0 || >=22.12.0')).toBe(false);
    expect(satisfies([20, 19, 0], '^20.19.0 || >=22.12.0')).toBe(true);
    expect(satisfies([20, 0, 0], '>=22')).toBe(false);
    expect(satisfies([20, 0, 0], '^16 || ^18 || >=20')).toBe(true);
    expect(satisfies([20, 0, 0], '>= 10.x')).toBe(true);
  });

  it('every runtime package accepts Node 20.0.0 and every development package Node 20.19', () => {
    const refused: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      const range = pkg.engines?.node;
      if (path === '' || range === undefined) continue;
      const node: Version = pkg.dev === true ? [20, 19, 0] : [20, 0, 0];
      if (!satisfies(node, range)) refused.push(`${path} (${range})`);
    }
    expect(refused).toEqual([]);
  });
});
