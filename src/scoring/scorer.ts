import { BundleError } from '../errors/index.js';
import type { Transaction } from '../events/index.js';
import type { Decision, Reason } from '../store/index.js';
import { type ModelBundle, reloadIncompatibility } from './bundle.js';
import { normalizeAnomaly } from './calibration.js';
import { type Rule, type RuleInput, ruleMatches } from './rules.js';
import { standardize } from './scaling.js';

/** When reasons are computed. TreeSHAP costs about as much as scoring a few hundred rows, so by default only flagged transactions get them. */
export type ExplainPolicy = 'flagged' | 'all' | 'none';

export interface ScorerOptions {
  /**
   * Reasons kept per explained transaction.
   * @default 3
   */
  reasons?: number;
  /** @default 'flagged' */
  explain?: ExplainPolicy;
  /** Rules to apply instead of the bundle's. @default the bundle's rules */
  rules?: Rule[];
}

export const DEFAULT_SCORER_OPTIONS = { reasons: 3, explain: 'flagged' } as const;

/** Scores of one batch, index-aligned with its transactions. Buffers are reused by the next call: copy what you keep. */
export interface ScoreBatch {
  n: number;
  classifierProbability: Float64Array;
  anomalyScore: Float64Array;
  anomalyNormalized: Float64Array;
  fraudScore: Float64Array;
  decisions: Decision[];
  reasons: Reason[][];
  /** Version of the bundle that scored this batch. */
  modelVersion: string;
}

/**
 * Turns feature rows into fraud scores and decisions with reasons, using one model bundle.
 *
 * For each row: the classifier's probability `p`; the forest's anomaly score on the row's
 * z-scores (the forest then learns from the row: it is a streaming model), normalised to
 * `a` in [0, 1] by the bundle's calibration; `fraudScore = (1 − w)·p + w·a` with the bundle's
 * anomaly weight `w`; the decision from the bundle's thresholds, then raised by any matching
 * rule. Reasons are the largest positive TreeSHAP contributions (log-odds) and, when the
 * anomaly score is high, the feature with the largest forest attribution.
 *
 * {@link Scorer.swap} replaces the bundle between two batches without stopping anything.
 */
export class Scorer {
  private bundle!: ModelBundle;
  private rules: Rule[] = [];
  private readonly options: Required<Omit<ScorerOptions, 'rules'>> & Pick<ScorerOptions, 'rules'>;
  private nFeatures = 0;
  /** Feature name → column, built once per bundle for rules. */
  private featureIndex = new Map<string, number>();
  private x32 = new Float32Array(0);
  private z = new Float64Array(0);
  private shapOut = new Float64Array(0);
  private out: ScoreBatch = emptyBatch(0, '');

  constructor(bundle: ModelBundle, options: ScorerOptions = {}) {
    this.options = { ...DEFAULT_SCORER_OPTIONS, ...options };
    this.swap(bundle);
  }

  /** The bundle in use. */
  get current(): ModelBundle {
    return this.bundle;
  }

  /** Version of the bundle in use (its fingerprint). */
  get version(): string {
    return this.bundle.manifest.fingerprint;
  }

  /**
   * Replaces the running bundle with a retrained one, if it fits the running feature state (see
   * {@link reloadIncompatibility}); otherwise throws a {@link BundleError} and keeps the bundle in use.
   * The next batch is scored by the new one.
   */
  reload(bundle: ModelBundle, dir = 'reloaded'): void {
    const why = reloadIncompatibility(this.bundle.manifest, bundle.manifest);
    if (why !== undefined) throw new BundleError(dir, `refused: ${why}; restart to change it`);
    this.swap(bundle);
  }

  /** Replaces the bundle unchecked; the next batch is scored by the new one. Prefer {@link reload}. */
  swap(bundle: ModelBundle): void {
    this.bundle = bundle;
    this.rules = this.options.rules ?? bundle.manifest.rules;
    this.nFeatures = bundle.manifest.featureNames.length;
    this.featureIndex = new Map(bundle.manifest.featureNames.map((name, j) => [name, j]));
    this.shapOut = new Float64Array(this.nFeatures + 1);
  }

  /**
   * Scores `n` rows of `features` (row-major, `n × featureNames.length`, NaN = missing).
   * `transactions[i]` is the transaction of row i, for rules; may be omitted when there are no rules.
   * With `learn`, the forest learns only from rows `i` where `learn[i] === 1`: a caller that
   * sees a record again (a redelivery, a producer retry) scores it without teaching the
   * streaming forest the same point twice.
   */
  scoreBatch(
    features: Float64Array | Float32Array,
    n: number,
    transactions?: readonly Transaction[],
    learn?: Uint8Array,
  ): ScoreBatch {
    const { manifest, gbdt, rcf } = this.bundle;
    const d = this.nFeatures;
    if (this.out.classifierProbability.length < n || this.out.modelVersion !== manifest.fingerprint) {
      this.out = emptyBatch(Math.max(n, this.out.classifierProbability.length), manifest.fingerprint);
    }
    const out = this.out;
    out.n = n;
    if (this.x32.length < n * d) this.x32 = new Float32Array(n * d);
    const x32 = this.x32;
    if (features instanceof Float32Array) x32.set(features.subarray(0, n * d));
    else for (let i = 0; i < n * d; i++) x32[i] = features[i]!;
    gbdt.predictProba({ data: x32.subarray(0, n * d), nRows: n, nCols: d }, out.classifierProbability);

    // The forest scores the whole batch, explanations are taken, and only then does it learn
    // from the batch: a point never explains itself away, and tree-by-tree batch work is faster.
    if (this.z.length < n * d) this.z = new Float64Array(n * d);
    const z = standardize(features, n, manifest.rcf.scaling, this.z);
    rcf.scoreBatch(z, n, out.anomalyScore);
    const w = manifest.combination.anomalyWeight;
    const { review, decline } = manifest.thresholds;
    for (let i = 0; i < n; i++) {
      const row = i * d;
      const raw = out.anomalyScore[i]!;
      const a = normalizeAnomaly(raw, manifest.rcf.calibration);
      const p = out.classifierProbability[i]!;
      const score = (1 - w) * p + w * a;
      out.anomalyNormalized[i] = a;
      out.fraudScore[i] = score;
      let decision: Decision = score >= decline ? 'decline' : score >= review ? 'review' : 'approve';
      let fired: Reason[] | undefined;
      if (this.rules.length > 0 && transactions) {
        const tx = transactions[i]!;
        const input: RuleInput = {
          transaction: tx,
          features: (name) => {
            const k = this.featureIndex.get(name);
            return k === undefined ? undefined : features[row + k];
          },
          scores: { fraudScore: score, classifierProbability: p, anomalyScore: raw, anomalyNormalized: a },
        };
        for (const rule of this.rules) {
          if (!ruleMatches(rule, input)) continue;
          fired ??= [];
          fired.push({ name: rule.name, contribution: 1, source: 'rule' });
          if (rule.action === 'decline' || decision === 'approve') decision = rule.action;
        }
      }
      out.decisions[i] = decision;
      const explain =
        this.options.explain === 'all' || (this.options.explain === 'flagged' && decision !== 'approve');
      out.reasons[i] = explain ? this.explainRow(features, row, a, fired) : (fired ?? []);
    }
    rcf.updateBatch(z, learn ? keepLearnedRows(z, n, d, learn) : n);
    return out;
  }

  private explainRow(
    features: Float64Array | Float32Array,
    row: number,
    anomaly: number,
    fired?: Reason[],
  ): Reason[] {
    const { manifest, gbdt, rcf } = this.bundle;
    const d = this.nFeatures;
    const names = manifest.featureNames;
    const reasons: Reason[] = fired ? [...fired] : [];
    const shap = gbdt.shap(features.subarray(row, row + d), this.shapOut);
    const order = Array.from({ length: d }, (_, j) => j)
      .filter((j) => shap[j]! > 0)
      .sort((a, b) => shap[b]! - shap[a]!);
    for (const j of order.slice(0, this.options.reasons)) {
      reasons.push({ name: names[j]!, contribution: shap[j]!, source: 'classifier' });
    }
    if (anomaly >= 0.95) {
      const attribution = rcf.attribution(this.z.subarray(row, row + d));
      let best = 0;
      for (let j = 1; j < d; j++) {
        if (attribution.high[j]! + attribution.low[j]! > attribution.high[best]! + attribution.low[best]!)
          best = j;
      }
      reasons.push({
        name: names[best]!,
        contribution: attribution.high[best]! + attribution.low[best]!,
        source: 'anomaly',
      });
    }
    return reasons;
  }
}

/** Moves the rows to learn from to the front of `z` (scratch, already scored); returns how many. */
function keepLearnedRows(z: Float64Array, n: number, d: number, learn: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (learn[i] !== 1) continue;
    if (m !== i) z.copyWithin(m * d, i * d, (i + 1) * d);
    m++;
  }
  return m;
}

function emptyBatch(capacity: number, modelVersion: string): ScoreBatch {
  return {
    n: 0,
    classifierProbability: new Float64Array(capacity),
    anomalyScore: new Float64Array(capacity),
    anomalyNormalized: new Float64Array(capacity),
    fraudScore: new Float64Array(capacity),
    decisions: new Array<Decision>(capacity).fill('approve'),
    reasons: new Array<Reason[]>(capacity).fill([]),
    modelVersion,
  };
}
