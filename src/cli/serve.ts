/**
 * `fraudstream serve`: the synchronous scoring API (and the dashboard) over a model bundle and a
 * store, on fastify. See `src/http/`.
 */
import { Command, Option } from 'commander';
import { redactUrl } from '../config/index.js';
import { ConfigError, ListenError } from '../errors/index.js';
import { createFeatureSet } from '../features/index.js';
import { type ServerHandle, startServer } from '../http/index.js';
import { createLogger, type LogLevel } from '../logging/index.js';
import { PipelineMetrics } from '../metrics/index.js';
import { RequestScorer } from '../pipeline/index.js';
import { DriftMonitor, loadBundle, Scorer } from '../scoring/index.js';
import { intArg } from './args.js';
import type { RedisFlags } from './connections.js';
import { portArg } from './dashboard.js';
import { untilStopSignal } from './signals.js';
import { openStore, openWindowState, type PrefixFlags } from './stores.js';
import { packageVersion } from './version.js';

interface ServeFlags extends RedisFlags, PrefixFlags {
  models: string;
  store: string;
  port: number;
  host: string;
  apiKey?: string;
  insecure?: boolean;
  dashboard: boolean;
  bodyLimit: number;
  logLevel: LogLevel;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description(
      'Serve the scoring API (POST /api/score, /api/feedback, transaction search, /healthz, /readyz, /api/openapi.json, /metrics) and the dashboard.',
    )
    .requiredOption('--models <dir>', 'model bundle directory')
    .option(
      '--store <store>',
      'memory | redis://HOST:PORT (features, window state and documents shared with stream consumers)',
      'memory',
    )
    .option('--port <n>', 'TCP port (0 = any free port)', portArg, 8080)
    .option(
      '--host <host>',
      'interface to listen on; anything but loopback needs --api-key or --insecure',
      '127.0.0.1',
    )
    .addOption(
      new Option(
        '--api-key <key>',
        'writes under /api/ need "Authorization: Bearer <key>" (at least 16 characters)',
      ).env('FRAUDSTREAM_API_KEY'),
    )
    .option('--insecure', 'allow a non-loopback host without an API key')
    .option('--no-dashboard', 'serve the API only, not the dashboard page')
    .option('--body-limit <bytes>', 'largest request body (413 beyond)', intArg, 4 * 1024 * 1024)
    .option('--redis-cluster', 'redis: the URL is a seed node of a Redis Cluster')
    .option('--prefix <prefix>', 'redis: key prefix of the store and feature state (default fraudstream:)')
    .addOption(
      new Option('--log-level <level>', 'structured logs on stderr')
        .choices(['silent', 'error', 'warn', 'info', 'debug'])
        .default('info'),
    )
    .action(async (flags: ServeFlags) => {
      await runServe(flags);
    });
}

async function runServe(flags: ServeFlags): Promise<void> {
  const log = createLogger(flags.logLevel);
  const bundle = await loadBundle(flags.models);
  const m = bundle.manifest;
  const store = await openStore(flags.store, flags, log);
  const state = await openWindowState(flags.store, flags, m.delayDays);
  const scorer = new Scorer(bundle);
  const drift = m.drift ? new DriftMonitor(m.drift, m.featureNames) : undefined;
  const driftReport = drift && (() => drift.report());
  const requests = new RequestScorer({
    featureSet: createFeatureSet(m.featureSet, { delayDays: m.delayDays, ...(state && { state }) }),
    scorer,
    store,
    ...(drift && { drift }),
  });
  let server: ServerHandle;
  try {
    server = await startServer(
      {
        store,
        scorer: requests,
        host: flags.host,
        port: flags.port,
        ...(flags.apiKey !== undefined && { apiKey: flags.apiKey }),
        insecure: flags.insecure === true,
        dashboard: flags.dashboard,
        bodyLimitBytes: flags.bodyLimit,
        info: {
          store: redactUrl(flags.store),
          'feature set': m.featureSet,
          model: m.fingerprint,
          thresholds: `review >= ${m.thresholds.review.toFixed(3)}, decline >= ${m.thresholds.decline.toFixed(3)}`,
        },
        metrics: new PipelineMetrics({
          stats: () => requests.stats,
          modelVersion: () => scorer.version,
          ...(driftReport && { drift: driftReport }),
        }),
        ...(driftReport && { drift: driftReport }),
        logger: log,
      },
      { title: 'fraudstream scoring API', version: packageVersion() },
    );
  } catch (err) {
    await state?.close?.();
    await store.close();
    if (err instanceof ListenError) {
      throw new ConfigError(`--port ${err.port}: ${err.message}; choose another port (0 = any free one)`, {
        cause: err,
      });
    }
    throw err;
  }
  // The key is never logged: only whether one is set.
  log.info(
    {
      url: server.url,
      store: redactUrl(flags.store),
      model: m.fingerprint,
      featureSet: m.featureSet,
      apiKey: flags.apiKey !== undefined,
      dashboard: flags.dashboard,
    },
    'serving',
  );
  process.stderr.write(`serving: ${server.url} (POST ${server.url}api/score)\n`);
  await untilStopSignal();
  await server.close();
  await state?.close?.();
  await store.close();
  log.info(requests.stats.decisions, 'stopped');
  log.flush();
}
