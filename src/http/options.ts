import { isLoopback, type MetricsText } from '../dashboard/index.js';
import { ConfigError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { RequestScorer } from '../pipeline/index.js';
import type { DriftReport } from '../scoring/index.js';
import type { Store } from '../store/index.js';

/** Options of {@link startServer} / {@link buildServeApp}. `store` and `scorer` are required. */
export interface ServeOptions {
  /** Where scored transactions are persisted and read back. */
  store: Store;
  /** The scoring path: features, models, decision (the stream consumer's). */
  scorer: RequestScorer;
  /**
   * Interface to listen on. Anything but loopback needs an `apiKey`, or `insecure`.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * TCP port; 0 lets the system pick one (see the handle's `url`).
   * @default 8080
   */
  port?: number;
  /**
   * With a key, every write under `/api/` (score, feedback) needs `Authorization: Bearer <key>`,
   * else 401. Compared in constant time; never logged.
   * @default undefined (no key)
   */
  apiKey?: string;
  /**
   * Serve on a non-loopback host without an API key (anyone who reaches the port can score,
   * label and read transactions).
   * @default false
   */
  insecure?: boolean;
  /**
   * Largest request body in bytes; larger ones get 413. The default fits 1,000 lab envelopes.
   * @default 4194304 (4 MiB)
   */
  bodyLimitBytes?: number;
  /**
   * Also serve the live dashboard (page, event stream, its read API) from this server.
   * @default true
   */
  dashboard?: boolean;
  /** Facts shown in the dashboard's series-info panel. @default {} */
  info?: Readonly<Record<string, string>>;
  /** Prometheus metrics at `/metrics`. @default undefined (404) */
  metrics?: MetricsText;
  /** Drift figures for the dashboard and `/api/summary`. @default undefined */
  drift?: () => DriftReport | undefined;
  /** @default a silent logger */
  logger?: Logger;
}

export const DEFAULT_SERVE_OPTIONS = {
  host: '127.0.0.1',
  port: 8080,
  insecure: false,
  bodyLimitBytes: 4 * 1024 * 1024,
  dashboard: true,
  info: {},
} as const;

export type ResolvedServeOptions = Omit<ServeOptions, keyof typeof DEFAULT_SERVE_OPTIONS> & {
  host: string;
  port: number;
  insecure: boolean;
  bodyLimitBytes: number;
  dashboard: boolean;
  info: Readonly<Record<string, string>>;
};

/** Merges and validates once; throws {@link ConfigError} (never with the key in the message). */
export function resolveServeOptions(options: ServeOptions): ResolvedServeOptions {
  if (!options.store) throw new ConfigError('serve: a store is required');
  if (!options.scorer) throw new ConfigError('serve: a scorer is required');
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULT_SERVE_OPTIONS, ...defined } as ResolvedServeOptions;
  if (typeof o.host !== 'string' || o.host === '')
    throw new ConfigError('serve host must be a host name or address');
  if (!(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65_535))
    throw new ConfigError(`serve port must be an integer from 0 to 65535, got ${o.port}`);
  if (!(Number.isInteger(o.bodyLimitBytes) && o.bodyLimitBytes >= 1024))
    throw new ConfigError(`serve bodyLimitBytes must be an integer >= 1024, got ${o.bodyLimitBytes}`);
  if (o.apiKey !== undefined && (typeof o.apiKey !== 'string' || o.apiKey.length < 16)) {
    throw new ConfigError('the API key must be at least 16 characters');
  }
  if (!isLoopback(o.host) && o.apiKey === undefined && !o.insecure) {
    throw new ConfigError(
      `serve: refusing to listen on ${o.host} without an API key: anyone who reaches it could score, label and read transactions; set --api-key (or FRAUDSTREAM_API_KEY), or pass --insecure`,
    );
  }
  return o;
}
