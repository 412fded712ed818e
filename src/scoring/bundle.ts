/**
 * A model bundle: a versioned directory holding everything needed to score — the classifier, the
 * forest, the feature set it was trained on, how scores combine, the thresholds and the metrics
 * that justified them.
 *
 * ```
 * models/<name>/
 *   manifest.json   BundleManifest (written last, so a reader never sees a half-written bundle)
 *   gbdt.json       the classifier (fraudstream-gbdt format)
 *   rcf.json        the forest's state after the training stream
 * ```
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { FEATURE_SET_NAMES, type FeatureSetName } from '../features/index.js';
import { GbdtModel } from '../models/gbdt/index.js';
import { RandomCutForest } from '../models/rcf/index.js';
import type { AnomalyCalibration } from './calibration.js';
import { type BundleDrift, DRIFT_BINS, DRIFT_CUTS } from './drift.js';
import { type Rule, validateRules } from './rules.js';

export const BUNDLE_FORMAT = 'fraudstream-bundle';
export const BUNDLE_VERSION = 1;

/** Quality figures of one score on one data set. */
export interface MetricSet {
  auc: number;
  averagePrecision: number;
  cardPrecisionAt100?: number;
  precision: number;
  recall: number;
  f1: number;
  balancedAccuracy: number;
  cohensKappa: number;
  /** Threshold the threshold-based figures were computed at. */
  threshold: number;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  name: string;
  /** ISO-8601 creation time. */
  createdAt: string;
  /** Hash of the training data summary and every option: two bundles with equal fingerprints were trained alike. */
  fingerprint: string;
  featureSet: FeatureSetName;
  featureNames: string[];
  /** Label delay the terminal features were computed with. */
  delayDays: number;
  training: {
    source: string;
    seed?: number;
    fromMs: number;
    toMs: number;
    rows: number;
    positives: number;
    validationRows: number;
    validationPositives: number;
    seconds: number;
  };
  gbdt: { file: string; options: Record<string, unknown>; trees: number };
  rcf: {
    file: string;
    options: Record<string, unknown>;
    /** Per-feature mean and standard deviation: the forest sees z-scores, so no feature dominates by its unit. */
    scaling: { mean: number[]; std: number[] };
    calibration: AnomalyCalibration;
  };
  /** `fraudScore = (1 − anomalyWeight) × classifierProbability + anomalyWeight × anomalyNormalized`. */
  combination: { anomalyWeight: number };
  /** `fraudScore >= decline` → decline; `>= review` → review; otherwise approve. */
  thresholds: { review: number; decline: number };
  rules: Rule[];
  metrics: { validation: { classifier: MetricSet; anomaly: MetricSet; combined: MetricSet } };
  /**
   * Training distributions (deciles) of the fraud score and every feature, against which live
   * traffic's drift is measured. Absent in bundles written before it existed: no drift figures.
   */
  drift?: BundleDrift;
}

/** A bundle in memory, ready for a {@link Scorer}. */
export interface ModelBundle {
  manifest: BundleManifest;
  gbdt: GbdtModel;
  rcf: RandomCutForest;
}

/** Short content hash used as fingerprint and model version. */
export function fingerprint(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** Writes a bundle into `dir` (created if needed); the manifest goes last, atomically. */
export async function saveBundle(dir: string, bundle: ModelBundle): Promise<void> {
  await mkdir(dir, { recursive: true });
  const write = async (file: string, value: unknown): Promise<void> => {
    const tmp = join(dir, `.${file}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, join(dir, file));
  };
  await write(bundle.manifest.gbdt.file, bundle.gbdt.toJSON());
  await write(bundle.manifest.rcf.file, bundle.rcf.toJSON());
  await write('manifest.json', bundle.manifest);
}

/** Reads and validates a bundle; throws a {@link ConfigError} naming what is wrong. */
export async function loadBundle(dir: string): Promise<ModelBundle> {
  const readJson = async (file: string): Promise<unknown> => {
    let text: string;
    try {
      text = await readFile(join(dir, file), 'utf8');
    } catch (err) {
      throw new ConfigError(
        `model bundle ${dir}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`,
        {
          cause: err,
        },
      );
    }
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`model bundle ${dir}: ${file} is not valid JSON`, { cause: err });
    }
  };
  const manifest = (await readJson('manifest.json')) as BundleManifest;
  if (manifest?.format !== BUNDLE_FORMAT) {
    throw new ConfigError(`model bundle ${dir}: manifest.json is not a ${BUNDLE_FORMAT} manifest`);
  }
  if (manifest.version !== BUNDLE_VERSION) {
    throw new ConfigError(
      `model bundle ${dir}: version ${manifest.version} is not supported (expected ${BUNDLE_VERSION}); retrain it`,
    );
  }
  if (!(FEATURE_SET_NAMES as readonly string[]).includes(manifest.featureSet)) {
    throw new ConfigError(`model bundle ${dir}: unknown feature set ${manifest.featureSet}`);
  }
  manifest.rules = validateRules(manifest.rules ?? [], manifest.featureNames);
  if (manifest.drift !== undefined && !validDrift(manifest.drift, manifest.featureNames)) {
    throw new ConfigError(`model bundle ${dir}: manifest.json has a malformed drift section`);
  }
  const gbdt = GbdtModel.fromJSON(await readJson(manifest.gbdt.file));
  const rcf = RandomCutForest.fromJSON(await readJson(manifest.rcf.file));
  if (gbdt.nFeatures !== manifest.featureNames.length || rcf.dimensions !== manifest.featureNames.length) {
    throw new ConfigError(
      `model bundle ${dir}: models expect ${gbdt.nFeatures}/${rcf.dimensions} features, manifest lists ${manifest.featureNames.length}`,
    );
  }
  return { manifest, gbdt, rcf };
}

function validDrift(drift: BundleDrift, featureNames: readonly string[]): boolean {
  const ok = (r: unknown): boolean => {
    const ref = r as { cuts?: unknown; shares?: unknown } | undefined;
    return (
      Array.isArray(ref?.cuts) &&
      ref.cuts.length === DRIFT_CUTS &&
      ref.cuts.every((c) => typeof c === 'number') &&
      Array.isArray(ref.shares) &&
      ref.shares.length === DRIFT_BINS &&
      ref.shares.every((c) => typeof c === 'number')
    );
  };
  return ok(drift?.score) && featureNames.every((name) => ok(drift.features?.[name]));
}
