/**
 * Training: replays labelled history through the serving feature code (point in time), trains
 * the classifier, streams the forest over the same rows, and chooses the combination weight and
 * thresholds on a later validation slice — everything a {@link ModelBundle} needs.
 */
import { ConfigError } from '../errors/index.js';
import type { Transaction } from '../events/index.js';
import {
  buildTrainingSet,
  createFeatureSet,
  type FeatureSetName,
  type TrainingSet,
  type WindowState,
} from '../features/index.js';
import { type GbdtModel, type GbdtTrainOptions, type Matrix, trainGbdt } from '../models/gbdt/index.js';
import { averagePrecision } from '../models/metrics/index.js';
import { RandomCutForest, type RcfOptions } from '../models/rcf/index.js';
import {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type BundleManifest,
  fingerprint,
  type ModelBundle,
} from './bundle.js';
import { fitAnomalyCalibration, normalizeAnomaly } from './calibration.js';
import { driftReference } from './drift.js';
import { chooseThresholds, metricSet } from './quality.js';
import type { Rule } from './rules.js';
import { FOREST_BATCH, fitScaling, standardize } from './scaling.js';

/**
 * The classifier settings `trainBundle` uses unless told otherwise (`TrainBundleOptions.gbdt`),
 * chosen by time-respecting validation on worlds the quality bench does not report
 * (`bench/quality-select.bench.ts`; README "Detection quality"). Anything not set here is the
 * trainer's XGBoost-aligned default. Boosting stops early on validation AP.
 */
export const DEFAULT_CLASSIFIER_OPTIONS: Readonly<Partial<GbdtTrainOptions>> = Object.freeze({
  nTrees: 200,
  maxDepth: 4,
  learningRate: 0.1,
  minChildWeight: 1,
  scalePosWeight: 1,
  lambda: 1,
});

export type TrainPhase = 'features' | 'classifier' | 'forest' | 'calibration';

export interface TrainProgress {
  phase: TrainPhase;
  /** Units done and total in this phase (rows, trees); total 0 when unknown. */
  done: number;
  total: number;
  detail?: string;
}

export interface TrainBundleOptions {
  /** Bundle name (directory name by convention). */
  name: string;
  /** Description of the data, kept in the manifest (e.g. `simulator`, `creditcard:data/x.csv`). */
  sourceName: string;
  /** Labelled history in event-time order; everything before `trainFromMs` warms the windows. */
  transactions: AsyncIterable<Transaction> | Iterable<Transaction>;
  featureSet: FeatureSetName;
  /**
   * The feature state to replay into; pass one to keep serving from where training stopped (the
   * demo does). @default a fresh in-memory state
   */
  state?: WindowState;
  /** @default 7 */
  delayDays?: number;
  trainFromMs: number;
  trainToMs: number;
  /**
   * Share of the training rows, the latest by event time, held out to stop boosting early and to
   * choose the anomaly weight and thresholds. The final classifier is then refit on all rows.
   * @default 0.2
   */
  validationFraction?: number;
  /** Classifier options (see `GbdtTrainOptions`). */
  gbdt?: Partial<GbdtTrainOptions>;
  /** Forest options except `dimensions` (set from the feature set). */
  rcf?: Partial<Omit<RcfOptions, 'dimensions'>>;
  /**
   * Largest anomaly weight tried on the validation slice. 0 keeps the classifier alone: over
   * simulator seeds 0..9 the combined score was not better than the classifier in a paired
   * comparison (README "Detection quality"), so the forest scores and explains but does not
   * weigh in unless asked. @default 0
   */
  maxAnomalyWeight?: number;
  rules?: Rule[];
  /** @default 42 */
  seed?: number;
  /** Data-generation seed, recorded in the manifest. */
  sourceSeed?: number;
  onProgress?: (progress: TrainProgress) => void;
}

export interface TrainedBundle extends ModelBundle {
  trainingSet: TrainingSet;
}

/** Trains a model bundle from labelled history. */
export async function trainBundle(options: TrainBundleOptions): Promise<TrainedBundle> {
  const started = performance.now();
  const delayDays = options.delayDays ?? 7;
  const validationFraction = options.validationFraction ?? 0.2;
  const seed = options.seed ?? 42;
  if (!(validationFraction > 0 && validationFraction < 1)) {
    throw new ConfigError(`validationFraction must be in (0, 1), got ${validationFraction}`);
  }
  const progress = options.onProgress ?? (() => {});
  const featureSet = createFeatureSet(options.featureSet, {
    delayDays,
    ...(options.state && { state: options.state }),
  });
  const set = await buildTrainingSet({
    transactions: options.transactions,
    featureSet,
    fromMs: options.trainFromMs,
    toMs: options.trainToMs,
    delayDays,
    onProgress: (p) =>
      progress({
        phase: 'features',
        done: p.processed,
        total: 0,
        detail: `${p.rows} rows, at ${new Date(p.timestampMs).toISOString().slice(0, 10)}`,
      }),
  });
  const { nRows, nCols, labels } = set;
  const cut = Math.floor(nRows * (1 - validationFraction));
  let positives = 0;
  let validationPositives = 0;
  for (let i = 0; i < nRows; i++) {
    positives += labels[i]!;
    if (i >= cut) validationPositives += labels[i]!;
  }
  if (nRows < 100 || positives === 0 || validationPositives === 0 || positives === nRows) {
    throw new ConfigError(
      `not enough labelled data to train: ${nRows} rows, ${positives} frauds (${validationPositives} in the validation slice); widen the training period`,
    );
  }

  const gbdtOptions = { seed, ...DEFAULT_CLASSIFIER_OPTIONS, ...options.gbdt };
  const { validationProbability, gbdt, finalOptions } = trainClassifier(set, cut, gbdtOptions, progress);

  const scaling = fitScaling(set.x, nRows, nCols);
  const rcfOptions = { seed, ...options.rcf, dimensions: nCols };
  const rcf = new RandomCutForest(rcfOptions);
  const raw = new Float64Array(nRows);
  const z = standardize(set.x, nRows, scaling, new Float64Array(nRows * nCols));
  for (let start = 0; start < nRows; start += FOREST_BATCH) {
    const n = Math.min(FOREST_BATCH, nRows - start);
    const batch = z.subarray(start * nCols, (start + n) * nCols);
    rcf.scoreBatch(batch, n, raw.subarray(start, start + n));
    rcf.updateBatch(batch, n);
    progress({ phase: 'forest', done: start + n, total: nRows });
  }
  progress({ phase: 'calibration', done: 0, total: 1 });
  const calibration = fitAnomalyCalibration(raw.subarray(0, cut));
  const validationAnomaly = Float64Array.from(raw.subarray(cut), (s) => normalizeAnomaly(s, calibration));
  const validationLabels = labels.subarray(cut);

  // The anomaly weight is chosen, not assumed: 0 (classifier alone) wins unless the forest adds precision.
  const maxWeight = options.maxAnomalyWeight ?? 0;
  let anomalyWeight = 0;
  let bestAp = -1;
  const combined = new Float64Array(validationProbability.length);
  for (let step = 0; step <= 10; step++) {
    const w = (maxWeight * step) / 10;
    for (let i = 0; i < combined.length; i++) {
      combined[i] = (1 - w) * validationProbability[i]! + w * validationAnomaly[i]!;
    }
    const ap = averagePrecision(combined, validationLabels);
    if (ap > bestAp + 1e-6) {
      bestAp = ap;
      anomalyWeight = w;
    }
  }
  for (let i = 0; i < combined.length; i++) {
    combined[i] = (1 - anomalyWeight) * validationProbability[i]! + anomalyWeight * validationAnomaly[i]!;
  }
  const thresholds = chooseThresholds(combined, validationLabels);
  progress({ phase: 'calibration', done: 1, total: 1 });

  const trainingSummary = {
    source: options.sourceName,
    ...(options.sourceSeed !== undefined && { seed: options.sourceSeed }),
    fromMs: options.trainFromMs,
    toMs: options.trainToMs,
    rows: nRows,
    positives,
    validationRows: nRows - cut,
    validationPositives,
  };
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    name: options.name,
    createdAt: new Date().toISOString(),
    fingerprint: fingerprint({
      trainingSummary,
      featureSet: options.featureSet,
      delayDays,
      gbdt: finalOptions,
      rcf: rcfOptions,
      dataSum: checksum(set.x),
      validationFraction,
    }),
    featureSet: options.featureSet,
    featureNames: [...set.featureNames],
    delayDays,
    training: { ...trainingSummary, seconds: (performance.now() - started) / 1000 },
    gbdt: { file: 'gbdt.json', options: { ...(gbdt.info?.options ?? finalOptions) }, trees: gbdt.nTrees },
    rcf: { file: 'rcf.json', options: { ...rcf.options }, scaling, calibration },
    combination: { anomalyWeight },
    thresholds,
    rules: options.rules ?? [],
    metrics: {
      validation: {
        classifier: metricSet(validationProbability, validationLabels, thresholds.review),
        anomaly: metricSet(validationAnomaly, validationLabels, thresholds.review),
        combined: metricSet(combined, validationLabels, thresholds.review),
      },
    },
    // Reference distributions for drift: features over every training row, the fraud score over
    // the validation slice (scored by the held-out classifier, as unseen traffic would be).
    drift: {
      score: driftReference(combined, combined.length),
      features: Object.fromEntries(
        set.featureNames.map((name, j) => [name, driftReference(set.x, nRows, nCols, j)]),
      ),
    },
  };
  return { manifest, gbdt, rcf, trainingSet: set };
}

/**
 * The classifier part of {@link trainBundle}: boosts on the rows before `cut` with early stopping
 * on the rows from `cut` (the latest), then refits on every row with the number of trees that
 * did best. Exported so that hyperparameters can be selected by exactly the procedure that uses them.
 */
export function trainClassifier(
  set: TrainingSet,
  cut: number,
  options: Partial<GbdtTrainOptions>,
  progress: (p: TrainProgress) => void = () => {},
): { validationProbability: Float64Array; gbdt: GbdtModel; finalOptions: Partial<GbdtTrainOptions> } {
  const { nRows, nCols, labels } = set;
  const matrix = (from: number, to: number): Matrix => ({
    data: set.x.subarray(from * nCols, to * nCols),
    nRows: to - from,
    nCols,
  });
  // Early stopping watches average precision: fraud work happens at the top of the ranking, where AUC barely moves.
  const gbdtOptions = { evalMetric: 'aucpr' as const, ...options };
  const validation = { x: matrix(cut, nRows), y: labels.subarray(cut, nRows) };
  const heldOut = trainGbdt(matrix(0, cut), labels.subarray(0, cut), gbdtOptions, {
    validation,
    featureNames: set.featureNames,
    onProgress: (p) =>
      progress({
        phase: 'classifier',
        done: p.tree,
        total: p.nTrees,
        detail:
          p.validMetric === undefined
            ? 'validation run'
            : `validation run, metric ${p.validMetric.toFixed(4)}`,
      }),
  });
  const bestTrees = (heldOut.info?.bestIteration ?? heldOut.nTrees - 1) + 1;
  const validationProbability = heldOut.predictProba(validation.x);
  const finalOptions = { ...gbdtOptions, nTrees: bestTrees, earlyStoppingRounds: 0 };
  const gbdt = trainGbdt(matrix(0, nRows), labels, finalOptions, {
    featureNames: set.featureNames,
    onProgress: (p) =>
      progress({ phase: 'classifier', done: p.tree, total: p.nTrees, detail: 'final fit, all rows' }),
  });
  return { validationProbability, gbdt, finalOptions };
}

/** A cheap order-sensitive checksum of the training matrix for the fingerprint. */
function checksum(x: Float32Array): number {
  let h = 0;
  const step = Math.max(1, Math.floor(x.length / 100_000));
  for (let i = 0; i < x.length; i += step) {
    const v = x[i]!;
    h = (h * 31 + (Number.isNaN(v) ? 7 : Math.round(v * 1000))) % 2_147_483_647;
  }
  return h;
}
