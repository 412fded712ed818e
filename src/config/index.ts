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

/** Query parameters whose values are secrets in the connection URLs people write. */
const SECRET_PARAMS = /^(password|pass|pwd|secret|token|key|access_?key|secret_?key|auth)$/i;

/** Stands in for a URL that cannot be parsed and so cannot be shown safely. */
export const UNPARSEABLE_URL = '<unparseable URL, redacted>';

/**
 * Makes a URL (or anything given where a URL was expected) safe to log: a password becomes
 * `***`, as do secret-looking query parameters (`?password=…`, `token`, `key`, …).
 *
 * Text `new URL` cannot parse is never returned as it is, because its credentials cannot be
 * told apart reliably: anything before the last `@` of the authority is replaced by `***`, and
 * other text that has a scheme (`redis://…`) becomes `<scheme>://<unparseable URL, redacted>`,
 * and text with `:`, `/` or spaces becomes `<unparseable URL, redacted>`.
 * Plain words without `:`, `@` or `/` (`memory`, a stream name) carry no credentials and are kept.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return redactUnparseable(url);
  }
  // `user:pw@host` parses as scheme `user:` with an opaque path, and a password holding an
  // unescaped `/` ends the authority early: URL parsing finds neither password, so treat both as text.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || u.pathname.includes('@')) return redactUnparseable(url);
  if (u.password) u.password = '***';
  for (const name of [...u.searchParams.keys()]) {
    if (SECRET_PARAMS.test(name)) u.searchParams.set(name, '***');
  }
  return u.toString();
}

function redactUnparseable(text: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  const rest = scheme ? text.slice(scheme[0].length) : text;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    // Whatever sits before the last `@` may be `user:password`; the host after it is safe and useful.
    const host = rest.slice(at + 1).replace(/[?#].*$/, '');
    return `${scheme ? `${scheme[1]}://` : ''}***@${host}`;
  }
  if (scheme) return `${scheme[1]}://${UNPARSEABLE_URL}`;
  if (/[:/\s]/.test(text)) return UNPARSEABLE_URL;
  return text;
}
