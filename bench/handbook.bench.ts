/**
 * The Fraud Detection Handbook's chapter 3 table, reproduced with fraudstream's simulator,
 * features and models, with XGBoost (Debian's python3-xgboost, when installed) trained on the
 * very same rows as a peer in the same run.
 *
 *   node dist/bench/handbook.bench.js [--seed 0] [--customers 5000] [--terminals 10000]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Transaction } from '../src/events/index.js';
import { averagePrecision, cardPrecisionAtK, rocAuc } from '../src/models/metrics/index.js';
import { evaluateBundle, type MetricSet, trainBundle } from '../src/scoring/index.js';
import { simulateDays } from '../src/sources/index.js';

interface Row {
  name: string;
  auc: number;
  ap: number;
  cp: number;
}

const BOOK: Row[] = [
  { name: 'Handbook: XGBoost baseline', auc: 0.862, ap: 0.639, cp: 0.273 },
  { name: 'Handbook: best tuned XGBoost', auc: 0.872, ap: 0.694, cp: 0.304 },
];

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export async function main(args: string[]): Promise<void> {
  const seed = flag(args, 'seed', 0);
  const nCustomers = flag(args, 'customers', 5_000);
  const nTerminals = flag(args, 'terminals', 10_000);
  const world = function* (): Generator<Transaction> {
    for (const day of simulateDays({ seed, nCustomers, nTerminals, nDays: 136 })) yield* day.transactions;
  };
  console.log(
    `handbook protocol: simulator seed ${seed}, ${nCustomers} customers, ${nTerminals} terminals; train 2018-07-25..31, delay 7 d, test 2018-08-08..14; classifier defaults, forest defaults`,
  );
  const t0 = performance.now();
  const bundle = await trainBundle({
    name: 'handbook',
    sourceName: 'simulator',
    transactions: world(),
    featureSet: 'transactions',
    trainFromMs: Date.UTC(2018, 6, 25),
    trainToMs: Date.UTC(2018, 7, 1) - 1,
    seed,
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  const report = await evaluateBundle(bundle, {
    transactions: world(),
    testFromMs: Date.UTC(2018, 7, 8),
    testToMs: Date.UTC(2018, 7, 15) - 1,
    keepTestRows: true,
  });
  const ours = (name: string, m: MetricSet): Row => ({
    name,
    auc: m.auc,
    ap: m.averagePrecision,
    cp: m.cardPrecisionAt100 ?? Number.NaN,
  });
  const rows: Row[] = [
    ...BOOK,
    ours('fraudstream: classifier', report.classifier),
    ours('fraudstream: RCF alone', report.anomaly),
    ours(
      `fraudstream: combined (anomaly weight ${bundle.manifest.combination.anomalyWeight})`,
      report.combined,
    ),
  ];
  const peer = runPeer(bundle.trainingSet, report.testRows!);
  if (peer.row) rows.push(peer.row);
  console.log(
    `training: ${bundle.manifest.training.rows} rows (${bundle.manifest.training.positives} fraud), ${bundle.manifest.gbdt.trees} trees after early stopping, ${trainSeconds.toFixed(1)} s including the replay and the forest`,
  );
  console.log(
    `test: ${report.rows} transactions (${report.frauds} fraud), ${report.removedKnownCompromised} of known-compromised cards removed`,
  );
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`${'model'.padEnd(width)}    AUC     AP  CP@100`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(width)}  ${r.auc.toFixed(3)}  ${r.ap.toFixed(3)}  ${r.cp.toFixed(3)}`);
  }
  console.log(peer.note);
}

function runPeer(
  train: { x: Float32Array; labels: Uint8Array; nCols: number },
  test: { x: Float32Array; labels: Uint8Array; days: number[]; cardIds: string[] },
): { row?: Row; note: string } {
  const python = '/usr/bin/python3';
  try {
    execFileSync(python, ['-c', 'import xgboost, sklearn'], { stdio: 'ignore' });
  } catch {
    return {
      note: 'peer: python3-xgboost not installed (apt-get install python3-xgboost python3-sklearn); skipped',
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'fraudstream-handbook-'));
  try {
    const file = (name: string, data: Float32Array): string => {
      const path = join(dir, name);
      writeFileSync(path, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      return path;
    };
    const out = join(dir, 'proba.f32');
    const script = fileURLToPath(new URL('../../bench/peers/xgboost_fit_predict.py', import.meta.url));
    const params = { nCols: train.nCols, nTrees: 100, maxDepth: 6, learningRate: 0.3 };
    const result = JSON.parse(
      execFileSync(python, [
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
    const cp = cardPrecisionAtK(
      test.labels.length > 0
        ? Array.from(test.labels, (label, i) => ({
            day: test.days[i]!,
            cardId: test.cardIds[i]!,
            label: label as 0 | 1,
            score: proba[i]!,
          }))
        : [],
      100,
    );
    return {
      row: {
        name: `XGBoost ${result.version} on the same rows (100 trees, depth 6)`,
        auc: rocAuc(proba, test.labels),
        ap: averagePrecision(proba, test.labels),
        cp,
      },
      note: `peer: XGBoost ${result.version} trained in ${result.trainSeconds.toFixed(2)} s on one thread on the same training rows and scored the same test rows`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
