import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { type EvaluationReport, evaluateBundle, loadBundle, type MetricSet } from '../scoring/index.js';
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
  models: string;
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
    .requiredOption('--models <dir>', 'model bundle directory')
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
  const bundle = await loadBundle(flags.models, {
    onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
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
