import { DEFAULT_RECORD_KEY_MODE, type RecordKeyMode, recordKey, type Transaction } from '../events/index.js';
import type { ScoreBatch } from '../scoring/index.js';
import type { ScoredTransaction } from '../store/index.js';

/** Where a scored transaction came from: its transport position and when the transport took it. */
export interface RecordOrigin {
  position: string;
  enqueuedAtMs: number;
}

/**
 * Turns one scored batch into the documents the store keeps. Every entry point (the consumer,
 * the Kinesis handler, the lab handler) builds them here, so a transaction is stored the same way
 * whichever path brought it, keyed as `keyMode` says (see `RecordKeyMode`). Copies everything
 * out of `scores`, whose buffers the scorer reuses.
 */
export function scoredTransactions(
  transactions: readonly Transaction[],
  origins: readonly RecordOrigin[],
  featureNames: readonly string[],
  features: Float64Array,
  scores: ScoreBatch,
  processedAtMs: number,
  keyMode: RecordKeyMode = DEFAULT_RECORD_KEY_MODE,
): ScoredTransaction[] {
  const width = featureNames.length;
  const results: ScoredTransaction[] = [];
  for (let i = 0; i < transactions.length; i++) {
    const tx = transactions[i]!;
    const origin = origins[i]!;
    const named: Record<string, number> = {};
    for (let j = 0; j < width; j++) named[featureNames[j]!] = features[i * width + j]!;
    results.push({
      key: recordKey(tx, origin.position, keyMode),
      transaction: tx,
      features: named,
      classifierProbability: scores.classifierProbability[i]!,
      anomalyScore: scores.anomalyScore[i]!,
      anomalyNormalized: scores.anomalyNormalized[i]!,
      fraudScore: scores.fraudScore[i]!,
      decision: scores.decisions[i]!,
      reasons: scores.reasons[i]!,
      modelVersion: scores.modelVersion,
      enqueuedAtMs: origin.enqueuedAtMs,
      processedAtMs,
    });
  }
  return results;
}
