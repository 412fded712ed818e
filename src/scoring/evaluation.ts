/**
 * Evaluation on a later test period, as the Fraud Detection Handbook does it: replay history
 * through the bundle's feature code (labels known only after the delay), score the test period
 * with the bundle exactly as serving would (the forest keeps streaming from where training left
 * it), drop test transactions of cards already known to be compromised, and report every metric
 * for the classifier alone, the forest alone and the combined score.
 */
import type { Transaction } from '../events/index.js';
import { buildTrainingSet, createFeatureSet, DAY_MS } from '../features/index.js';
import { cardPrecisionAtK } from '../models/metrics/index.js';
import type { MetricSet, ModelBundle } from './bundle.js';
import { metricSet } from './quality.js';
import { Scorer } from './scorer.js';

export interface EvaluateOptions {
  /** Labelled history in event-time order, covering at least the training period and the test period. */
  transactions: AsyncIterable<Transaction> | Iterable<Transaction>;
  testFromMs: number;
  testToMs: number;
  /**
   * Drop test transactions of cards with a fraud known before the test day (a fraud on or before
   * `testDay − delayDays − 1`, counted from the training start), as the Handbook builds its test set.
   * @default true
   */
  removeKnownCompromised?: boolean;
  /** Alerts per day of Card Precision@k. @default 100 */
  k?: number;
  onProgress?: (processed: number, atMs: number) => void;
  /** Return the test rows themselves (features, labels, days, cards), e.g. to score them with a peer model. @default false */
  keepTestRows?: boolean;
}

/** The measured test rows, in order, when `keepTestRows` is set. */
export interface TestRows {
  x: Float32Array;
  nCols: number;
  labels: Uint8Array;
  days: number[];
  cardIds: string[];
}

export interface EvaluationReport {
  rows: number;
  frauds: number;
  removedKnownCompromised: number;
  threshold: number;
  classifier: MetricSet;
  anomaly: MetricSet;
  combined: MetricSet;
  testRows?: TestRows;
}

export async function evaluateBundle(
  bundle: ModelBundle,
  options: EvaluateOptions,
): Promise<EvaluationReport> {
  const { manifest } = bundle;
  const delayDays = manifest.delayDays;
  const k = options.k ?? 100;
  const featureSet = createFeatureSet(manifest.featureSet, { delayDays });
  const set = await buildTrainingSet({
    transactions: options.transactions,
    featureSet,
    fromMs: Math.min(manifest.training.fromMs, options.testFromMs),
    toMs: options.testToMs,
    delayDays,
    onProgress: (p) => options.onProgress?.(p.processed, p.timestampMs),
  });
  const { nRows, nCols, x, labels, timestampsMs, cardIds } = set;

  // Frauds per card by day, to know which cards were known compromised before each test day.
  const firstKnownFraudDay = new Map<string, number>();
  for (let i = 0; i < nRows; i++) {
    if (labels[i] !== 1 || cardIds[i] === '' || timestampsMs[i]! < manifest.training.fromMs) continue;
    const day = Math.floor(timestampsMs[i]! / DAY_MS);
    const known = firstKnownFraudDay.get(cardIds[i]!);
    if (known === undefined || day < known) firstKnownFraudDay.set(cardIds[i]!, day);
  }

  const scorer = new Scorer(bundle, { explain: 'none' });
  const probability: number[] = [];
  const anomaly: number[] = [];
  const combined: number[] = [];
  const testLabels: number[] = [];
  const cardRows: { day: number; cardId: string; label: 0 | 1 }[] = [];
  const kept: number[] = [];
  let removed = 0;
  const batch = 4096;
  // Rows after training feed the forest in time order, as live traffic would; only test rows are measured.
  for (let start = 0; start < nRows; start += batch) {
    const end = Math.min(nRows, start + batch);
    let from = start;
    while (from < end && timestampsMs[from]! <= manifest.training.toMs) from++;
    if (from === end) continue;
    const scores = scorer.scoreBatch(x.subarray(from * nCols, end * nCols), end - from);
    for (let r = 0; r < end - from; r++) {
      const i = from + r;
      const t = timestampsMs[i]!;
      if (t < options.testFromMs) continue;
      const day = Math.floor(t / DAY_MS);
      const knownDay = firstKnownFraudDay.get(cardIds[i]!);
      if (
        (options.removeKnownCompromised ?? true) &&
        knownDay !== undefined &&
        knownDay <= day - delayDays - 1
      ) {
        removed++;
        continue;
      }
      probability.push(scores.classifierProbability[r]!);
      anomaly.push(scores.anomalyNormalized[r]!);
      combined.push(scores.fraudScore[r]!);
      testLabels.push(labels[i]!);
      kept.push(i);
      cardRows.push({ day, cardId: cardIds[i]!, label: labels[i] as 0 | 1 });
    }
  }
  const threshold = manifest.thresholds.review;
  const withCardPrecision = (scores: number[]): MetricSet => {
    const m = metricSet(scores, testLabels, threshold);
    if (cardRows.some((c) => c.cardId !== '')) {
      m.cardPrecisionAt100 = cardPrecisionAtK(
        cardRows.map((c, i) => ({ ...c, score: scores[i]! })),
        k,
      );
    }
    return m;
  };
  return {
    rows: testLabels.length,
    frauds: testLabels.reduce((a, b) => a + b, 0),
    removedKnownCompromised: removed,
    threshold,
    classifier: withCardPrecision(probability),
    anomaly: withCardPrecision(anomaly),
    combined: withCardPrecision(combined),
    ...(options.keepTestRows && {
      testRows: {
        x: Float32Array.from(
          { length: kept.length * nCols },
          (_, k) => x[kept[Math.floor(k / nCols)]! * nCols + (k % nCols)]!,
        ),
        nCols,
        labels: Uint8Array.from(testLabels),
        days: cardRows.map((c) => c.day),
        cardIds: cardRows.map((c) => c.cardId),
      },
    }),
  };
}
