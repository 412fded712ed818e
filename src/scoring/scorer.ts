import { BundleError, ConfigError, RemoteModelError } from '../errors/index.js';
import type { Transaction } from '../events/index.js';
import type { Decision, Reason } from '../store/index.js';
import { type ModelBundle, reloadIncompatibility } from './bundle.js';
import { normalizeAnomaly } from './calibration.js';
import {
  ENDPOINT_FALLBACKS,
  type EndpointFallback,
  type ModelKind,
  type RemoteModel,
  type RemoteModels,
} from './remote.js';
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
  /**
   * Whether the Random Cut Forest scores and learns. `false` scores with the classifier alone:
   * the forest neither scores nor learns, `fraudScore` is the classifier probability (anomaly
   * weight 0) against the bundle's thresholds, and the anomaly scores are NaN (stored as null).
   * @default true
   */
  forest?: boolean;
  /**
   * The forest scores every transaction but learns from one in this many (the transactions at
   * stream positions 0, k, 2k, … across batches): learning is a third of the forest's cost per
   * transaction, and a sample of the stream keeps the forest's picture of normal traffic (its
   * sample then spans k times more transactions). 1 learns from every transaction.
   * @default 4
   */
  forestUpdateEvery?: number;
  /**
   * Remote endpoints replacing the bundle's classifier and/or forest; score with
   * {@link Scorer.scoreBatchAsync} then. The bundle still gives the feature order, the anomaly
   * calibration, the combination weight, thresholds and rules.
   * @default {} (both models in-process)
   */
  remote?: RemoteModels;
  /**
   * What happens to a batch when a remote model fails; see {@link EndpointFallback}.
   * @default 'local'
   */
  endpointFallback?: EndpointFallback;
  /** Called when a remote model fails (before the fallback applies), e.g. to log it. */
  onRemoteFailure?: (model: ModelKind, error: RemoteModelError) => void;
}

export const DEFAULT_SCORER_OPTIONS = {
  reasons: 3,
  explain: 'flagged',
  endpointFallback: 'local',
  forest: true,
  forestUpdateEvery: 4,
} as const;

/** Scorer options after defaults, as the scorer uses them. */
export type ResolvedScorerOptions = Required<
  Pick<ScorerOptions, 'reasons' | 'explain' | 'endpointFallback' | 'forest' | 'forestUpdateEvery'>
> &
  Pick<ScorerOptions, 'rules' | 'onRemoteFailure' | 'remote'>;

/** Merges defaults into `options` and validates them; throws {@link ConfigError}. */
export function resolveScorerOptions(options: ScorerOptions = {}): ResolvedScorerOptions {
  const o = { ...DEFAULT_SCORER_OPTIONS, ...options };
  if (!(Number.isInteger(o.forestUpdateEvery) && o.forestUpdateEvery >= 1)) {
    throw new ConfigError(`forestUpdateEvery must be a positive integer, got ${o.forestUpdateEvery}`);
  }
  if (!(Number.isInteger(o.reasons) && o.reasons >= 0)) {
    throw new ConfigError(`reasons must be a non-negative integer, got ${o.reasons}`);
  }
  if (!(ENDPOINT_FALLBACKS as readonly string[]).includes(o.endpointFallback)) {
    throw new ConfigError(
      `endpointFallback must be one of ${ENDPOINT_FALLBACKS.join(', ')}, got ${JSON.stringify(o.endpointFallback)}`,
    );
  }
  return o;
}

/**
 * Which rows of a batch the forest learns from after scoring them: all of them (the default),
 * none (`{ learn: false }`, a dry run), or the rows `i` where `mask[i] === 1` (a caller that sees
 * a record again — a redelivery, a producer retry — scores it without teaching the streaming
 * forest the same point twice).
 */
export type LearnPolicy = { learn?: boolean } | Uint8Array;

/** Model outputs computed before the (synchronous) combination of a batch. */
interface Precomputed {
  classifierProbability: Float64Array | undefined;
  anomalyScore: Float64Array | undefined;
  /** Reasons every record of the batch carries (an endpoint fallback). */
  batchReasons: Reason[] | undefined;
}

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
  private readonly options: ResolvedScorerOptions;
  private readonly remote: RemoteModels;
  private nFeatures = 0;
  /** Feature name → column, built once per bundle for rules. */
  private featureIndex = new Map<string, number>();
  private x32 = new Float32Array(0);
  private z = new Float64Array(0);
  private shapOut = new Float64Array(0);
  private out: ScoreBatch = emptyBatch(0, '');
  /** Transactions scored so far: picks which ones the forest learns from. */
  private scored = 0;

  constructor(bundle: ModelBundle, options: ScorerOptions = {}) {
    this.options = resolveScorerOptions(options);
    this.remote = { ...options.remote };
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

  /** True when a remote endpoint replaces a model: score with {@link scoreBatchAsync}. */
  get usesRemoteModels(): boolean {
    return this.remote.classifier !== undefined || this.remote.anomaly !== undefined;
  }

  /**
   * Scores `n` rows of `features` (row-major, `n × featureNames.length`, NaN = missing) with the
   * in-process models. `transactions[i]` is the transaction of row i, for rules; may be omitted
   * when there are no rules. `learn` chooses the rows the forest learns from (see {@link LearnPolicy}).
   * @throws ConfigError when the scorer has remote models ({@link scoreBatchAsync} calls them).
   */
  scoreBatch(
    features: Float64Array | Float32Array,
    n: number,
    transactions?: readonly Transaction[],
    learn?: LearnPolicy,
  ): ScoreBatch {
    if (this.usesRemoteModels) {
      throw new ConfigError('this scorer calls remote endpoints: score with scoreBatchAsync');
    }
    return this.combine(features, n, transactions, undefined, learn);
  }

  /**
   * {@link scoreBatch} for any scorer: remote models get one call each for the whole batch
   * (both at once), then the batch is combined as in-process. Without remote models it adds
   * nothing but one await. `features` is read again after the endpoints answer: leave it
   * unchanged until the promise settles. The result's buffers are reused by the next call, also
   * by a call that started earlier and finishes later: copy what you keep before your next await.
   * Reasons come from the bundle's classifier (TreeSHAP), exact when the endpoint serves the same
   * bundle; a remote forest gives no attribution reason.
   * @throws RemoteModelError when a remote model fails and the fallback is `retry`.
   */
  async scoreBatchAsync(
    features: Float64Array | Float32Array,
    n: number,
    transactions?: readonly Transaction[],
    learn?: LearnPolicy,
  ): Promise<ScoreBatch> {
    if (!this.usesRemoteModels || n === 0) return this.combine(features, n, transactions, undefined, learn);
    const d = this.nFeatures;
    const { classifier, anomaly } = this.remote;
    // Both endpoints read `features` synchronously inside score(), before the first await.
    const [p, a] = await Promise.allSettled([
      classifier ? classifier.score(features, n, d) : undefined,
      anomaly ? anomaly.score(features, n, d) : undefined,
    ]);
    const batchReasons: Reason[] = [];
    const classifierProbability = this.remoteOutput('classifier', classifier, p, n, batchReasons);
    const anomalyScore = this.remoteOutput('anomaly', anomaly, a, n, batchReasons);
    return this.combine(
      features,
      n,
      transactions,
      {
        classifierProbability,
        anomalyScore,
        batchReasons: batchReasons.length > 0 ? batchReasons : undefined,
      },
      learn,
    );
  }

  /** A remote model's output for the batch, or `undefined` = compute it in-process (with a fallback reason). */
  private remoteOutput(
    kind: ModelKind,
    model: RemoteModel | undefined,
    settled: PromiseSettledResult<Float64Array | undefined>,
    n: number,
    batchReasons: Reason[],
  ): Float64Array | undefined {
    if (!model) return undefined;
    if (settled.status === 'fulfilled' && settled.value && settled.value.length >= n) return settled.value;
    const error =
      settled.status === 'rejected'
        ? settled.reason instanceof RemoteModelError
          ? settled.reason
          : new RemoteModelError(model.name, String(settled.reason), { cause: settled.reason })
        : new RemoteModelError(model.name, `answered ${settled.value?.length ?? 0} scores for ${n} rows`);
    this.options.onRemoteFailure?.(kind, error);
    if (this.options.endpointFallback === 'retry') throw error;
    batchReasons.push({ name: `endpoint-unavailable:${kind}`, contribution: 0, source: 'rule' });
    return undefined;
  }

  /** Model outputs (precomputed or in-process), then the combination, decisions and reasons. */
  private combine(
    features: Float64Array | Float32Array,
    n: number,
    transactions: readonly Transaction[] | undefined,
    pre: Precomputed | undefined,
    learn: LearnPolicy | undefined,
  ): ScoreBatch {
    const { manifest, gbdt, rcf } = this.bundle;
    const d = this.nFeatures;
    if (this.out.classifierProbability.length < n || this.out.modelVersion !== manifest.fingerprint) {
      this.out = emptyBatch(Math.max(n, this.out.classifierProbability.length), manifest.fingerprint);
    }
    const out = this.out;
    out.n = n;
    if (pre?.classifierProbability) {
      out.classifierProbability.set(pre.classifierProbability.subarray(0, n));
    } else {
      if (this.x32.length < n * d) this.x32 = new Float32Array(n * d);
      const x32 = this.x32;
      if (features instanceof Float32Array) x32.set(features.subarray(0, n * d));
      else for (let i = 0; i < n * d; i++) x32[i] = features[i]!;
      gbdt.predictProba({ data: x32.subarray(0, n * d), nRows: n, nCols: d }, out.classifierProbability);
    }

    // The forest scores the whole batch, explanations are taken, and only then does it learn
    // from the batch: a point never explains itself away, and tree-by-tree batch work is faster.
    // With a remote forest the local one neither learns (a fallback then scores like the
    // endpoint, which does not learn either) nor explains (it is not the model that scored).
    // Without the forest (`forest: false`) it neither scores nor learns.
    const remoteForest = this.remote.anomaly !== undefined;
    const forest = this.options.forest;
    if (this.z.length < n * d) this.z = new Float64Array(n * d);
    const z = forest ? standardize(features, n, manifest.rcf.scaling, this.z) : this.z;
    if (pre?.anomalyScore) out.anomalyScore.set(pre.anomalyScore.subarray(0, n));
    else if (forest) rcf.scoreBatch(z, n, out.anomalyScore);
    else out.anomalyScore.fill(Number.NaN, 0, n);
    const w = forest ? manifest.combination.anomalyWeight : 0;
    const { review, decline } = manifest.thresholds;
    for (let i = 0; i < n; i++) {
      const row = i * d;
      const raw = out.anomalyScore[i]!;
      const a = forest ? normalizeAnomaly(raw, manifest.rcf.calibration) : Number.NaN;
      const p = out.classifierProbability[i]!;
      const score = forest ? (1 - w) * p + w * a : p;
      out.anomalyNormalized[i] = a;
      out.fraudScore[i] = score;
      let decision: Decision = score >= decline ? 'decline' : score >= review ? 'review' : 'approve';
      let fired: Reason[] | undefined = pre?.batchReasons ? [...pre.batchReasons] : undefined;
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
      out.reasons[i] = explain ? this.explainRow(features, row, remoteForest ? 0 : a, fired) : (fired ?? []);
    }
    if (
      forest &&
      !remoteForest &&
      !(learn !== undefined && !(learn instanceof Uint8Array) && learn.learn === false)
    )
      this.learn(z, n, d, learn instanceof Uint8Array ? learn : undefined);
    this.scored += n;
    return out;
  }

  /**
   * Lets the forest learn from the batch's rows at stream positions that are multiples of
   * `forestUpdateEvery`, skipping those `learn` excludes (records seen before). Compacts those
   * rows to the front of `z`, which is not read again before the next batch standardises into it.
   */
  private learn(z: Float64Array, n: number, d: number, mask: Uint8Array | undefined): void {
    const k = this.options.forestUpdateEvery;
    let m = 0;
    for (let i = (k - (this.scored % k)) % k; i < n; i += k) {
      if (mask !== undefined && mask[i] !== 1) continue;
      if (i !== m) z.copyWithin(m * d, i * d, i * d + d);
      m++;
    }
    if (m > 0) this.bundle.rcf.updateBatch(z, m);
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
