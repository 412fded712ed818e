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
import { BundleError } from '../errors/index.js';
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
  /**
   * SHA-256 (hex) and size of each model file as written, by file name. Loading verifies them,
   * so a corrupted or altered file, or a model file of another training run, is refused.
   * Written by {@link saveBundle}; bundles saved before it existed have none and load with a warning.
   */
  files?: Record<string, ModelFileDigest>;
}

/** What the manifest records of one model file. */
export interface ModelFileDigest {
  sha256: string;
  bytes: number;
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

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Writes a bundle into `dir` (created if needed): the model files first, then the manifest with
 * their SHA-256 digests, atomically, so a reader never sees a half-written bundle and a reader
 * that catches new model files under the old manifest refuses them instead of mixing runs.
 * Sets `bundle.manifest.files`.
 */
export async function saveBundle(dir: string, bundle: ModelBundle): Promise<void> {
  await mkdir(dir, { recursive: true });
  const write = async (file: string, text: string): Promise<void> => {
    const tmp = join(dir, `.${file}.${process.pid}.tmp`);
    await writeFile(tmp, text);
    await rename(tmp, join(dir, file));
  };
  const files: Record<string, ModelFileDigest> = {};
  for (const [file, model] of [
    [bundle.manifest.gbdt.file, bundle.gbdt.toJSON()],
    [bundle.manifest.rcf.file, bundle.rcf.toJSON()],
  ] as const) {
    const text = JSON.stringify(model);
    files[file] = { sha256: sha256(text), bytes: Buffer.byteLength(text) };
    await write(file, text);
  }
  bundle.manifest.files = files;
  await write('manifest.json', JSON.stringify(bundle.manifest));
}

/** Options of {@link loadBundle}. */
export interface LoadBundleOptions {
  /**
   * Receives warnings that do not stop loading: a bundle saved without file digests (before
   * they were recorded) is loaded unverified, with a warning saying so.
   * @default warnings are dropped
   */
  onWarning?: (message: string) => void;
}

/** Reads and validates a bundle, verifying its model files' SHA-256; throws a {@link BundleError} naming what is wrong. */
export async function loadBundle(dir: string, options: LoadBundleOptions = {}): Promise<ModelBundle> {
  const readText = async (file: string): Promise<Buffer> => {
    try {
      return await readFile(join(dir, file));
    } catch (err) {
      throw new BundleError(dir, `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`, {
        cause: err,
      });
    }
  };
  const parse = (file: string, bytes: Buffer): unknown => {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new BundleError(dir, `${file} is not valid JSON`, { cause: err });
    }
  };
  const manifest = parse('manifest.json', await readText('manifest.json')) as BundleManifest;
  if (manifest?.format !== BUNDLE_FORMAT) {
    throw new BundleError(dir, `manifest.json is not a ${BUNDLE_FORMAT} manifest`);
  }
  if (manifest.version !== BUNDLE_VERSION) {
    throw new BundleError(
      dir,
      `version ${manifest.version} is not supported (expected ${BUNDLE_VERSION}); retrain it`,
    );
  }
  if (!(FEATURE_SET_NAMES as readonly string[]).includes(manifest.featureSet)) {
    throw new BundleError(dir, `unknown feature set ${manifest.featureSet}`);
  }
  manifest.rules = validateRules(manifest.rules ?? [], manifest.featureNames);
  if (manifest.drift !== undefined && !validDrift(manifest.drift, manifest.featureNames)) {
    throw new BundleError(dir, `manifest.json has a malformed drift section`);
  }
  if (manifest.files === undefined) {
    options.onWarning?.(
      `model bundle ${dir}: the manifest records no SHA-256 of its model files (saved by an older fraudstream); loading them unverified — retrain or re-save to verify`,
    );
  }
  const readModel = async (file: string): Promise<unknown> => {
    const bytes = await readText(file);
    const expected = manifest.files?.[file];
    if (manifest.files !== undefined) {
      if (expected === undefined) throw new BundleError(dir, `the manifest records no SHA-256 of ${file}`);
      const actual = sha256(bytes);
      if (actual !== expected.sha256) {
        throw new BundleError(
          dir,
          `${file} does not match the manifest (SHA-256 ${actual.slice(0, 12)}…, ${bytes.length} bytes; expected ${expected.sha256.slice(0, 12)}…, ${expected.bytes} bytes): the file is corrupted, was changed, or belongs to another training run`,
        );
      }
    }
    return parse(file, bytes);
  };
  const gbdt = GbdtModel.fromJSON(await readModel(manifest.gbdt.file));
  const rcf = RandomCutForest.fromJSON(await readModel(manifest.rcf.file));
  if (gbdt.nFeatures !== manifest.featureNames.length || rcf.dimensions !== manifest.featureNames.length) {
    throw new BundleError(
      dir,
      `models expect ${gbdt.nFeatures}/${rcf.dimensions} features, manifest lists ${manifest.featureNames.length}`,
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

/**
 * Why a bundle cannot replace the running one without restarting, or undefined when it can. The
 * feature state (windows, label delay) was built for the running bundle's feature set, and the
 * scorer feeds feature columns by position: a new bundle must agree on the feature set, the
 * feature names in order, and the label delay.
 */
export function reloadIncompatibility(running: BundleManifest, next: BundleManifest): string | undefined {
  if (next.featureSet !== running.featureSet) {
    return `feature set ${next.featureSet} differs from the running ${running.featureSet}`;
  }
  if (next.delayDays !== running.delayDays) {
    return `label delay ${next.delayDays} days differs from the running ${running.delayDays} days`;
  }
  const a = running.featureNames;
  const b = next.featureNames;
  if (a.length !== b.length || a.some((name, i) => name !== b[i])) {
    const at = a.findIndex((name, i) => name !== b[i]);
    const where =
      a.length !== b.length
        ? `${b.length} columns instead of ${a.length}`
        : `column ${at}: ${b[at]} instead of ${a[at]}`;
    return `feature names differ from the running bundle's (${where})`;
  }
  return undefined;
}
