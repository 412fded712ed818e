/**
 * Detection quality over many simulated worlds: the Fraud Detection Handbook's chapter 3 protocol
 * (train 2018-07-25..31, 7-day delay, test 2018-08-08..14, known-compromised cards removed) for
 * each simulator seed, fraudstream at its defaults against XGBoost 1.7.4 (Debian's
 * python3-xgboost, `bench/peers/xgboost_fit_predict.py`) with the Handbook's baseline settings
 * (100 trees, depth 6, learning rate 0.3, one thread) on the very same feature rows and test rows,
 * measured by the same metric code. Per feature set it prints AUC, AP and CP@100 per seed for
 * the classifier, the forest, the combined score and XGBoost, their mean ± sd, and paired
 * differences with sign counts; then the gain of `transactions-plus` over `transactions`.
 *
 *   npm run bench -- quality
 *   node dist/bench/quality.bench.js [--seeds 0..9] [--customers 5000] [--terminals 10000]
 *        [--features transactions,transactions-plus] [--no-peer] [--json FILE]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Transaction } from '../src/events/index.js';
import { FEATURE_SET_NAMES, type FeatureSetName } from '../src/features/index.js';
import { averagePrecision, cardPrecisionAtK, rocAuc } from '../src/models/metrics/index.js';
import {
  formatMeanSd,
  formatPaired,
  type HandbookFigures,
  handbookFigures,
  pairedComparison,
  parseSeeds,
  runHandbookSeed,
  type TestRows,
} from '../src/scoring/index.js';
import { simulateDays } from '../src/sources/index.js';

/** The book's published chapter 3 figures (its own simulated rows, one world). */
export const HANDBOOK_PUBLISHED = Object.freeze({
  baseline: { auc: 0.862, ap: 0.639, cp100: 0.273 },
  bestTuned: { auc: 0.872, ap: 0.694, cp100: 0.304 },
});

export interface QualityOptions {
  seeds: number[];
  nCustomers: number;
  nTerminals: number;
  featureSets: FeatureSetName[];
  /** Train XGBoost on the same rows (needs python3-xgboost). */
  peer: boolean;
  log?: (line: string) => void;
}

/** Figures of one seed and one feature set. */
export interface SeedFigures {
  seed: number;
  classifier: HandbookFigures;
  forest: HandbookFigures;
  combined: HandbookFigures;
  anomalyWeight: number;
  trees: number;
  trainRows: number;
  testRows: number;
  testFrauds: number;
  trainSeconds: number;
  xgboost?: HandbookFigures & { trainSeconds: number; version: string };
}

export interface QualityResult {
  options: Omit<QualityOptions, 'log'>;
  /** Per feature set, one entry per seed in order. */
  sets: Partial<Record<FeatureSetName, SeedFigures[]>>;
  /** Why the peer is missing, when it is. */
  peerNote?: string;
}

const METRICS = ['auc', 'ap', 'cp100'] as const;
const LABEL: Record<(typeof METRICS)[number], string> = { auc: 'AUC', ap: 'AP', cp100: 'CP@100' };

/** Runs the protocol on every seed and feature set; prints as it goes through `log`. */
export async function runQuality(options: QualityOptions): Promise<QualityResult> {
  const log = options.log ?? (() => {});
  const { log: _, ...recorded } = options;
  const result: QualityResult = { options: recorded, sets: {} };
  const peerNote = options.peer ? peerAvailable() : 'peer disabled (--no-peer)';
  if (peerNote) result.peerNote = peerNote;
  for (const featureSet of options.featureSets) {
    const rows: SeedFigures[] = [];
    result.sets[featureSet] = rows;
    for (const seed of options.seeds) {
      const world = function* (): Generator<Transaction> {
        for (const day of simulateDays({
          seed,
          nCustomers: options.nCustomers,
          nTerminals: options.nTerminals,
          nDays: 136,
        }))
          yield* day.transactions;
      };
      const run = await runHandbookSeed({ seed, world, featureSet, train: { seed: 42 } });
      const { bundle, report } = run;
      const figures: SeedFigures = {
        seed,
        classifier: handbookFigures(report.classifier),
        forest: handbookFigures(report.anomaly),
        combined: handbookFigures(report.combined),
        anomalyWeight: bundle.manifest.combination.anomalyWeight,
        trees: bundle.manifest.gbdt.trees,
        trainRows: bundle.manifest.training.rows,
        testRows: report.rows,
        testFrauds: report.frauds,
        trainSeconds: run.trainSeconds,
      };
      if (!peerNote) figures.xgboost = runPeer(bundle.trainingSet, report.testRows!);
      rows.push(figures);
      log(`  ${featureSet} seed ${seed}: ${seedLine(figures)}`);
    }
  }
  return result;
}

function seedLine(f: SeedFigures): string {
  const t = (h: HandbookFigures): string => `${h.auc.toFixed(3)} ${h.ap.toFixed(3)} ${h.cp100.toFixed(3)}`;
  const x = f.xgboost ? ` | XGBoost ${t(f.xgboost)}` : '';
  return `classifier ${t(f.classifier)} | forest ${t(f.forest)} | combined (w ${f.anomalyWeight.toFixed(2)}) ${t(f.combined)}${x} | ${f.trees} trees, ${f.trainRows} train rows, ${f.testRows} test rows (${f.testFrauds} fraud), trained in ${f.trainSeconds.toFixed(1)} s`;
}

/** The summary tables: per seed, mean ± sd, paired differences. */
export function formatQuality(result: QualityResult): string {
  const lines: string[] = [];
  const scores = (rows: SeedFigures[]): [string, HandbookFigures[]][] => {
    const list: [string, HandbookFigures[]][] = [
      ['classifier', rows.map((r) => r.classifier)],
      ['forest', rows.map((r) => r.forest)],
      ['combined', rows.map((r) => r.combined)],
    ];
    if (rows.every((r) => r.xgboost)) list.push(['XGBoost', rows.map((r) => r.xgboost!)]);
    return list;
  };
  for (const [name, rows] of Object.entries(result.sets) as [FeatureSetName, SeedFigures[]][]) {
    lines.push('', `feature set ${name}: AUC / AP / CP@100 per seed`);
    const list = scores(rows);
    lines.push(`seed  ${list.map(([n]) => n.padEnd(20)).join('  ')}  weight  trees`);
    for (let i = 0; i < rows.length; i++) {
      const cells = list.map(
        ([, v]) => `${v[i]!.auc.toFixed(3)} ${v[i]!.ap.toFixed(3)} ${v[i]!.cp100.toFixed(3)}`,
      );
      lines.push(
        `${String(rows[i]!.seed).padEnd(4)}  ${cells.map((c) => c.padEnd(20)).join('  ')}  ${rows[i]!.anomalyWeight.toFixed(2).padStart(6)}  ${String(rows[i]!.trees).padStart(5)}`,
      );
    }
    lines.push(`mean ± sd over ${rows.length} seeds`);
    for (const [n, v] of list) {
      lines.push(
        `  ${n.padEnd(11)} ${METRICS.map((m) => `${LABEL[m]} ${formatMeanSd(v.map((f) => f[m]))}`).join('   ')}`,
      );
    }
    lines.push('paired differences (mean ± sd, seeds ahead / behind)');
    const byName = new Map(list);
    const pairs: [string, string][] = [
      ['combined', 'XGBoost'],
      ['classifier', 'XGBoost'],
      ['combined', 'classifier'],
    ];
    for (const [a, b] of pairs) {
      const va = byName.get(a);
      const vb = byName.get(b);
      if (!va || !vb) continue;
      lines.push(`  ${`${a} − ${b}`.padEnd(23)}`);
      for (const m of METRICS) {
        lines.push(
          `    ${LABEL[m].padEnd(7)} ${formatPaired(
            pairedComparison(
              va.map((f) => f[m]),
              vb.map((f) => f[m]),
            ),
          )}`,
        );
      }
    }
  }
  const base = result.sets.transactions;
  const plus = result.sets['transactions-plus'];
  if (base && plus && base.length === plus.length) {
    lines.push('', 'gain of transactions-plus over transactions (same seeds, paired)');
    for (const score of ['classifier', 'combined'] as const) {
      for (const m of METRICS) {
        lines.push(
          `  ${score.padEnd(10)} ${LABEL[m].padEnd(7)} ${formatPaired(
            pairedComparison(
              plus.map((r) => r[score][m]),
              base.map((r) => r[score][m]),
            ),
          )}`,
        );
      }
    }
  }
  lines.push(
    '',
    `Handbook published (its own rows, one world): baseline ${fmt(HANDBOOK_PUBLISHED.baseline)}, best tuned ${fmt(HANDBOOK_PUBLISHED.bestTuned)}`,
  );
  if (result.peerNote) lines.push(`peer: ${result.peerNote}`);
  return lines.join('\n');
}

function fmt(h: HandbookFigures): string {
  return `${h.auc.toFixed(3)} / ${h.ap.toFixed(3)} / ${h.cp100.toFixed(3)}`;
}

function flagValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

export function parseQualityArgs(args: string[]): QualityOptions & { json?: string } {
  const int = (name: string, fallback: number): number => {
    const v = flagValue(args, name);
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} needs a positive integer`);
    return n;
  };
  const featureSets = (flagValue(args, 'features') ?? 'transactions,transactions-plus').split(',');
  for (const f of featureSets) {
    if (!(FEATURE_SET_NAMES as readonly string[]).includes(f) || f === 'creditcard') {
      throw new Error(`--features: unknown or unsuitable feature set ${f}`);
    }
  }
  const json = flagValue(args, 'json');
  return {
    seeds: parseSeeds(flagValue(args, 'seeds') ?? '0..9'),
    nCustomers: int('customers', 5_000),
    nTerminals: int('terminals', 10_000),
    featureSets: featureSets as FeatureSetName[],
    peer: !args.includes('--no-peer'),
    ...(json !== undefined && { json }),
  };
}

export async function main(args: string[]): Promise<void> {
  const { json, ...options } = parseQualityArgs(args);
  console.log(
    `quality: Handbook ch.3 protocol (train 2018-07-25..31, delay 7 d, test 2018-08-08..14, known-compromised cards removed); simulator seeds ${options.seeds.join(',')}, ${options.nCustomers} customers, ${options.nTerminals} terminals; feature sets ${options.featureSets.join(', ')}; fraudstream at its defaults; peer XGBoost: 100 trees, depth 6, eta 0.3, hist, 1 thread`,
  );
  const started = performance.now();
  const result = await runQuality({ ...options, log: (l) => console.log(l) });
  console.log(formatQuality(result));
  console.log(`(quality protocol: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  if (json) writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
}

const PYTHON = '/usr/bin/python3';

/** `undefined` when XGBoost can run, else why not. */
function peerAvailable(): string | undefined {
  try {
    execFileSync(PYTHON, ['-c', 'import xgboost'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'python3-xgboost not installed (apt-get install python3-xgboost); skipped';
  }
}

/** XGBoost with the Handbook's baseline settings on fraudstream's training rows, scored on its test rows. */
function runPeer(
  train: { x: Float32Array; labels: Uint8Array; nCols: number },
  test: TestRows,
): HandbookFigures & { trainSeconds: number; version: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fraudstream-quality-'));
  try {
    const file = (name: string, data: Float32Array): string => {
      const path = join(dir, name);
      writeFileSync(path, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      return path;
    };
    const out = join(dir, 'proba.f32');
    // From dist/bench (built) or bench/ (vitest runs the source).
    const built = fileURLToPath(new URL('../../bench/peers/xgboost_fit_predict.py', import.meta.url));
    const script = existsSync(built)
      ? built
      : fileURLToPath(new URL('./peers/xgboost_fit_predict.py', import.meta.url));
    const params = { nCols: train.nCols, nTrees: 100, maxDepth: 6, learningRate: 0.3 };
    const result = JSON.parse(
      execFileSync(PYTHON, [
        script,
        file('train_x.f32', train.x),
        file('train_y.f32', Float32Array.from(train.labels)),
        file('test_x.f32', test.x),
        out,
        JSON.stringify(params),
      ]).toString(),
    ) as { version: string; trainSeconds: number };
    const bytes = readFileSync(out);
    const proba = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const cp100 = cardPrecisionAtK(
      Array.from(test.labels, (label, i) => ({
        day: test.days[i]!,
        cardId: test.cardIds[i]!,
        label: label as 0 | 1,
        score: proba[i]!,
      })),
      100,
    );
    return {
      auc: rocAuc(proba, test.labels),
      ap: averagePrecision(proba, test.labels),
      cp100,
      trainSeconds: result.trainSeconds,
      version: result.version,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
