/** Helpers shared by the sources' `resolveXxxOptions()` functions. */
import { ConfigError } from '../errors/index.js';

/** Drops keys whose value is `undefined`, so that they do not override defaults when spread. */
export function stripUndefined<T extends object>(options: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(options) as (keyof T)[]) {
    if (options[key] !== undefined) out[key] = options[key];
  }
  return out;
}

/** Throws {@link ConfigError} unless `value` is a finite number within [min, max]. */
export function requireNumber(
  source: string,
  name: string,
  value: unknown,
  min: number,
  max: number,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(
      `${source} source: ${name} must be a number in [${min}, ${max}], got ${String(value)}`,
    );
  }
  return value;
}

/** Throws {@link ConfigError} unless `value` is a non-empty string. */
export function requirePath(source: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigError(`${source} source: ${name} must be a non-empty file path`);
  }
  return value;
}
