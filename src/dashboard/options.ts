import { ConfigError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { Store } from '../store/index.js';
import type { DriftView } from './snapshot.js';

/** Options of {@link startDashboard}. Only `store` is required. */
export interface DashboardOptions {
  /** Where the pipeline persists its decisions; the dashboard only reads from it. */
  store: Store;
  /**
   * Interface to listen on. The default keeps the dashboard on this machine: the data it shows
   * (card and terminal ids, amounts) is not for the network unless someone asks for it.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * TCP port; 0 lets the system pick a free one (the chosen port is in the returned `url`).
   * @default 8080
   */
  port?: number;
  /**
   * How often a snapshot is pushed to the open pages (server-sent events), in ms.
   * @default 1000
   */
  pushIntervalMs?: number;
  /**
   * How far back the charts and window totals reach, in ms (at most the store's retention).
   * @default 300000 (five minutes)
   */
  windowMs?: number;
  /**
   * Alerts shown in the table of each snapshot.
   * @default 20
   */
  alertLimit?: number;
  /**
   * Most pages connected to `/events` at once; more get 503, so a runaway client cannot make
   * the server build and send snapshots without bound.
   * @default 100
   */
  maxClients?: number;
  /**
   * Title of the page, e.g. `fraudstream demo`.
   * @default 'fraudstream'
   */
  title?: string;
  /**
   * Facts about the run shown in the series-info panel (source, store, model version…), as
   * label → value. Never put secrets here: the page shows them as they are.
   * @default {}
   */
  info?: Readonly<Record<string, string>>;
  /**
   * Where the dashboard reports store reads that failed (the page shows that the store is
   * unavailable and keeps retrying).
   * @default a silent logger
   */
  logger?: Logger;
  /**
   * Prometheus metrics served at `/metrics` (e.g. a `PipelineMetrics` from `src/metrics`).
   * @default undefined (`/metrics` answers 404)
   */
  metrics?: MetricsText;
  /**
   * Drift of live traffic (population stability index), read for each snapshot and shown on
   * the page with a warning above its threshold.
   * @default undefined (no drift panel figures)
   */
  drift?: () => DriftView | null | undefined;
  /**
   * The consumer's failure state, read at each snapshot: dead letters of both destinations and
   * whether it is holding a batch on a failing store (a `ConsumerStats` fits).
   * @default undefined (the page shows the store's dead letters only)
   */
  pipeline?: () => PipelineStatus | undefined;
}

/** What the page shows about the consumer's failures (a subset of the pipeline's `ConsumerStats`). */
export interface PipelineStatus {
  /** Since when the store has been failing, epoch ms; undefined while it works. */
  stalledSinceMs: number | undefined;
  /** The last store failure, `Name: message`; only the name reaches the page (messages may name hosts). */
  lastStoreError: string | undefined;
  storeRetries: number;
  /** Dead letters by destination (`store`, `transport`), then reason. */
  deadLetters: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Metrics in the Prometheus text format and their content type. */
export interface MetricsText {
  readonly contentType: string;
  text(): Promise<string>;
}

export const DEFAULT_DASHBOARD_OPTIONS = {
  host: '127.0.0.1',
  port: 8080,
  pushIntervalMs: 1_000,
  windowMs: 300_000,
  alertLimit: 20,
  maxClients: 100,
  title: 'fraudstream',
  info: {},
} as const satisfies Omit<Required<DashboardOptions>, 'store' | 'logger' | 'metrics' | 'drift' | 'pipeline'>;

export type ResolvedDashboardOptions = Required<
  Omit<DashboardOptions, 'logger' | 'metrics' | 'drift' | 'pipeline'>
> &
  Pick<DashboardOptions, 'logger' | 'metrics' | 'drift' | 'pipeline'>;

/** Merges `options` over the defaults and validates them once; throws a {@link ConfigError}. */
export function resolveDashboardOptions(options: DashboardOptions): ResolvedDashboardOptions {
  if (!options.store) throw new ConfigError('dashboard: a store is required');
  const o: ResolvedDashboardOptions = {
    ...DEFAULT_DASHBOARD_OPTIONS,
    ...stripUndefined(options),
    store: options.store,
  };
  if (typeof o.host !== 'string' || o.host === '')
    throw new ConfigError('dashboard host must be a host name or address');
  if (!(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65_535))
    throw new ConfigError(`dashboard port must be an integer from 0 to 65535, got ${o.port}`);
  if (!(Number.isInteger(o.pushIntervalMs) && o.pushIntervalMs >= 100))
    throw new ConfigError(`dashboard pushIntervalMs must be an integer >= 100, got ${o.pushIntervalMs}`);
  // Whole 10 s buckets keep the per-10 s charts aligned with the window's edges.
  if (!(Number.isInteger(o.windowMs) && o.windowMs >= 10_000 && o.windowMs % 10_000 === 0))
    throw new ConfigError(`dashboard windowMs must be a positive multiple of 10000, got ${o.windowMs}`);
  for (const name of ['alertLimit', 'maxClients'] as const) {
    if (!(Number.isInteger(o[name]) && o[name] > 0))
      throw new ConfigError(`dashboard ${name} must be a positive integer, got ${o[name]}`);
  }
  return o;
}

/** `{ port: undefined }` means "the default", as it does everywhere else in the options. */
function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
