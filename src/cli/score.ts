import { createWriteStream, type WriteStream } from 'node:fs';
import { Command, Option } from 'commander';
import type { RecordKeyMode } from '../events/index.js';
import { createFeatureSet } from '../features/index.js';
import { createLogger, type LogLevel, silentLogger } from '../logging/index.js';
import { runInProcess } from '../pipeline/index.js';
import { loadBundle, Scorer } from '../scoring/index.js';
import { MemoryStore, type PersistResult, type ScoredTransaction, type Store } from '../store/index.js';
import { intArg, recordKeyOption, seedOption } from './args.js';
import { addEndpointOptions, type EndpointFlags, remoteScorerOptions } from './endpoints.js';
import { formatCount, progressLine, ratePerSecond } from './progress.js';
import { addSimulatorSizeOptions, openSource } from './sources.js';

interface ScoreFlags extends EndpointFlags {
  customers?: number;
  terminals?: number;
  source: string;
  models: string;
  out?: string;
  count?: number;
  seed?: number;
  split: 'all' | 'train' | 'test';
  batchSize: number;
  logLevel?: LogLevel;
  recordKey: RecordKeyMode;
}

export function scoreCommand(): Command {
  const command = new Command('score')
    .description('Run the whole pipeline in-process over a file or generator and summarise the decisions.')
    .requiredOption(
      '--source <spec>',
      'jsonl:PATH | creditcard:PATH | sparkov:PATH | simulator | synthetic-creditcard',
    )
    .requiredOption('--models <dir>', 'model bundle directory')
    .option('--out <file>', 'write one JSON result per transaction (JSON lines)')
    .option('--count <n>', 'stop after n records', intArg)
    .addOption(seedOption())
    .addOption(
      new Option('--split <part>', 'creditcard: which part of the lab split')
        .choices(['all', 'train', 'test'])
        .default('all'),
    )
    .option('--batch-size <n>', 'records per batch', intArg, 500)
    .addOption(recordKeyOption())
    .addOption(
      new Option('--log-level <level>', 'structured logs on stderr').choices([
        'silent',
        'error',
        'warn',
        'info',
        'debug',
      ]),
    )
    .action(async (flags: ScoreFlags) => {
      await runScore(flags);
    });
  return addEndpointOptions(addSimulatorSizeOptions(command));
}

async function runScore(flags: ScoreFlags): Promise<void> {
  const bundle = await loadBundle(flags.models, {
    onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
  });
  const featureSet = createFeatureSet(bundle.manifest.featureSet, { delayDays: bundle.manifest.delayDays });
  const memory = new MemoryStore();
  const out = flags.out ? createWriteStream(flags.out) : undefined;
  const store: Store = out ? new ResultsFileStore(memory, out) : memory;
  const line = progressLine();
  const source = openSource(flags.source, {
    ...(flags.customers !== undefined && { customers: flags.customers }),
    ...(flags.terminals !== undefined && { terminals: flags.terminals }),
    ...(flags.seed !== undefined && { seed: flags.seed }),
    ...(flags.count !== undefined && { count: flags.count }),
    split: flags.split,
  });
  const log = flags.logLevel ? createLogger(flags.logLevel) : silentLogger();
  const remote = remoteScorerOptions(flags, log);
  const result = await runInProcess({
    source,
    store,
    featureSet,
    scorer: new Scorer(bundle, remote.options),
    batchSize: flags.batchSize,
    recordKey: flags.recordKey,
    ...(flags.count !== undefined && { count: flags.count }),
    logger: log,
    onBatch: (s) => line.update(`score: ${formatCount(s.persisted + s.deadLettered)} records`),
  }).finally(() => remote.close());
  if (out)
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  const c = result.consumed;
  const processed = c.persisted + c.duplicates;
  const letters = await memory.recentDeadLetters(10_000);
  const reasons: Record<string, number> = {};
  for (const d of letters) {
    const key = d.reason.replace(/, got .*$/, '');
    reasons[key] = (reasons[key] ?? 0) + 1;
  }
  const summary = {
    processed,
    duplicates: c.duplicates,
    deadLettered: c.deadLettered,
    decisions: c.decisions,
    deadLetterReasons: reasons,
    // By destination and error class: the store's and the transport's dead letters together.
    deadLetters: c.deadLetters,
    seconds: Number((result.elapsedMs / 1000).toFixed(3)),
    throughputPerSecond: Math.round(ratePerSecond(processed + c.deadLettered, result.elapsedMs)),
    modelVersion: bundle.manifest.fingerprint,
    ...(flags.out && { out: flags.out }),
  };
  line.done(
    `scored ${formatCount(processed)} transactions from ${source.name} in ${summary.seconds} s (${formatCount(summary.throughputPerSecond)}/s): approve ${formatCount(c.decisions.approve)}, review ${formatCount(c.decisions.review)}, decline ${formatCount(c.decisions.decline)}; dead-lettered ${formatCount(c.deadLettered)}`,
  );
  for (const [reason, n] of Object.entries(reasons)) process.stderr.write(`  dead letter: ${n}x ${reason}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

/** Passes writes to a store and appends each new result to a JSON-lines file. */
class ResultsFileStore implements Store {
  constructor(
    private readonly inner: Store,
    private readonly out: WriteStream,
  ) {}

  async persistBatch(results: readonly ScoredTransaction[]): Promise<PersistResult> {
    const fresh: ScoredTransaction[] = [];
    for (const r of results) if ((await this.inner.getTransaction(r.key)) === undefined) fresh.push(r);
    const persisted = await this.inner.persistBatch(results);
    let text = '';
    for (const r of fresh) text += `${JSON.stringify(resultLine(r))}\n`;
    if (text && !this.out.write(text))
      await new Promise<void>((resolve) => this.out.once('drain', () => resolve()));
    return persisted;
  }

  deadLetter: Store['deadLetter'] = (items) => this.inner.deadLetter(items);
  getTransaction: Store['getTransaction'] = (key) => this.inner.getTransaction(key);
  countTransactions: Store['countTransactions'] = () => this.inner.countTransactions();
  countDeadLetters: Store['countDeadLetters'] = () => this.inner.countDeadLetters();
  recentDeadLetters: Store['recentDeadLetters'] = (limit) => this.inner.recentDeadLetters(limit);
  scoreSeries: Store['scoreSeries'] = (...args) => this.inner.scoreSeries(...args);
  counters: Store['counters'] = (...args) => this.inner.counters(...args);
  recentAlerts: Store['recentAlerts'] = (limit) => this.inner.recentAlerts(limit);
  searchTransactions: Store['searchTransactions'] = (query) => this.inner.searchTransactions(query);
  close: Store['close'] = () => this.inner.close();
}

/** One line of `score --out`: the transaction's identity and what was decided, in the lab's vocabulary where it has one. */
export function resultLine(r: ScoredTransaction): Record<string, unknown> {
  return {
    key: r.key,
    id: r.transaction.id,
    timestamp: new Date(r.transaction.timestampMs).toISOString(),
    cardId: r.transaction.cardId,
    terminalId: r.transaction.terminalId,
    amount: r.transaction.amount,
    fraud_score: r.fraudScore,
    decision: r.decision,
    anomaly_detector: { score: r.anomalyScore },
    fraud_classifier: {
      pred_proba: r.classifierProbability,
      prediction: r.classifierProbability >= 0.5 ? 1 : 0,
    },
    reasons: r.reasons,
    ...(r.transaction.label !== undefined && { label: r.transaction.label }),
    modelVersion: r.modelVersion,
  };
}
