import { ParseError } from '../errors/index.js';
import { parseLabEnvelope } from '../events/index.js';
import type { FeatureSet } from '../features/index.js';
import type { Scorer } from '../scoring/index.js';
import type { Decision, Store } from '../store/index.js';
import { scoredTransactions } from './results.js';

/** What the reference lab's Lambda computed per record, plus fraudstream's combined score and decision. */
export interface LabHandlerResult {
  /** The SageMaker Random Cut Forest endpoint's answer. */
  anomaly_detector: { score: number };
  /** The SageMaker XGBoost endpoint's answer; `prediction = pred_proba >= 0.5`, as the lab computed it. */
  fraud_classifier: { pred_proba: number; prediction: 0 | 1 };
  fraud_score: number;
  decision: Decision;
}

export interface LabHandlerFailure {
  error: string;
}

/**
 * The reference lab's Lambda body without AWS: scores an array of lab envelopes (JSON strings or
 * already-parsed objects) and returns one result per record, in order. Unlike the lab it handles
 * every record, not just the first, and malformed records get `{ error }` instead of failing the
 * batch. With a store, results are persisted (keys use the record's index in the batch, prefixed
 * by `batchId`, because lab ids are all `random_id`).
 */
export async function handleLabRecords(
  records: readonly (string | object)[],
  deps: { featureSet: FeatureSet; scorer: Scorer; store?: Store; batchId?: string },
): Promise<(LabHandlerResult | LabHandlerFailure)[]> {
  const parsed = records.map((r) => parseLabEnvelope(typeof r === 'string' ? r : JSON.stringify(r)));
  const good = parsed.flatMap((p, i) => (p instanceof ParseError ? [] : [{ tx: p, index: i }]));
  const width = deps.featureSet.featureNames.length;
  const features = new Float64Array(Math.max(1, good.length * width));
  await deps.featureSet.extract(
    good.map((g) => g.tx),
    features,
  );
  const scores = await deps.scorer.scoreBatchAsync(
    features,
    good.length,
    good.map((g) => g.tx),
  );
  const out: (LabHandlerResult | LabHandlerFailure)[] = parsed.map((p) => ({
    error: p instanceof ParseError ? p.message : 'not scored',
  }));
  const now = Date.now();
  good.forEach((g, k) => {
    const p = scores.classifierProbability[k]!;
    out[g.index] = {
      anomaly_detector: { score: scores.anomalyScore[k]! },
      fraud_classifier: { pred_proba: p, prediction: p >= 0.5 ? 1 : 0 },
      fraud_score: scores.fraudScore[k]!,
      decision: scores.decisions[k]!,
    };
  });
  const persisted = deps.store
    ? scoredTransactions(
        good.map((g) => g.tx),
        good.map((g) => ({ position: `${deps.batchId ?? now}-${g.index}`, enqueuedAtMs: now })),
        deps.featureSet.featureNames,
        features,
        scores,
        now,
      )
    : [];
  if (deps.store && persisted.length > 0) await deps.store.persistBatch(persisted);
  return out;
}
