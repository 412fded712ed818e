import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { readJsonFile } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { FEATURE_SET_NAMES, type FeatureSetName } from '../features/index.js';
import { saveBundle, type TrainPhase, trainBundle, validateRules } from '../scoring/index.js';
import { intArg, positiveArg, seedOption } from './args.js';
import { bar, formatCount, progressLine } from './progress.js';
import {
  addSimulatorSizeOptions,
  defaultFeatureSetFor,
  openSource,
  parseDateFlag,
  type SkippedRecords,
  transactionsOf,
} from './sources.js';

/** The Fraud Detection Handbook's chapter 3 training period, the default for the simulator. */
export const HANDBOOK_TRAIN_FROM = '2018-07-25';
export const HANDBOOK_TRAIN_TO = '2018-07-31';

interface TrainFlags {
  customers?: number;
  terminals?: number;
  source: string;
  features?: FeatureSetName;
  trainFrom?: string;
  trainTo?: string;
  delayDays: number;
  seed?: number;
  out: string;
  split: 'all' | 'train' | 'test';
  trees?: number;
  maxDepth?: number;
  learningRate?: number;
  rcfTrees?: number;
  rcfSampleSize?: number;
  rules?: string;
  validationFraction: number;
}

export function trainCommand(): Command {
  const command = new Command('train')
    .description('Replay labelled history through the serving feature code and train a model bundle.')
    .option(
      '--source <spec>',
      'labelled history: simulator | synthetic-creditcard | creditcard:PATH | sparkov:PATH | jsonl:PATH',
      'simulator',
    )
    .addOption(
      new Option(
        '--features <set>',
        'feature set (default: creditcard for Kaggle-schema sources, else transactions)',
      ).choices(FEATURE_SET_NAMES),
    )
    .option(
      '--train-from <date>',
      `first training day (simulator default ${HANDBOOK_TRAIN_FROM}; others: all)`,
    )
    .option(
      '--train-to <date>',
      `last training day, inclusive (simulator default ${HANDBOOK_TRAIN_TO}; others: all)`,
    )
    .option('--delay-days <n>', 'days before a label is known (feedback delay)', intArg, 7)
    .addOption(seedOption())
    .option('--out <dir>', 'bundle directory to write', 'models/default')
    .addOption(
      new Option('--split <part>', 'creditcard: train on the lab split')
        .choices(['all', 'train', 'test'])
        .default('all'),
    )
    .option('--trees <n>', 'boosting rounds (upper bound: early stopping keeps the best)', intArg)
    .option('--max-depth <n>', 'tree depth', intArg)
    .option('--learning-rate <x>', 'shrinkage per tree', positiveArg)
    .option('--rcf-trees <n>', 'Random Cut Forest trees', intArg)
    .option('--rcf-sample-size <n>', 'Random Cut Forest sample size per tree', intArg)
    .option('--rules <file>', 'JSON file with an array of rules to ship in the bundle')
    .option(
      '--validation-fraction <x>',
      'latest share of training rows used for early stopping and thresholds',
      positiveArg,
      0.2,
    )
    .action(async (flags: TrainFlags) => {
      await runTrain(flags);
    });
  return addSimulatorSizeOptions(command);
}

async function runTrain(flags: TrainFlags): Promise<void> {
  const featureSet = flags.features ?? defaultFeatureSetFor(flags.source);
  const isSimulator = flags.source === 'simulator';
  const from = flags.trainFrom ?? (isSimulator ? HANDBOOK_TRAIN_FROM : undefined);
  const to = flags.trainTo ?? (isSimulator ? HANDBOOK_TRAIN_TO : undefined);
  const source = openSource(flags.source, {
    ...(flags.customers !== undefined && { customers: flags.customers }),
    ...(flags.terminals !== undefined && { terminals: flags.terminals }),
    ...(flags.seed !== undefined && { seed: flags.seed }),
    split: flags.split,
  });
  const rules = flags.rules ? validateRules(loadJsonArray(flags.rules), []) : [];
  const skipped: SkippedRecords = { malformed: 0 };
  const line = progressLine();
  let lastPhase: TrainPhase | undefined;
  let lastDraw = 0;
  const started = performance.now();
  const bundle = await trainBundle({
    name: flags.out.split('/').filter(Boolean).pop() ?? 'default',
    sourceName: flags.source,
    transactions: transactionsOf(source, skipped),
    featureSet,
    delayDays: flags.delayDays,
    trainFromMs: from ? parseDateFlag(from, '--train-from') : 0,
    trainToMs: to ? parseDateFlag(to, '--train-to', true) : 8.64e15,
    validationFraction: flags.validationFraction,
    gbdt: {
      ...(flags.trees !== undefined && { nTrees: flags.trees }),
      ...(flags.maxDepth !== undefined && { maxDepth: flags.maxDepth }),
      ...(flags.learningRate !== undefined && { learningRate: flags.learningRate }),
    },
    rcf: {
      ...(flags.rcfTrees !== undefined && { numberOfTrees: flags.rcfTrees }),
      ...(flags.rcfSampleSize !== undefined && { sampleSize: flags.rcfSampleSize }),
    },
    rules,
    ...(flags.seed !== undefined && { sourceSeed: flags.seed }),
    onProgress: (p) => {
      const now = performance.now();
      if (p.phase !== lastPhase && lastPhase !== undefined) line.done(`  ${lastPhase}: done`);
      if (p.phase === lastPhase && now - lastDraw < 100 && p.done !== p.total) return;
      lastPhase = p.phase;
      lastDraw = now;
      const status =
        p.total > 0
          ? `${bar(p.done / p.total)} ${formatCount(p.done)}/${formatCount(p.total)}`
          : `${formatCount(p.done)}`;
      line.update(`  ${p.phase}: ${status}${p.detail ? ` ${p.detail}` : ''}`);
    },
  });
  if (lastPhase) line.done(`  ${lastPhase}: done`);
  if (skipped.malformed > 0) {
    process.stderr.write(`skipped ${skipped.malformed} malformed records (first: ${skipped.firstReason})\n`);
  }
  const dir = resolve(flags.out);
  await saveBundle(dir, bundle);
  const m = bundle.manifest;
  const v = m.metrics.validation;
  process.stderr.write(
    `${[
      `trained ${m.featureSet} bundle ${m.fingerprint} in ${((performance.now() - started) / 1000).toFixed(1)} s -> ${dir}`,
      `  rows ${formatCount(m.training.rows)} (${formatCount(m.training.positives)} fraud), validation ${formatCount(m.training.validationRows)} (${formatCount(m.training.validationPositives)} fraud)`,
      `  classifier: ${m.gbdt.trees} trees; forest: ${bundle.rcf.options.numberOfTrees} trees x ${bundle.rcf.options.sampleSize} samples`,
      `  validation AUC ${v.classifier.auc.toFixed(4)} / AP ${v.classifier.averagePrecision.toFixed(4)} (classifier), ${v.combined.auc.toFixed(4)} / ${v.combined.averagePrecision.toFixed(4)} (combined, anomaly weight ${m.combination.anomalyWeight})`,
      `  thresholds: review >= ${m.thresholds.review.toFixed(4)}, decline >= ${m.thresholds.decline.toFixed(4)}`,
    ].join('\n')}\n`,
  );
}

function loadJsonArray(path: string): unknown[] {
  const value = readJsonFile(path, 'rules file');
  if (!Array.isArray(value)) throw new ConfigError(`${path} must contain a JSON array of rules`);
  return value;
}
