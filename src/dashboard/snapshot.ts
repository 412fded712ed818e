import {
  type Alert,
  type CounterBucket,
  DECISIONS,
  type DeadLetter,
  type Decision,
  SCORE_SERIES,
  type ScoreSeriesName,
  type SeriesPoint,
  type Store,
} from '../store/index.js';
import type { PipelineStatus } from './options.js';

/** The label every score series carries, as in the reference lab (`LABELS type fraud_score`). */
export const SCORE_SERIES_LABELS = { type: 'fraud_score' } as const;

/** Seconds averaged for the transactions-per-second figure. */
const RATE_SECONDS = 5;

/** Dead letters listed under their count. */
const DEAD_LETTERS_SHOWN = 5;

/** Longest dead-letter payload excerpt sent to the page (payloads may be up to 64 KiB). */
const PAYLOAD_EXCERPT_CHARS = 120;

/** What a page needs to draw every panel, pushed once per interval. */
export interface DashboardSnapshot {
  /** Epoch ms the snapshot was taken. */
  atMs: number;
  /** How far back the charts and window totals reach, in ms. */
  windowMs: number;
  /** All-time figures of the store. */
  totals: { transactions: number; deadLetters: number };
  /** Transactions per second over the last complete seconds (see `RATE_SECONDS`). */
  transactionsPerSecond: number;
  /** Figures over the window. */
  window: {
    transactions: number;
    flagged: number;
    decisions: Record<Decision, number>;
    /** Mean fraud score of the window's transactions; null without any. */
    averageScore: number | null;
  };
  /** The most recent flagged transaction's score (the lab's "latest fraudulent score" gauge); null before any. */
  latestFraudulent: { t: number; v: number; transactionId: string } | null;
  /** Per second, oldest first, up to the last complete second; columns share the `t` axis. */
  perSecond: {
    t: number[];
    transactions: number[];
    averageScore: (number | null)[];
    maxFlaggedScore: (number | null)[];
  };
  /** Per 10 s, oldest first, the current (partial) bucket included so counts grow live. */
  per10s: {
    t: number[];
    flagged: number[];
    review: number[];
    decline: number[];
    fraudulentAverage: (number | null)[];
    nonFraudulentAverage: (number | null)[];
  };
  /** The three score series over the window, for the series-info panel. */
  series: SeriesSummary[];
  /** Most recent review/decline alerts, newest first. */
  alerts: Alert[];
  /** Most recent dead letters, newest first, payload cut to an excerpt. */
  deadLetters: DeadLetterSummary[];
  /** Facts about the run (see `DashboardOptions.info`). */
  info: Readonly<Record<string, string>>;
  /** Drift of live traffic from the training data; null when the process measures none. */
  drift: DriftView | null;
  /** The consumer's failure state; null when the dashboard serves no consumer. */
  pipeline: PipelineSummary | null;
}

/**
 * Population stability index of live traffic against the training distribution, as the
 * process that scores measures it (the dashboard only shows it).
 */
export interface DriftView {
  /** PSI of the fraud score; null until the window holds enough transactions. */
  score: number | null;
  /** PSI per feature, by name; null for a feature that cannot be measured yet. */
  features: Record<string, number | null>;
  /** The largest of all the figures above; null when none is known. */
  max: number | null;
  /** Transactions in the sliding window the figures are computed over. */
  samples: number;
  /** PSI above which drift is worth a warning (0.2 is the usual rule of thumb). */
  warnAbove: number;
}

/** The consumer's failure state as the page shows it. */
export interface PipelineSummary {
  /** Whether the consumer is holding a batch because the store keeps failing. */
  stalled: boolean;
  stalledSinceMs: number | null;
  stalledSeconds: number;
  /** Class name of the last store failure (its message stays in the logs: it may name hosts). */
  lastStoreError: string | null;
  storeRetries: number;
  /** Dead letters of this run by destination and reason, largest first. */
  deadLetters: { destination: string; reason: string; count: number }[];
  /** This run's dead letters in the transport's own dead-letter stream (not in the store's count). */
  transportDeadLetters: number;
}

/** The page's view of a {@link PipelineStatus}; exported for the store-error event, which has no snapshot. */
export function summarizePipeline(status: PipelineStatus | undefined, atMs: number): PipelineSummary | null {
  if (!status) return null;
  const deadLetters: PipelineSummary['deadLetters'] = [];
  for (const [destination, reasons] of Object.entries(status.deadLetters)) {
    for (const [reason, count] of Object.entries(reasons)) deadLetters.push({ destination, reason, count });
  }
  deadLetters.sort((a, b) => b.count - a.count);
  const since = status.stalledSinceMs;
  return {
    stalled: since !== undefined,
    stalledSinceMs: since ?? null,
    stalledSeconds: since === undefined ? 0 : Math.max(0, (atMs - since) / 1000),
    lastStoreError: status.lastStoreError?.split(':')[0] ?? null,
    storeRetries: status.storeRetries,
    deadLetters,
    transportDeadLetters: deadLetters
      .filter((d) => d.destination === 'transport')
      .reduce((a, d) => a + d.count, 0),
  };
}

export interface SeriesSummary {
  name: ScoreSeriesName;
  labels: typeof SCORE_SERIES_LABELS;
  /** Points of the series in the window. */
  samples: number;
  /** Their mean value; null without any. */
  average: number | null;
}

export interface DeadLetterSummary extends Omit<DeadLetter, 'payload'> {
  payloadExcerpt: string;
  payloadLength: number;
}

export interface SnapshotRequest {
  windowMs: number;
  alertLimit: number;
  info: Readonly<Record<string, string>>;
  nowMs?: number;
  drift?: DriftView | null;
  pipeline?: PipelineStatus | undefined;
}

/**
 * Reads one snapshot from the store. Everything but the flagged transactions' own scores comes
 * from the per-interval counters, so a snapshot costs about the same whatever the traffic: the
 * non-fraudulent average per 10 s is (all scores − flagged scores) / (all − flagged) of the
 * bucket rather than a read of every non-fraudulent point. That is exact because both the
 * counters and the `fraudulent_ts` series count a transaction as flagged when its decision is
 * not approve (a test holds the two ways of computing it equal).
 */
export async function readSnapshot(store: Store, request: SnapshotRequest): Promise<DashboardSnapshot> {
  const atMs = request.nowMs ?? Date.now();
  const { windowMs } = request;
  const lastFullSecond = Math.floor(atMs / 1_000) * 1_000 - 1_000;
  const secondsFrom = lastFullSecond - windowMs + 1_000;
  const currentTen = Math.floor(atMs / 10_000) * 10_000;
  const tensFrom = currentTen - windowMs + 10_000;
  const [transactions, deadLetters, seconds, tens, flaggedMax, flaggedSums, alerts, recentDead] =
    await Promise.all([
      store.countTransactions(),
      store.countDeadLetters(),
      store.counters(1_000, secondsFrom, lastFullSecond),
      store.counters(10_000, tensFrom, currentTen),
      store.scoreSeries('fraudulent_ts', secondsFrom, lastFullSecond + 999, { bucketMs: 1_000, type: 'max' }),
      store.scoreSeries('fraudulent_ts', tensFrom, atMs, { bucketMs: 10_000, type: 'sum' }),
      store.recentAlerts(request.alertLimit),
      store.recentDeadLetters(DEAD_LETTERS_SHOWN),
    ]);

  const perSecond = denseSeconds(secondsFrom, lastFullSecond, seconds, flaggedMax);
  const per10s = denseTens(tensFrom, currentTen, tens, flaggedSums);
  const window = windowTotals(tens);
  const rateFrom = perSecond.transactions.length - RATE_SECONDS;
  const recent = perSecond.transactions.slice(Math.max(0, rateFrom));
  // Alerts are exactly the flagged transactions, newest first: the first one is the gauge's.
  const newest = alerts[0];
  return {
    atMs,
    windowMs,
    totals: { transactions, deadLetters },
    transactionsPerSecond: recent.reduce((a, b) => a + b, 0) / RATE_SECONDS,
    window,
    latestFraudulent: newest
      ? { t: newest.processedAtMs, v: newest.fraudScore, transactionId: newest.transactionId }
      : null,
    perSecond,
    per10s,
    series: seriesSummaries(tens, flaggedSums),
    alerts,
    deadLetters: recentDead.map(summarizeDeadLetter),
    info: request.info,
    drift: request.drift ?? null,
    pipeline: summarizePipeline(request.pipeline, atMs),
  };
}

function denseSeconds(
  fromMs: number,
  toMs: number,
  buckets: readonly CounterBucket[],
  flaggedMax: readonly SeriesPoint[],
): DashboardSnapshot['perSecond'] {
  const byT = new Map(buckets.map((b) => [b.t, b]));
  const maxByT = new Map(flaggedMax.map((p) => [p.t, p.v]));
  const out: DashboardSnapshot['perSecond'] = {
    t: [],
    transactions: [],
    averageScore: [],
    maxFlaggedScore: [],
  };
  for (let t = fromMs; t <= toMs; t += 1_000) {
    const b = byT.get(t);
    out.t.push(t);
    out.transactions.push(b?.transactions ?? 0);
    out.averageScore.push(b && b.transactions > 0 ? b.scoreSum / b.transactions : null);
    out.maxFlaggedScore.push(maxByT.get(t) ?? null);
  }
  return out;
}

function denseTens(
  fromMs: number,
  toMs: number,
  buckets: readonly CounterBucket[],
  flaggedSums: readonly SeriesPoint[],
): DashboardSnapshot['per10s'] {
  const byT = new Map(buckets.map((b) => [b.t, b]));
  const sumByT = new Map(flaggedSums.map((p) => [p.t, p.v]));
  const out: DashboardSnapshot['per10s'] = {
    t: [],
    flagged: [],
    review: [],
    decline: [],
    fraudulentAverage: [],
    nonFraudulentAverage: [],
  };
  for (let t = fromMs; t <= toMs; t += 10_000) {
    const b = byT.get(t);
    const flaggedSum = sumByT.get(t) ?? 0;
    const flagged = b?.flagged ?? 0;
    const normal = (b?.transactions ?? 0) - flagged;
    out.t.push(t);
    out.flagged.push(flagged);
    out.review.push(b?.review ?? 0);
    out.decline.push(b?.decline ?? 0);
    out.fraudulentAverage.push(flagged > 0 ? flaggedSum / flagged : null);
    out.nonFraudulentAverage.push(b && normal > 0 ? (b.scoreSum - flaggedSum) / normal : null);
  }
  return out;
}

function windowTotals(tens: readonly CounterBucket[]): DashboardSnapshot['window'] {
  let transactions = 0;
  let flagged = 0;
  let scoreSum = 0;
  const decisions = Object.fromEntries(DECISIONS.map((d) => [d, 0])) as Record<Decision, number>;
  for (const b of tens) {
    transactions += b.transactions;
    flagged += b.flagged;
    scoreSum += b.scoreSum;
    decisions.review += b.review;
    decisions.decline += b.decline;
  }
  decisions.approve = transactions - decisions.review - decisions.decline;
  return {
    transactions,
    flagged,
    decisions,
    averageScore: transactions > 0 ? scoreSum / transactions : null,
  };
}

function seriesSummaries(
  tens: readonly CounterBucket[],
  flaggedSums: readonly SeriesPoint[],
): SeriesSummary[] {
  let all = 0;
  let allSum = 0;
  let flagged = 0;
  for (const b of tens) {
    all += b.transactions;
    allSum += b.scoreSum;
    flagged += b.flagged;
  }
  const flaggedSum = flaggedSums.reduce((a, p) => a + p.v, 0);
  const figures: Record<ScoreSeriesName, [number, number]> = {
    'fraud-ts': [all, allSum],
    fraudulent_ts: [flagged, flaggedSum],
    'non-fraudulent_ts': [all - flagged, allSum - flaggedSum],
  };
  return SCORE_SERIES.map((name) => {
    const [samples, sum] = figures[name];
    return { name, labels: SCORE_SERIES_LABELS, samples, average: samples > 0 ? sum / samples : null };
  });
}

function summarizeDeadLetter(d: DeadLetter): DeadLetterSummary {
  const { payload, ...rest } = d;
  return { ...rest, payloadExcerpt: payload.slice(0, PAYLOAD_EXCERPT_CHARS), payloadLength: payload.length };
}
