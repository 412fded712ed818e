/**
 * Configuration: command-line flags, then environment variables, then an optional JSON config
 * file, then documented defaults — the first that sets a value wins.
 *
 * The config file (`--config PATH` or `FRAUDSTREAM_CONFIG`) is a JSON object whose keys are the
 * long flag names, either at the top level (apply to every command that has the flag) or under a
 * command name (apply to that command only), e.g.
 * `{ "redis": "redis://cache:6379", "consume": { "batch-size": 1000 } }`.
 *
 * Secrets (passwords, keys) are read from the environment or the file, never printed: use
 * {@link redactUrl} for anything that may carry credentials before it reaches a log.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.js';

export type ConfigFile = Record<string, unknown>;

/** Reads and validates a JSON config file; throws a {@link ConfigError} naming the file on any problem. */
export function loadConfigFile(path: string): ConfigFile {
  const parsed = readJsonFile(path, 'config file');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must contain a JSON object`);
  }
  return parsed as ConfigFile;
}

/** Reads a JSON file; throws a {@link ConfigError} naming the file (`what`) on any problem. */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${what} ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The value a config file gives for `flag` (long name without dashes) of `command`: the
 * command's own section first, then the top level.
 */
export function configValue(file: ConfigFile, command: string, flag: string): unknown {
  const section = file[command];
  if (typeof section === 'object' && section !== null && !Array.isArray(section) && flag in section) {
    return (section as Record<string, unknown>)[flag];
  }
  return file[flag];
}

/**
 * The Redis URL from the environment: `REDIS_URL`, or the reference lab's `REDIS_HOST`,
 * `REDIS_PORT` and `REDIS_PWD` (kept for familiarity). `undefined` when none is set.
 */
export function redisUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.REDIS_URL) return env.REDIS_URL;
  if (!env.REDIS_HOST) return undefined;
  const scheme = env.REDIS_TLS === 'true' || env.REDIS_TLS === '1' ? 'rediss' : 'redis';
  const user = env.REDIS_USERNAME ? encodeURIComponent(env.REDIS_USERNAME) : '';
  const auth = env.REDIS_PWD ? `${user}:${encodeURIComponent(env.REDIS_PWD)}@` : user ? `${user}@` : '';
  return `${scheme}://${auth}${env.REDIS_HOST}:${env.REDIS_PORT ?? '6379'}`;
}

/** Replaces any password in a URL by `***` so the URL can be logged. Non-URLs are returned as is. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
