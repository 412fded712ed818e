/**
 * Gate for browser tests: they drive Debian's `chromium` through playwright-core (which brings
 * no browser of its own). `CHROMIUM_BIN` overrides the path.
 */
import { accessSync, constants } from 'node:fs';
import { isCI } from './ci.js';

const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Path of the Chromium binary: `$CHROMIUM_BIN`, else /usr/bin/chromium, else undefined. */
export function findChromium(): string | undefined {
  const path = process.env.CHROMIUM_BIN ?? DEFAULT_CHROMIUM;
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

/**
 * Returns `true` when browser tests must be skipped (use with `describe.skipIf(skipWithoutChromium())`),
 * printing why. On CI (`CI=true`, `1` or `yes`) a missing browser is a failure, not a skip, as for Redis.
 */
export function skipWithoutChromium(): boolean {
  if (findChromium()) return false;
  const reason = process.env.CHROMIUM_BIN
    ? `$CHROMIUM_BIN=${process.env.CHROMIUM_BIN} is not an executable`
    : `${DEFAULT_CHROMIUM} not found (apt-get install chromium, or set CHROMIUM_BIN)`;
  if (isCI()) throw new Error(`browser tests cannot run on CI: ${reason}`);
  console.warn(`Skipping browser tests: ${reason}`);
  return true;
}
