import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { ConfigError } from '../errors/index.js';
import type { Transaction } from '../events/index.js';
import { FEATURE_SET_NAMES, type FeatureSetName } from '../features/index.js';
import {
  type EvaluationReport,
  evaluateBundle,
  formatMeanSd,
  formatPaired,
  type HandbookFigures,
  handbookFigures,
  loadBundle,
  type MetricSet,
  pairedComparison,
  parseSeeds,
  runHandbookSeed,
} from '../scoring/index.js';
import { intArg, seedOption } from './args.js';
import { formatCount, progressLine } from './progress.js';
import {
  addSimulatorSizeOptions,
  openSource,
  parseDateFlag,
  type SkippedRecords,
  transactionsOf,
} from './sources.js';

/** The Fraud Detection Handbook's chapter 3 test period, the default for the simulator. */
export const HANDBOOK_TEST_FROM = '2018-08-08';
export const HANDBOOK_TEST_TO = '2018-08-14';

interface EvaluateFlags {
  customers?: number;
  terminals?: number;
  models?: string;
  seeds?: string;
  features?: FeatureSetName;
  source: string;
  seed?: number;
  testFrom?: string;
  testTo?: string;
  split: 'all' | 'train' | 'test';
  json?: string | boolean;
  k: number;
  keepKnownCompromised?: boolean;
}

export function evaluateCommand(): Command {
  const command = new Command('evaluate')
    .description('Score a later test period with a bundle and report AUC, AP, Card Precision@k and more.')
    .option('--models <dir>', 'model bundle directory (required unless --seeds)')
    .option(
      '--seeds <list>',
      'simulator: train at the defaults and evaluate on each world (0..9 or 0,3,5), the Handbook protocol; prints mean ± sd and paired comparisons',
    )
    .addOption(
      new Option('--features <set>', 'with --seeds: feature set to train').choices(
        FEATURE_SET_NAMES.filter((n) => n !== 'creditcard'),
      ),
    )
    .option('--source <spec>', 'labelled history covering training and test periods', 'simulator')
    .addOption(seedOption())
    .option(
      '--test-from <date>',
      `first test day (simulator default ${HANDBOOK_TEST_FROM}; others: after training)`,
    )
    .option(
      '--test-to <date>',
      `last test day, inclusive (simulator default ${HANDBOOK_TEST_TO}; others: all)`,
    )
    .addOption(
      new Option('--split <part>', 'creditcard: evaluate on the lab hold-out')
        .choices(['all', 'train', 'test'])
        .default('all'),
    )
    .option('--k <n>', 'alerts per day for Card Precision@k', intArg, 100)
    .option(
      '--keep-known-compromised',
      'keep test transactions of cards already known compromised (the Handbook removes them)',
    )
    .option('--json [file]', 'print the report as JSON (to a file when given)')
    .action(async (flags: EvaluateFlags) => {
      await runEvaluate(flags);
    });
  return addSimulatorSizeOptions(command);
}

async function runEvaluate(flags: EvaluateFlags): Promise<void> {
  if (flags.seeds !== undefined) {
    await runSeeds(flags);
    return;
  }
  if (flags.models === undefined)
    throw new ConfigError('evaluate needs --models <dir> (or --seeds to train per world)');
  const bundle = await loadBundle(flags.models, {
    onWarning: (m) =>
      process.stderr.write(`warning: ${m}
`),
  });
  const isSimulator = flags.source === 'simulator';
  const from = flags.testFrom ?? (isSimulator ? HANDBOOK_TEST_FROM : undefined);
  const to = flags.testTo ?? (isSimulator ? HANDBOOK_TEST_TO : undefined);
  const source = openSource(flags.source, {
    ...(flags.customers !== undefined && { customers: flags.customers }),
    ...(flags.terminals !== undefined && { terminals: flags.terminals }),
    ...(flags.seed !== undefined && { seed: flags.seed }),
    split: flags.split,
  });
  const skipped: SkippedRecords = { malformed: 0 };
  const line = progressLine();
  const report = await evaluateBundle(bundle, {
    transactions: transactionsOf(source, skipped),
    testFromMs: from ? parseDateFlag(from, '--test-from') : bundle.manifest.training.toMs + 1,
    testToMs: to ? parseDateFlag(to, '--test-to', true) : 8.64e15,
    removeKnownCompromised: flags.keepKnownCompromised !== true,
    k: flags.k,
    onProgress: (n, at) =>
      line.update(
        `  replaying: ${formatCount(n)} transactions, at ${new Date(at).toISOString().slice(0, 10)}`,
      ),
  });
  line.done(
    `evaluated bundle ${bundle.manifest.fingerprint} on ${formatCount(report.rows)} test transactions (${formatCount(report.frauds)} fraud)`,
  );
  if (skipped.malformed > 0)
    process.stderr.write(`skipped ${skipped.malformed} malformed records (first: ${skipped.firstReason})\n`);
  if (flags.json !== undefined) {
    const text = `${JSON.stringify(report, null, 2)}\n`;
    if (typeof flags.json === 'string') await writeFile(flags.json, text);
    else process.stdout.write(text);
    if (typeof flags.json !== 'string') return;
  }
  process.stdout.write(formatReport(report, flags.k));
}

/** The report as a fixed-width table, one row per score. */
export function formatReport(report: EvaluationReport, k = 100): string {
  const head = ['score', 'AUC', 'AP', `CP@${k}`, 'precision', 'recall', 'F1', 'bal.acc', 'kappa'];
  const row = (name: string, m: MetricSet): string[] => [
    name,
    m.auc.toFixed(3),
    m.averagePrecision.toFixed(3),
    m.cardPrecisionAt100 === undefined ? 'n/a' : m.cardPrecisionAt100.toFixed(3),
    m.precision.toFixed(3),
    m.recall.toFixed(3),
    m.f1.toFixed(3),
    m.balancedAccuracy.toFixed(3),
    m.cohensKappa.toFixed(3),
  ];
  const rows = [
    head,
    row('classifier', report.classifier),
    row('anomaly (RCF)', report.anomaly),
    row('combined', report.combined),
  ];
  const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
  return `${lines.join('\n')}\n(threshold-based figures at the review threshold ${report.threshold.toFixed(4)}; ${formatCount(report.removedKnownCompromised)} transactions of known-compromised cards removed)\n`;
}

/** `evaluate --seeds`: the Handbook protocol on each simulated world, fraudstream at its defaults. */
async function runSeeds(flags: EvaluateFlags): Promise<void> {
  if (flags.source !== 'simulator') throw new ConfigError('--seeds works with --source simulator');
  const seeds = parseSeeds(flags.seeds!);
  const featureSet = flags.features ?? 'transactions';
  const per: { classifier: HandbookFigures; forest: HandbookFigures; combined: HandbookFigures }[] = [];
  const line = progressLine();
  for (const seed of seeds) {
    const source = (): AsyncIterable<Transaction> =>
      transactionsOf(
        openSource('simulator', {
          seed,
          ...(flags.customers !== undefined && { customers: flags.customers }),
          ...(flags.terminals !== undefined && { terminals: flags.terminals }),
        }),
        { malformed: 0 },
      );
    line.update(`  seed ${seed}: training and evaluating (${featureSet})`);
    const { report, bundle } = await runHandbookSeed({ seed, world: source, featureSet });
    const f = {
      classifier: handbookFigures(report.classifier),
      forest: handbookFigures(report.anomaly),
      combined: handbookFigures(report.combined),
    };
    per.push(f);
    line.done(
      `seed ${seed}: classifier ${fig(f.classifier)} | forest ${fig(f.forest)} | combined (weight ${bundle.manifest.combination.anomalyWeight.toFixed(2)}) ${fig(f.combined)}  (AUC AP CP@100)`,
    );
  }
  const metrics = ['auc', 'ap', 'cp100'] as const;
  for (const score of ['classifier', 'forest', 'combined'] as const) {
    process.stdout.write(
      `${score.padEnd(10)} ${metrics.map((m) => `${m === 'cp100' ? 'CP@100' : m.toUpperCase()} ${formatMeanSd(per.map((p) => p[score][m]))}`).join('   ')}\n`,
    );
  }
  for (const m of metrics) {
    const c = pairedComparison(
      per.map((p) => p.combined[m]),
      per.map((p) => p.classifier[m]),
    );
    process.stdout.write(
      `combined − classifier ${m === 'cp100' ? 'CP@100' : m.toUpperCase()}: ${formatPaired(c)}\n`,
    );
  }
}

function fig(h: HandbookFigures): string {
  return `${h.auc.toFixed(3)} ${h.ap.toFixed(3)} ${h.cp100.toFixed(3)}`;
}
