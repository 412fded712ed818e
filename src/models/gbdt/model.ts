import { ParseError } from '../../errors/index.js';
import { CompiledForest } from './compile.js';
import {
  buildForest,
  type Forest,
  forestSize,
  type Matrix,
  predictForestGeneric,
  sumTrees,
  type TreeArrays,
  treeArrays,
} from './forest.js';
import type { GbdtTrainOptions } from './options.js';
import { TreeShap } from './shap.js';
import { checkMatrix, type GbdtTrainExtras, type GbdtTrainingInfo, trainForest } from './train.js';
import { parseXGBoostModel } from './xgboost.js';

/** Value of `format` in {@link GbdtModelJson}. */
export const GBDT_MODEL_FORMAT = 'fraudstream-gbdt';
/** Current {@link GbdtModelJson} version; readers reject other versions. */
export const GBDT_MODEL_VERSION = 1;

/** One tree in {@link GbdtModelJson}: parallel arrays, tree-local node indices, root = 0, leaf ⇔ `feature < 0`. */
export interface GbdtTreeJson {
  feature: number[];
  /** Float32 split thresholds (`x < threshold` goes left); 0 for leaves. */
  threshold: number[];
  left: number[];
  right: number[];
  /** 1 when missing values go left. */
  defaultLeft: number[];
  /** Leaf values (learning rate applied); internal nodes hold their unshrunk-weight counterpart. */
  value: number[];
  /** Sum of training hessians per node. */
  cover: number[];
}

/** Versioned JSON form of a {@link GbdtModel}. Numbers are written as doubles, so a round trip is exact. */
export interface GbdtModelJson {
  format: typeof GBDT_MODEL_FORMAT;
  version: typeof GBDT_MODEL_VERSION;
  objective: 'binary:logistic';
  nFeatures: number;
  featureNames: string[];
  /** `logit(baseScore)`: the margin before any tree. */
  baseMargin: number;
  trees: GbdtTreeJson[];
  info?: GbdtTrainingInfo | undefined;
}

/**
 * A binary logistic tree ensemble: trained here ({@link trainGbdt}), loaded from our JSON or
 * imported from XGBoost. Predictions follow XGBoost's rule exactly (float32 split comparison,
 * learned default direction for `NaN`), margin = base margin + Σ leaves, probability = σ(margin).
 *
 * Batch and row predictions run generated code specialised to the model ({@link CompiledForest});
 * {@link predictMarginGeneric} walks the node arrays and is kept as the reference path.
 */
export class GbdtModel {
  readonly nFeatures: number;
  readonly featureNames: readonly string[];
  readonly nTrees: number;
  /** Training metadata (best iteration, metric history, options); absent for imported models. */
  readonly info: GbdtTrainingInfo | undefined;
  private readonly forest: Forest;
  private readonly compiled: CompiledForest | undefined;
  private explainer: TreeShap | undefined;

  /** Wraps a validated forest; use {@link trainGbdt}, {@link fromJSON} or {@link fromXGBoostJson}. */
  constructor(forest: Forest, featureNames?: readonly string[], info?: GbdtTrainingInfo) {
    this.forest = forest;
    this.nFeatures = forest.nFeatures;
    this.nTrees = forestSize(forest);
    this.featureNames = Object.freeze(
      featureNames ? [...featureNames] : Array.from({ length: forest.nFeatures }, (_, i) => `f${i}`),
    );
    if (this.featureNames.length !== forest.nFeatures) {
      throw new RangeError(`${this.featureNames.length} feature names for ${forest.nFeatures} features`);
    }
    this.info = info;
    this.compiled = compileOrUndefined(forest);
  }

  /** Margins (log-odds) of every row of `x` into `out` (allocated when omitted). */
  predictMargin(x: Matrix, out?: Float64Array): Float64Array {
    const result = this.checkBatch(x, out);
    if (this.compiled) this.compiled.predictMargin(x, result);
    else predictForestGeneric(this.forest, x, result);
    return result;
  }

  /** Same as {@link predictMargin} through the node arrays instead of generated code. */
  predictMarginGeneric(x: Matrix, out?: Float64Array): Float64Array {
    const result = this.checkBatch(x, out);
    predictForestGeneric(this.forest, x, result);
    return result;
  }

  /** Probabilities σ(margin) of every row of `x` into `out` (allocated when omitted). */
  predictProba(x: Matrix, out?: Float64Array): Float64Array {
    const result = this.predictMargin(x, out);
    for (let i = 0; i < x.nRows; i++) result[i] = sigmoid(result[i]!);
    return result;
  }

  /** Margin of the row at `row[offset .. offset + nFeatures)`; values are compared as float32. */
  predictRowMargin(row: ArrayLike<number>, offset = 0): number {
    this.checkRow(row, offset);
    if (this.compiled) return this.compiled.predictRowMargin(row, offset);
    return this.forest.baseMargin + sumTrees(this.forest, row, offset, 0, this.nTrees);
  }

  /** Probability of the row at `row[offset .. offset + nFeatures)`. */
  predictRowProba(row: ArrayLike<number>, offset = 0): number {
    return sigmoid(this.predictRowMargin(row, offset));
  }

  /**
   * Exact TreeSHAP contributions to the margin: `out[f]` for feature `f`, `out[nFeatures]` the
   * expected margin (bias); they sum to the row's margin.
   */
  shap(row: ArrayLike<number>, out?: Float64Array): Float64Array {
    this.checkRow(row, 0);
    const n = this.nFeatures + 1;
    if (out && out.length < n) throw new RangeError(`out has length ${out.length}, needs ${n}`);
    const phi = out ?? new Float64Array(n);
    phi.fill(0, 0, n);
    this.explainer ??= new TreeShap(this.forest);
    this.explainer.explain(row, 0, phi);
    return phi;
  }

  /** Expected margin over the training distribution (the SHAP bias term). */
  expectedMargin(): number {
    this.explainer ??= new TreeShap(this.forest);
    return this.explainer.expectedValue;
  }

  /** Versioned JSON form; `GbdtModel.fromJSON(JSON.parse(JSON.stringify(m)))` predicts bit-identically. */
  toJSON(): GbdtModelJson {
    const trees: GbdtTreeJson[] = [];
    for (let t = 0; t < this.nTrees; t++) {
      const a = treeArrays(this.forest, t);
      trees.push({
        feature: Array.from(a.feature),
        threshold: Array.from(a.threshold),
        left: Array.from(a.left),
        right: Array.from(a.right),
        defaultLeft: Array.from(a.defaultLeft),
        value: Array.from(a.value),
        cover: Array.from(a.cover),
      });
    }
    const json: GbdtModelJson = {
      format: GBDT_MODEL_FORMAT,
      version: GBDT_MODEL_VERSION,
      objective: 'binary:logistic',
      nFeatures: this.nFeatures,
      featureNames: [...this.featureNames],
      baseMargin: this.forest.baseMargin,
      trees,
    };
    if (this.info) json.info = this.info;
    return json;
  }

  /** Reads {@link GbdtModelJson} (object or already-parsed JSON); throws `ParseError` when invalid. */
  static fromJSON(json: unknown): GbdtModel {
    const root = asRecord(json, 'model');
    if (root.format !== GBDT_MODEL_FORMAT) {
      throw new ParseError('format', `expected '${GBDT_MODEL_FORMAT}', got ${JSON.stringify(root.format)}`);
    }
    if (root.version !== GBDT_MODEL_VERSION) {
      throw new ParseError('version', `unsupported version ${JSON.stringify(root.version)}`);
    }
    if (root.objective !== 'binary:logistic') {
      throw new ParseError('objective', `unsupported objective ${JSON.stringify(root.objective)}`);
    }
    const nFeatures = root.nFeatures;
    if (typeof nFeatures !== 'number' || !Number.isInteger(nFeatures) || nFeatures < 1) {
      throw new ParseError('nFeatures', 'expected a positive integer');
    }
    if (typeof root.baseMargin !== 'number') throw new ParseError('baseMargin', 'expected a number');
    const names = root.featureNames;
    if (!Array.isArray(names) || names.length !== nFeatures || names.some((s) => typeof s !== 'string')) {
      throw new ParseError('featureNames', `expected ${nFeatures} strings`);
    }
    if (!Array.isArray(root.trees)) throw new ParseError('trees', 'expected an array');
    const trees: TreeArrays[] = root.trees.map((tree, t) => {
      const rec = asRecord(tree, `trees[${t}]`);
      const field = (name: keyof GbdtTreeJson): number[] => numberArray(rec[name], `trees[${t}].${name}`);
      const arrays: TreeArrays = {
        feature: field('feature'),
        threshold: field('threshold'),
        left: field('left'),
        right: field('right'),
        defaultLeft: field('defaultLeft'),
        value: field('value'),
        cover: field('cover'),
      };
      checkTree(arrays, nFeatures, `trees[${t}]`);
      return arrays;
    });
    const info =
      root.info === undefined ? undefined : (asRecord(root.info, 'info') as unknown as GbdtTrainingInfo);
    return new GbdtModel(buildForest(nFeatures, root.baseMargin, trees), names as string[], info);
  }

  /**
   * Imports an XGBoost JSON model (`save_model('x.json')`) of objective `binary:logistic` with the
   * `gbtree` booster. Accepts the JSON text or the parsed object; throws `ParseError` when invalid.
   */
  static fromXGBoostJson(json: unknown): GbdtModel {
    const parsed = parseXGBoostModel(json);
    for (let t = 0; t < parsed.trees.length; t++)
      checkTree(parsed.trees[t]!, parsed.nFeatures, `trees[${t}]`);
    return new GbdtModel(
      buildForest(parsed.nFeatures, parsed.baseMargin, parsed.trees),
      parsed.featureNames,
      undefined,
    );
  }

  private checkBatch(x: Matrix, out: Float64Array | undefined): Float64Array {
    checkMatrix('x', x);
    if (x.nCols !== this.nFeatures) {
      throw new RangeError(`x has ${x.nCols} columns, the model expects ${this.nFeatures}`);
    }
    if (out && out.length < x.nRows) throw new RangeError(`out has length ${out.length} < ${x.nRows} rows`);
    return out ?? new Float64Array(x.nRows);
  }

  private checkRow(row: ArrayLike<number>, offset: number): void {
    if (!Number.isInteger(offset) || offset < 0 || row.length < offset + this.nFeatures) {
      throw new RangeError(`row needs ${this.nFeatures} values from offset ${offset}, has ${row.length}`);
    }
  }
}

/**
 * Trains a binary logistic GBDT (XGBoost `hist` algorithm; see {@link GbdtTrainOptions}).
 * Deterministic for a given seed. With `extras.validation`, the validation metric is tracked per
 * round and early stopping keeps the trees up to the best round.
 */
export function trainGbdt(
  x: Matrix,
  y: ArrayLike<number>,
  options: Partial<GbdtTrainOptions> = {},
  extras: GbdtTrainExtras = {},
): GbdtModel {
  if (extras.featureNames && extras.featureNames.length !== x.nCols) {
    throw new RangeError(`${extras.featureNames.length} feature names for ${x.nCols} columns`);
  }
  const { forest, info } = trainForest(x, y, options, extras);
  return new GbdtModel(forest, extras.featureNames, info);
}

function sigmoid(m: number): number {
  return 1 / (1 + Math.exp(-m));
}

/** Generated code needs `new Function`; where code generation is disallowed the generic path serves. */
function compileOrUndefined(forest: Forest): CompiledForest | undefined {
  try {
    return new CompiledForest(forest);
  } catch (error) {
    if (error instanceof EvalError) return undefined;
    throw error;
  }
}

/**
 * Structural checks that make prediction safe: indices in range, children after their parent
 * (so every walk terminates), thresholds representable, features within the model.
 */
function checkTree(tree: TreeArrays, nFeatures: number, where: string): void {
  const n = tree.feature.length;
  if (n === 0) throw new ParseError(where, 'a tree needs at least one node');
  for (const key of ['threshold', 'left', 'right', 'defaultLeft', 'value', 'cover'] as const) {
    if (tree[key].length !== n) throw new ParseError(`${where}.${key}`, `expected ${n} entries`);
  }
  for (let i = 0; i < n; i++) {
    const f = tree.feature[i]!;
    if (!Number.isInteger(f) || f >= nFeatures) {
      throw new ParseError(`${where}.feature[${i}]`, `invalid feature ${f}`);
    }
    if (f < 0) continue;
    const l = tree.left[i]!;
    const r = tree.right[i]!;
    if (!Number.isInteger(l) || !Number.isInteger(r) || l <= i || r <= i || l >= n || r >= n || l === r) {
      throw new ParseError(`${where}.left/right[${i}]`, 'children must be distinct later nodes of the tree');
    }
    if (Number.isNaN(tree.threshold[i]!)) throw new ParseError(`${where}.threshold[${i}]`, 'NaN threshold');
  }
}

function asRecord(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ParseError(field, 'expected an object');
  }
  return value as Record<string, unknown>;
}

function numberArray(value: unknown, field: string): number[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'number')) {
    throw new ParseError(field, 'expected an array of numbers');
  }
  return value as number[];
}
