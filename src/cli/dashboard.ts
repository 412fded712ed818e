import { type Command, InvalidArgumentError } from 'commander';
import {
  type DashboardHandle,
  type DashboardOptions,
  DEFAULT_DASHBOARD_OPTIONS,
  type MetricsText,
  type PipelineStatus,
  startDashboard,
} from '../dashboard/index.js';
import { ConfigError, ListenError } from '../errors/index.js';
import type { Store } from '../store/index.js';
import { intArg } from './args.js';

/** Dashboard flags shared by `demo` (on by default) and `consume` (opt-in). */
export interface DashboardFlags {
  /** False with `--no-dashboard`. */
  dashboard?: boolean;
  dashboardPort?: number;
  dashboardHost?: string;
}

/** Parses `--dashboard-port`: 0 to 65535, 0 meaning any free port. */
export function portArg(value: string): number {
  const n = intArg(value);
  if (n > 65_535) throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}"`);
  return n;
}

/** `--dashboard-host`, the same text for both commands. */
export const DASHBOARD_HOST_HELP = `interface the dashboard listens on (default ${DEFAULT_DASHBOARD_OPTIONS.host}; anything else shows card data to the network)`;

export interface ServeDashboardOptions {
  title: string;
  info: Readonly<Record<string, string>>;
  /** The command whose flags these are: a port left at its default may fall back to a free one. */
  command: Command;
  /** Prometheus metrics to serve at `/metrics`. */
  metrics?: MetricsText;
  /** Drift figures for the page and `/api/summary`. */
  drift?: DashboardOptions['drift'];
  /** The consumer's failure state (dead letters of both destinations, stall) for the page. */
  pipeline?: () => PipelineStatus | undefined;
}

/**
 * Starts the dashboard the flags ask for. When the port is the default one (not chosen on the
 * command line, environment or config file) and something else holds it, another free port is
 * taken instead, so `npm run demo` works on a machine where 8080 is busy; a chosen port is kept
 * or fails with a clear message.
 */
export async function serveDashboard(
  store: Store,
  flags: DashboardFlags,
  options: ServeDashboardOptions,
): Promise<DashboardHandle> {
  const start = (port: number | undefined): Promise<DashboardHandle> =>
    startDashboard({
      store,
      host: flags.dashboardHost,
      port,
      title: options.title,
      info: options.info,
      metrics: options.metrics,
      drift: options.drift,
      pipeline: options.pipeline,
    });
  const chosen = options.command.getOptionValueSource('dashboardPort') !== 'default';
  try {
    return await start(flags.dashboardPort);
  } catch (err) {
    if (!(err instanceof ListenError && err.code === 'EADDRINUSE')) throw err;
    if (chosen) {
      throw new ConfigError(
        `--dashboard-port ${err.port}: ${err.message}; choose another port (0 = any free one)`,
        { cause: err },
      );
    }
    process.stderr.write(`dashboard: port ${err.port} is in use; taking a free port instead\n`);
    return start(0);
  }
}
