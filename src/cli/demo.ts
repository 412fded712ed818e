/**
 * `fraudstream demo`: the whole job in one process. Simulates history, trains both models on it
 * (progress bars), then streams live transactions through producer → memory stream → consumer
 * (features, models, decision) → memory store, with a live panel on the terminal and the web
 * dashboard on localhost, and prints a summary.
 */
import { Command } from 'commander';
import { redactUrl } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import type { Feedback, Transaction } from '../events/index.js';
import {
  createFeatureSet,
  DAY_MS,
  feedbackFor,
  MemoryWindowState,
  type WindowState,
} from '../features/index.js';
import { silentLogger } from '../logging/index.js';
import { PipelineMetrics } from '../metrics/index.js';
import { type ConsumerStats, type ExternalStream, runInProcess } from '../pipeline/index.js';
import { DriftMonitor, Scorer, trainBundle } from '../scoring/index.js';
import { type Source, type SourceRecord, simulateDays } from '../sources/index.js';
import { MemoryStore, type Store } from '../store/index.js';
import { RedisStreamTransport } from '../transports/index.js';
import { intArg, positiveArg, seedOption } from './args.js';
import { isRedisUrl, redisStreamOptions, resolveRedisUrl } from './connections.js';
import { DASHBOARD_HOST_HELP, type DashboardFlags, portArg, serveDashboard } from './dashboard.js';
import { bar, formatCount, progressLine, ratePerSecond } from './progress.js';
import { defaultFeatureSetFor, openSource, transactionsOf } from './sources.js';
import { openStore, openWindowState, type PrefixFlags } from './stores.js';

interface DemoFlags extends PrefixFlags, DashboardFlags {
  redis?: string;
  redisCluster?: boolean;
  source: string;
  count?: number;
  duration?: number;
  rate: number;
  seed: number;
  historyDays: number;
  trainDays: number;
  customers: number;
  terminals: number;
  historyCount: number;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'Simulate history, train both models, then stream live transactions through the whole pipeline in-process.',
    )
    .option(
      '--source <spec>',
      'simulator | synthetic-creditcard | creditcard:PATH | sparkov:PATH | jsonl:PATH',
      'simulator',
    )
    .option(
      '--count <n>',
      `live transactions before stopping (0 = no limit; default ${DEFAULT_DEMO_COUNT} unless --duration is given)`,
      intArg,
    )
    .option(
      '--duration <s>',
      'stop after this many seconds of live traffic (with --count too: whichever comes first)',
      positiveArg,
    )
    .option('--rate <n>', 'live transactions per second (0 = as fast as the pipeline goes)', intArg, 5_000)
    .addOption(seedOption().default(0))
    .option('--history-days <n>', 'simulator: days of history before live traffic', intArg, 45)
    .option('--train-days <n>', 'simulator: last days of history the models learn from', intArg, 14)
    .option('--customers <n>', 'simulator: customers', intArg, 5_000)
    .option('--terminals <n>', 'simulator: terminals', intArg, 10_000)
    .option('--history-count <n>', 'other sources: records of history before live traffic', intArg, 100_000)
    .option(
      '--redis <url>',
      'run transport, store and feature state on Redis (redis://HOST:PORT, or "redis" for REDIS_URL)',
    )
    .option('--redis-cluster', 'redis: the URL is a seed node of a Redis Cluster')
    .option('--prefix <prefix>', 'redis: key prefix of this run (default fraudstream:)')
    .option('--dashboard-port <n>', 'port of the live web dashboard (0 = any free port)', portArg, 8080)
    .option('--dashboard-host <host>', DASHBOARD_HOST_HELP)
    .option('--no-dashboard', 'do not serve the live web dashboard')
    .action(async (flags: DemoFlags, command: Command) => {
      await runDemo(flags, command);
    });
}

async function runDemo(flags: DemoFlags, command: Command): Promise<void> {
  const started = performance.now();
  const featureSetName = defaultFeatureSetFor(flags.source);
  const delayDays = 7;
  const { history, live, trainFromMs, trainToMs, description } = splitHistory(flags);
  process.stderr.write(`fraudstream demo: ${description}\n`);

  // Labels of the last `delayDays` of history are not yet known when training ends; the live
  // consumer receives them as pending feedback so serving continues exactly where training stopped.
  let tail: Transaction[] = [];
  let lastHistoryMs = Number.NEGATIVE_INFINITY;
  const historyTx = async function* (): AsyncGenerator<Transaction> {
    for await (const tx of transactionsOf({ name: 'history', records: () => history })) {
      if (tx.timestampMs > lastHistoryMs) lastHistoryMs = tx.timestampMs;
      if (tx.label !== undefined) tail.push(tx);
      // Keep only what can still be pending: labels of the last `delayDays` of history.
      if (tail.length > 200_000)
        tail = tail.filter((t) => t.timestampMs > lastHistoryMs - delayDays * DAY_MS);
      yield tx;
    }
  };

  const backend = flags.redis ? await openRedisBackend(flags, delayDays) : undefined;
  const state: WindowState = backend?.state ?? new MemoryWindowState({ delayDays });
  if (backend) process.stderr.write(`redis: ${backend.description}\n`);
  const store: Store = backend?.store ?? new MemoryStore();
  // Served from the start, so the page can be opened while the models train.
  const info: Record<string, string> = {
    source: flags.source,
    store: backend ? backend.description : 'memory (this process)',
    'feature set': featureSetName,
    model: 'training…',
  };
  // Prometheus metrics at the dashboard's /metrics: the live run's totals and the trained model.
  let liveStats: ConsumerStats | undefined;
  let modelVersion: string | undefined;
  let drift: DriftMonitor | undefined;
  const driftReport = () => drift?.report();
  const dashboard =
    flags.dashboard === false
      ? undefined
      : await serveDashboard(store, flags, {
          title: 'fraudstream demo',
          info,
          command,
          metrics: new PipelineMetrics({
            stats: () => liveStats,
            modelVersion: () => modelVersion,
            drift: driftReport,
          }),
          pipeline: () => liveStats,
          drift: driftReport,
        });
  if (dashboard) process.stderr.write(`dashboard: ${dashboard.url}\n`);
  const line = progressLine();
  let phase = '';
  let lastDraw = 0;
  const bundle = await trainBundle({
    name: 'demo',
    sourceName: flags.source,
    transactions: historyTx(),
    featureSet: featureSetName,
    state,
    delayDays,
    trainFromMs,
    trainToMs,
    seed: flags.seed,
    sourceSeed: flags.seed,
    onProgress: (p) => {
      const now = performance.now();
      if (p.phase !== phase && phase !== '') line.done(`  ${phase}: done`);
      if (p.phase === phase && now - lastDraw < 100) return;
      phase = p.phase;
      lastDraw = now;
      line.update(
        `  ${p.phase}: ${p.total > 0 ? bar(p.done / p.total) : formatCount(p.done)} ${p.detail ?? ''}`,
      );
    },
  });
  line.done(`  ${phase}: done`);
  const m = bundle.manifest;
  process.stderr.write(
    `trained on ${formatCount(m.training.rows)} transactions (${formatCount(m.training.positives)} fraud) in ${m.training.seconds.toFixed(1)} s: validation AUC ${m.metrics.validation.combined.auc.toFixed(3)}, AP ${m.metrics.validation.combined.averagePrecision.toFixed(3)}; review >= ${m.thresholds.review.toFixed(3)}, decline >= ${m.thresholds.decline.toFixed(3)}\n`,
  );
  modelVersion = m.fingerprint;
  if (m.drift) drift = new DriftMonitor(m.drift, m.featureNames);
  dashboard?.setInfo({
    ...info,
    model: `${m.fingerprint} (validation AUC ${m.metrics.validation.combined.auc.toFixed(3)})`,
    thresholds: `review >= ${m.thresholds.review.toFixed(3)}, decline >= ${m.thresholds.decline.toFixed(3)}`,
  });

  const pendingFeedback: Feedback[] = tail
    .filter((tx) => tx.timestampMs > Math.min(trainToMs, lastHistoryMs) - delayDays * DAY_MS)
    .map((tx) => feedbackFor(tx, delayDays))
    .sort((a, b) => a.atMs - b.atMs);
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const limits = demoLimits(flags);
  const timer = limits.durationS ? setTimeout(stop, limits.durationS * 1000) : undefined;
  const liveStarted = performance.now();
  let lastPanel = 0;
  const panel = progressLine();
  const result = await runInProcess({
    source: live,
    ...(backend && { stream: backend.stream }),
    store,
    featureSet: createFeatureSet(featureSetName, { delayDays, state }),
    scorer: new Scorer(bundle),
    // The default rate leaves headroom, so the latency shown is the pipeline's, not a queue's.
    pacing: flags.rate > 0 ? { kind: 'rate', perSecond: flags.rate } : { kind: 'max' },
    ...(limits.count > 0 && { count: limits.count }),
    ...(drift && { drift }),
    simulatedFeedbackDelayDays: delayDays,
    pendingFeedback,
    logger: silentLogger(),
    signal: abort.signal,
    // Live stats from the start: a store that fails from the first batch shows as a stall.
    onConsumer: (consumer) => {
      liveStats = consumer.stats;
    },
    onBatch: (s) => {
      liveStats = s;
      const now = performance.now();
      if (now - lastPanel < 250) return;
      lastPanel = now;
      const done = s.persisted + s.duplicates;
      panel.update(
        `live: ${formatCount(done)} tx (${formatCount(ratePerSecond(done, now - liveStarted))}/s) | review ${formatCount(s.decisions.review)} decline ${formatCount(s.decisions.decline)} | latency p50 ${s.latency.quantile(0.5).toFixed(1)} ms p99 ${s.latency.quantile(0.99).toFixed(1)} ms`,
      );
    },
  });
  if (timer) clearTimeout(timer);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  const c = result.consumed;
  const processed = c.persisted + c.duplicates;
  const liveMs = performance.now() - liveStarted;
  panel.done(
    `live: ${formatCount(processed)} transactions in ${(liveMs / 1000).toFixed(1)} s (${formatCount(ratePerSecond(processed, liveMs))}/s); approve ${formatCount(c.decisions.approve)}, review ${formatCount(c.decisions.review)}, decline ${formatCount(c.decisions.decline)}; dead-lettered ${formatCount(c.deadLettered)}; latency p50 ${c.latency.quantile(0.5).toFixed(1)} ms, p99 ${c.latency.quantile(0.99).toFixed(1)} ms`,
  );
  const alerts = await store.recentAlerts(5);
  for (const a of alerts) {
    const why = a.reasons
      .slice(0, 3)
      .map((r) => r.name)
      .join(', ');
    process.stderr.write(
      `  alert ${a.decision.padEnd(7)} card ${a.cardId} terminal ${a.terminalId} amount ${a.amount.toFixed(2)} score ${a.fraudScore.toFixed(3)}${why ? ` because ${why}` : ''}\n`,
    );
  }
  const labelled = store instanceof MemoryStore ? await liveQuality(store) : {};
  const stored = await store.countTransactions();
  // The dashboard reads the store, so it stops first; then nothing keeps the process alive.
  if (dashboard) {
    await dashboard.close();
    process.stderr.write(
      'dashboard: closed with the demo; `npm run demo -- --duration 300` keeps it for 5 minutes, `--count 0` until Ctrl-C\n',
    );
  }
  await backend?.close();
  const summary = {
    live: processed,
    approve: c.decisions.approve,
    review: c.decisions.review,
    decline: c.decisions.decline,
    deadLettered: c.deadLettered,
    deadLetters: c.deadLetters,
    throughputPerSecond: Math.round(ratePerSecond(processed, liveMs)),
    latencyP50Ms: Number(c.latency.quantile(0.5).toFixed(2)),
    latencyP99Ms: Number(c.latency.quantile(0.99).toFixed(2)),
    ...labelled,
    stored,
    totalSeconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** Live transactions of a demo given neither `--count` nor `--duration`. */
export const DEFAULT_DEMO_COUNT = 50_000;

/**
 * When the live phase stops: with only one of `--count` and `--duration`, that one alone decides
 * (a duration is not cut short by the default count); with both, whichever comes first; with
 * neither, after {@link DEFAULT_DEMO_COUNT} transactions. `count` 0 means no count limit.
 */
export function demoLimits(flags: { count?: number; duration?: number }): {
  count: number;
  durationS?: number;
} {
  const count = flags.count ?? (flags.duration === undefined ? DEFAULT_DEMO_COUNT : 0);
  return flags.duration === undefined ? { count } : { count, durationS: flags.duration };
}

interface RedisBackend {
  stream: ExternalStream;
  store: Store;
  state: WindowState;
  description: string;
  close(): Promise<void>;
}

/** Transport, store and feature state on Redis for `demo --redis`; the stream is new for each run so counts start at zero. */
async function openRedisBackend(flags: DemoFlags, delayDays: number): Promise<RedisBackend> {
  const url = resolveRedisUrl(flags.redis!);
  if (!isRedisUrl(url)) throw new ConfigError(`--redis expects redis://HOST:PORT, got ${redactUrl(url)}`);
  const prefix = flags.prefix ?? 'fraudstream:';
  const streamName = `${prefix}demo:${Date.now().toString(36)}`;
  const transport = await RedisStreamTransport.connect({
    ...redisStreamOptions(url, flags),
    stream: streamName,
    maxLen: 1_000_000,
  });
  const store = await openStore(url, { ...flags, prefix });
  const state = await openWindowState(url, { ...flags, prefix }, delayDays);
  return {
    stream: { writer: transport.writer(), reader: transport.reader({ maxBatch: 500, maxWaitMs: 20 }) },
    store,
    state: state!,
    description: `${redactUrl(url)}, stream ${streamName}, keys under ${prefix}`,
    close: async () => {
      await transport.close();
      await state?.close?.();
      await store.close();
    },
  };
}

/** Of the live transactions that carry a label (simulated data), how many frauds were flagged and how precise the flags were. */
async function liveQuality(
  store: MemoryStore,
): Promise<{ frauds?: number; fraudsFlagged?: number; flaggedPrecision?: number }> {
  const n = await store.countTransactions();
  if (n === 0) return {};
  let frauds = 0;
  let caught = 0;
  let flagged = 0;
  let flaggedFraud = 0;
  for (const r of store.values()) {
    const label = r.transaction.label;
    if (label === undefined) return {};
    const isFlagged = r.decision !== 'approve';
    frauds += label;
    if (isFlagged) {
      flagged++;
      flaggedFraud += label;
      if (label === 1) caught++;
    }
  }
  return {
    frauds,
    fraudsFlagged: caught,
    flaggedPrecision: flagged > 0 ? Number((flaggedFraud / flagged).toFixed(3)) : 0,
  };
}

interface HistorySplit {
  history: AsyncIterable<SourceRecord>;
  live: Source;
  trainFromMs: number;
  trainToMs: number;
  description: string;
}

/** Splits one source into the history the models learn from and the live traffic that follows it. */
function splitHistory(flags: DemoFlags): HistorySplit {
  if (flags.source === 'simulator') {
    const days = simulateDays({
      seed: flags.seed,
      nCustomers: flags.customers,
      nTerminals: flags.terminals,
      nDays: flags.historyDays + 365,
    });
    const first = days.next();
    if (first.done) throw new Error('the simulator produced no days');
    const startMs = first.value.dateMs;
    const liveFromMs = startMs + flags.historyDays * DAY_MS;
    let pending: { transactions: Transaction[]; dateMs: number } | undefined = first.value;
    const history = (async function* (): AsyncGenerator<SourceRecord> {
      while (pending && pending.dateMs < liveFromMs) {
        for (const transaction of pending.transactions) yield { kind: 'transaction', transaction };
        const next = days.next();
        pending = next.done ? undefined : next.value;
      }
    })();
    const live: Source = {
      name: 'simulator (live)',
      async *records() {
        while (pending) {
          for (const transaction of pending.transactions) yield { kind: 'transaction', transaction };
          const next = days.next();
          pending = next.done ? undefined : next.value;
        }
      },
    };
    return {
      history,
      live,
      trainFromMs: liveFromMs - flags.trainDays * DAY_MS,
      trainToMs: liveFromMs - 1,
      description: `simulator seed ${flags.seed}: ${formatCount(flags.customers)} customers, ${formatCount(flags.terminals)} terminals; ${flags.historyDays} days of history (training on the last ${flags.trainDays}), then live traffic`,
    };
  }
  if (flags.source.startsWith('creditcard:')) {
    // The reference lab's own path: train on the file minus its 10% hold-out, stream the hold-out live.
    return {
      history: openSource(flags.source, { seed: flags.seed, split: 'train' }).records(),
      live: openSource(flags.source, { seed: flags.seed, split: 'test' }),
      trainFromMs: 0,
      trainToMs: 8.64e15,
      description: `${flags.source}: training on the lab's 90% split, streaming its 10% hold-out as lab envelopes`,
    };
  }
  const source = openSource(flags.source, { seed: flags.seed });
  const iterator = source.records()[Symbol.asyncIterator]();
  let taken = 0;
  const history = (async function* (): AsyncGenerator<SourceRecord> {
    while (taken < flags.historyCount) {
      const next = await iterator.next();
      if (next.done) return;
      taken++;
      yield next.value;
    }
  })();
  const live: Source = {
    name: `${source.name} (live)`,
    async *records() {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    },
  };
  return {
    history,
    live,
    trainFromMs: 0,
    trainToMs: 8.64e15,
    description: `${flags.source}: training on the first ${formatCount(flags.historyCount)} records, then streaming the rest`,
  };
}
