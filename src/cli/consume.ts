import { unwatchFile, watchFile } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { redactUrl } from '../config/index.js';
import { BundleError, ConfigError } from '../errors/index.js';
import type { RecordKeyMode } from '../events/index.js';
import { createFeatureSet } from '../features/index.js';
import { createLogger, type LogLevel } from '../logging/index.js';
import { PipelineMetrics } from '../metrics/index.js';
import { Consumer, DEFAULT_MAX_FUTURE_SKEW_MS } from '../pipeline/index.js';
import { DriftMonitor, loadBundle, Scorer } from '../scoring/index.js';
import { intArg, recordKeyOption } from './args.js';
import { type KinesisFlags, kinesisOptions, openStreamReader, type RedisFlags } from './connections.js';
import { DASHBOARD_HOST_HELP, type DashboardFlags, portArg, serveDashboard } from './dashboard.js';
import { addEndpointOptions, type EndpointFlags, remoteScorerOptions } from './endpoints.js';
import { formatCount, progressLine, ratePerSecond } from './progress.js';
import {
  type CheckpointFlags,
  openCardHistory,
  openKinesisCheckpoints,
  openStore,
  openWindowState,
  type PrefixFlags,
} from './stores.js';

interface ConsumeFlags
  extends RedisFlags,
    KinesisFlags,
    CheckpointFlags,
    PrefixFlags,
    DashboardFlags,
    EndpointFlags {
  from: string;
  store: string;
  models: string;
  batchSize: number;
  maxWaitMs: number;
  logLevel: LogLevel;
  count?: number;
  recordKey: RecordKeyMode;
  maxStallS: number;
  maxFutureSkewMs: number;
  forest: boolean;
}

export function consumeCommand(): Command {
  const command = new Command('consume')
    .description(
      'Read transactions from a stream, score them and persist decisions, until stopped (SIGINT/SIGTERM).',
    )
    .requiredOption(
      '--from <stream>',
      'redis://HOST:PORT (or "redis" for REDIS_URL / REDIS_HOST) | kinesis://STREAM',
    )
    .option('--store <store>', 'memory | redis://HOST:PORT (default: the --from Redis, else memory)')
    .requiredOption('--models <dir>', 'model bundle directory (reloaded when its manifest changes)')
    .option('--batch-size <n>', 'most records per batch', intArg, 500)
    .option('--max-wait-ms <n>', 'longest wait for a batch to fill', intArg, 20)
    .option('--count <n>', 'stop after n records (for tests and benchmarks)', intArg)
    .option(
      '--max-stall-s <s>',
      'exit non-zero once the store has failed this long (the batch in hand stays unacknowledged); 0 = wait forever',
      intArg,
      0,
    )
    .option(
      '--max-future-skew-ms <ms>',
      'dead-letter records dated more than this far ahead of the stream (and of the clock)',
      intArg,
      DEFAULT_MAX_FUTURE_SKEW_MS,
    )
    .option(
      '--no-forest',
      "classifier alone: the Random Cut Forest neither scores nor learns; fraud score = classifier probability against the bundle's thresholds; anomaly scores stored as null",
    )
    .option('--shards <n>', 'redis: stream keys the producer spread cards over', intArg)
    .option('--stream <name>', 'redis: stream base name (default fraudstream:tx)')
    .option('--group <name>', 'redis: consumer group (default fraudstream)')
    .option(
      '--consumer-name <name>',
      'redis: this consumer in the group; keep it stable across restarts (default host-pid)',
    )
    .option(
      '--claim-idle-ms <n>',
      'redis: take over entries another consumer left pending this long (XAUTOCLAIM; default 30000)',
      intArg,
    )
    .option('--kinesis-endpoint <url>', 'kinesis: endpoint (kinesalite, LocalStack); env KINESIS_ENDPOINT')
    .option('--create-stream', 'kinesis: create the stream if missing (with --shards shards)')
    .option(
      '--checkpoints <where>',
      'kinesis: durable read positions, so a restart resumes: redis (a hash beside the Redis store; the default with one), file:PATH, or none (the default with the memory store)',
    )
    .option('--redis-cluster', 'redis: the URLs are seed nodes of a Redis Cluster')
    .option('--prefix <prefix>', 'redis: key prefix of the store and feature state (default fraudstream:)')
    .addOption(recordKeyOption())
    .addOption(
      new Option('--log-level <level>', 'structured logs on stderr')
        .choices(['silent', 'error', 'warn', 'info', 'debug'])
        .default('info'),
    )
    .option(
      '--dashboard-port <n>',
      'serve the live web dashboard of the store, and Prometheus metrics at /metrics, on this port (0 = any free port)',
      portArg,
    )
    .option('--dashboard-host <host>', DASHBOARD_HOST_HELP)
    .action(async (flags: ConsumeFlags, command: Command) => {
      await runConsume(flags, command);
    });
  return addEndpointOptions(command);
}

async function runConsume(flags: ConsumeFlags, command: Command): Promise<void> {
  const log = createLogger(flags.logLevel);
  const onWarning = (message: string): void => log.warn(message);
  const bundle = await loadBundle(flags.models, { onWarning });
  const storeSpec = flags.store ?? (flags.from.startsWith('redis') ? flags.from : 'memory');
  const store = await openStore(storeSpec, flags, log);
  const state = await openWindowState(storeSpec, flags, bundle.manifest.delayDays);
  const cardHistory =
    bundle.manifest.featureSet === 'transactions-plus' ? await openCardHistory(storeSpec, flags) : undefined;
  const fromKinesis = flags.from.startsWith('kinesis://');
  if (!fromKinesis && flags.checkpoints !== undefined) {
    throw new ConfigError(
      '--checkpoints applies to --from kinesis://STREAM only (Redis Streams keep positions in the consumer group)',
    );
  }
  const checkpoints = fromKinesis
    ? await openKinesisCheckpoints(kinesisOptions(flags.from, flags).streamName, storeSpec, flags)
    : undefined;
  const { reader, close } = await openStreamReader(
    flags.from,
    flags,
    { maxBatch: flags.batchSize, maxWaitMs: flags.maxWaitMs },
    checkpoints?.store,
  );
  const remote = remoteScorerOptions(flags, log);
  const scorer = new Scorer(bundle, { ...remote.options, forest: flags.forest });
  // Drift against the bundle the consumer started with (a reloaded bundle keeps this reference).
  const drift = bundle.manifest.drift
    ? new DriftMonitor(bundle.manifest.drift, bundle.manifest.featureNames)
    : undefined;
  const driftReport = drift && (() => drift.report());
  const runInfo = (model: string): Record<string, string> => ({
    from: redactUrl(flags.from),
    store: redactUrl(storeSpec),
    'feature set': bundle.manifest.featureSet,
    model,
    ...(!flags.forest && { forest: 'off (--no-forest)' }),
  });
  // Metrics and the page read the consumer's live stats, so a stall shows while no batch completes.
  let consumer: Consumer | undefined;
  const dashboard =
    flags.dashboardPort === undefined
      ? undefined
      : await serveDashboard(store, flags, {
          title: 'fraudstream consume',
          info: runInfo(bundle.manifest.fingerprint),
          command,
          metrics: new PipelineMetrics({
            stats: () => consumer?.stats,
            modelVersion: () => scorer.version,
            ...(driftReport && { drift: driftReport }),
          }),
          pipeline: () => consumer?.stats,
          ...(driftReport && { drift: driftReport }),
        });
  const line = progressLine();
  const started = performance.now();
  consumer = new Consumer({
    reader,
    store,
    featureSet: createFeatureSet(bundle.manifest.featureSet, {
      delayDays: bundle.manifest.delayDays,
      ...(state && { state }),
      ...(cardHistory && { cardHistory }),
    }),
    scorer,
    logger: log,
    ...(drift && { drift }),
    recordKey: flags.recordKey,
    maxStallMs: flags.maxStallS * 1000,
    maxFutureSkewMs: flags.maxFutureSkewMs,
    onBatch: (s) => {
      const done = s.persisted + s.duplicates + s.deadLettered;
      line.update(
        `consume: ${formatCount(done)} records (${formatCount(ratePerSecond(done, performance.now() - started))}/s), review ${formatCount(s.decisions.review)}, decline ${formatCount(s.decisions.decline)}, dead-lettered ${formatCount(s.deadLettered)}`,
      );
      if (flags.count !== undefined && done >= flags.count) void consumer?.stop();
    },
  });
  log.info(
    {
      from: redactUrl(flags.from),
      store: redactUrl(storeSpec),
      model: bundle.manifest.fingerprint,
      featureSet: bundle.manifest.featureSet,
      forest: flags.forest,
      ...(checkpoints && { checkpoints: checkpoints.where }),
      ...(dashboard && { dashboard: dashboard.url }),
    },
    'consumer started',
  );

  // A retrained bundle written over the old one (manifest last) is picked up between batches. One
  // that does not fit the running feature state, or whose files fail their SHA-256, is refused and
  // the old one keeps scoring.
  const manifestPath = join(flags.models, 'manifest.json');
  const reload = async (): Promise<void> => {
    try {
      const next = await loadBundle(flags.models, { onWarning });
      if (next.manifest.fingerprint === scorer.version) return;
      scorer.reload(next, flags.models);
      dashboard?.setInfo(runInfo(next.manifest.fingerprint));
      log.info({ model: next.manifest.fingerprint }, 'model bundle reloaded');
    } catch (err) {
      log.error(
        { err: (err as Error).message, model: scorer.version },
        err instanceof BundleError
          ? 'model bundle refused; keeping the old one'
          : 'model bundle reload failed; keeping the old one',
      );
    }
  };
  watchFile(manifestPath, { interval: 2_000 }, () => void reload());
  const onHup = (): void => void reload();
  process.on('SIGHUP', onHup);

  let signals = 0;
  const stop = (): void => {
    if (++signals > 1) process.exit(130);
    log.info('stopping: finishing the batch in hand');
    void consumer?.stop();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let failure: unknown;
  try {
    await consumer.run();
  } catch (err) {
    // A stall past --max-stall-s: the summary is still printed, then the command fails.
    failure = err;
  } finally {
    unwatchFile(manifestPath);
    process.off('SIGHUP', onHup);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await dashboard?.close();
    // The reader waits for its last checkpoint saves before the checkpoint store goes.
    await close();
    await checkpoints?.close();
    await state?.close?.();
    await cardHistory?.close?.();
    await store.close();
    remote.close();
  }
  line.done(`consume: ${failure ? 'gave up' : 'stopped'}; ${JSON.stringify(consumer.summary())}`);
  log.flush();
  if (failure !== undefined) throw failure;
}
