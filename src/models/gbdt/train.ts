import { Random } from '../../random/index.js';
import { averagePrecision, rocAuc } from '../metrics/index.js';
import { type BinnedMatrix, binMatrix } from './binning.js';
import { buildForest, type Forest, type Matrix, type TreeArrays } from './forest.js';
import { type GbdtEvalMetric, type GbdtTrainOptions, resolveGbdtTrainOptions } from './options.js';

/** What training did: kept for inspection and saved with the model. */
export interface GbdtTrainingInfo {
  /** The options actually used, with `baseScore` filled in. */
  readonly options: GbdtTrainOptions;
  /** Training rows and how many were positive. */
  readonly nRows: number;
  readonly nPositives: number;
  /** Boosting rounds run (≥ the number of trees kept when early stopping triggered). */
  readonly roundsTrained: number;
  /** 0-based round of the best validation metric; the model keeps trees `0..bestIteration`. */
  readonly bestIteration: number;
  /** Metric of {@link validHistory}; absent without a validation set. */
  readonly evalMetric?: GbdtEvalMetric | undefined;
  /** Validation metric after each round (empty without a validation set). */
  readonly validHistory: readonly number[];
  /** Validation metric at {@link bestIteration}. */
  readonly bestValidMetric?: number | undefined;
}

/** Optional inputs of training besides the data and the hyperparameters. */
export interface GbdtTrainExtras {
  /** Held-out rows scored after every round, for the metric history and early stopping. */
  validation?: { x: Matrix; y: ArrayLike<number> } | undefined;
  /** One name per column; defaults to XGBoost's `f0, f1, …`. */
  featureNames?: readonly string[] | undefined;
  /** Called after every round. */
  onProgress?: ((p: { tree: number; nTrees: number; validMetric?: number }) => void) | undefined;
}

/** Result of {@link trainForest}: the trees and what training did. */
export interface TrainedForest {
  forest: Forest;
  info: GbdtTrainingInfo;
}

/** Hessians are floored here so that a perfectly fitted row cannot make `H + λ` vanish. */
const MIN_HESSIAN = 1e-16;
/** A split must reduce the loss by more than this (XGBoost's `kRtEps`) to beat rounding noise. */
const MIN_GAIN = 1e-6;

/**
 * Trains a binary logistic GBDT with XGBoost's `hist` algorithm: quantile bins, gradient and
 * hessian histograms per node, exact search over bin boundaries with the second-order gain, and
 * sparsity-aware default directions. See {@link GbdtTrainOptions} for the hyperparameters.
 */
export function trainForest(
  x: Matrix,
  y: ArrayLike<number>,
  options: Partial<GbdtTrainOptions> = {},
  extras: GbdtTrainExtras = {},
): TrainedForest {
  const opts = resolveGbdtTrainOptions(options);
  checkMatrix('x', x);
  const n = x.nRows;
  if (n === 0) throw new RangeError('x has no rows');
  const nPositives = checkLabels('y', y, n);
  const validation = extras.validation;
  if (validation) {
    checkMatrix('validation.x', validation.x);
    if (validation.x.nCols !== x.nCols) {
      throw new RangeError(`validation.x has ${validation.x.nCols} columns, x has ${x.nCols}`);
    }
    const vPos = checkLabels('validation.y', validation.y, validation.x.nRows);
    if (vPos === 0 || (opts.evalMetric === 'auc' && vPos === validation.x.nRows)) {
      throw new RangeError(`validation.y must contain both classes for evalMetric '${opts.evalMetric}'`);
    }
  }

  const spw = opts.scalePosWeight;
  const weightedPositives = spw * nPositives;
  const baseScore =
    opts.baseScore === 'mean'
      ? clamp(weightedPositives / (weightedPositives + (n - nPositives)), 1e-7, 1 - 1e-7)
      : opts.baseScore;
  const baseMargin = Math.log(baseScore / (1 - baseScore));
  const resolved: GbdtTrainOptions = { ...opts, baseScore };

  const random = new Random(opts.seed);
  const binned = binMatrix(x, opts.maxBins, random.fork());
  const grower = new TreeGrower(binned, opts);
  const margin = new Float64Array(n).fill(baseMargin);
  const grad = new Float64Array(n);
  const hess = new Float64Array(n);
  const sampleRows = new Int32Array(n);
  const inSample = new Uint8Array(n);
  const featureOrder = Int32Array.from({ length: x.nCols }, (_, i) => i);
  const nActive = Math.max(1, Math.floor(opts.colsampleByTree * x.nCols));
  const activeFeatures = new Int32Array(nActive);

  const validMargin = validation ? new Float64Array(validation.x.nRows).fill(baseMargin) : undefined;
  const metric = opts.evalMetric === 'auc' ? rocAuc : averagePrecision;
  const history: number[] = [];
  let bestIteration = opts.nTrees - 1;
  let bestMetric = Number.NEGATIVE_INFINITY;
  const trees: TreeArrays[] = [];

  for (let t = 0; t < opts.nTrees; t++) {
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-margin[i]!));
      const w = y[i] === 1 ? spw : 1;
      grad[i] = w * (p - y[i]!);
      hess[i] = w * Math.max(p * (1 - p), MIN_HESSIAN);
    }
    let m = 0;
    if (opts.subsample < 1) {
      for (let i = 0; i < n; i++) {
        const keep = random.next() < opts.subsample;
        inSample[i] = keep ? 1 : 0;
        if (keep) sampleRows[m++] = i;
      }
    }
    if (m === 0) {
      for (let i = 0; i < n; i++) sampleRows[i] = i;
      inSample.fill(1);
      m = n;
    }
    // Partial Fisher–Yates picks the tree's features; sorting keeps histogram building in column order.
    for (let i = 0; i < nActive; i++) {
      const j = i + random.int(x.nCols - i);
      const tmp = featureOrder[i]!;
      featureOrder[i] = featureOrder[j]!;
      featureOrder[j] = tmp;
    }
    activeFeatures.set(featureOrder.subarray(0, nActive));
    activeFeatures.sort();

    const tree = grower.grow(grad, hess, sampleRows, m, activeFeatures);
    trees.push(tree);
    grower.addToTrainingMargins(margin, m < n ? inSample : undefined);

    let validMetric: number | undefined;
    if (validation && validMargin) {
      addTreeMargins(tree, validation.x, validMargin);
      validMetric = metric(validMargin, validation.y);
      history.push(validMetric);
      if (validMetric > bestMetric) {
        bestMetric = validMetric;
        bestIteration = t;
      }
    }
    extras.onProgress?.(
      validMetric === undefined
        ? { tree: t + 1, nTrees: opts.nTrees }
        : { tree: t + 1, nTrees: opts.nTrees, validMetric },
    );
    if (validation && opts.earlyStoppingRounds > 0 && t - bestIteration >= opts.earlyStoppingRounds) break;
  }

  const roundsTrained = trees.length;
  if (!validation) bestIteration = roundsTrained - 1;
  const kept = validation && opts.earlyStoppingRounds > 0 ? trees.slice(0, bestIteration + 1) : trees;
  const info: GbdtTrainingInfo = {
    options: resolved,
    nRows: n,
    nPositives,
    roundsTrained,
    bestIteration,
    evalMetric: validation ? opts.evalMetric : undefined,
    validHistory: history,
    bestValidMetric: validation ? bestMetric : undefined,
  };
  return { forest: buildForest(x.nCols, baseMargin, kept), info };
}

/**
 * Grows one depth-wise tree on the binned matrix. All buffers are allocated once per training and
 * reused by every tree; a node owns the contiguous range `[start, end)` of `idx`, which stays in
 * ascending row order (stable partitioning), so histogram building reads each bin column forwards.
 */
class TreeGrower {
  private readonly b: BinnedMatrix;
  private readonly o: GbdtTrainOptions;
  private readonly idx: Int32Array;
  private readonly idxScratch: Int32Array;
  /** Gradient and hessian of `idx[i]` at `gh[2i]`, `gh[2i + 1]`, moved along with `idx`. */
  private readonly gh: Float64Array;
  private readonly ghScratch: Float64Array;
  /**
   * Column-major copy of the bin codes (`columns[f * nRows + row]`): a split reads one feature of
   * the node's rows, which in this layout are nearby bytes instead of one per row-major stride.
   */
  private readonly columns: Uint8Array;
  /** Per bin code of the split feature, 1 when the row goes left (the missing code included). */
  private readonly goesLeft = new Uint8Array(256);
  private readonly nodeFeature: Int32Array;
  private readonly nodeBin: Int32Array;
  private readonly nodeThreshold: Float32Array;
  private readonly nodeLeft: Int32Array;
  private readonly nodeRight: Int32Array;
  private readonly nodeDefaultLeft: Uint8Array;
  private readonly nodeValue: Float64Array;
  private readonly nodeG: Float64Array;
  private readonly nodeH: Float64Array;
  private readonly nodeStart: Int32Array;
  private readonly nodeEnd: Int32Array;
  private readonly nodeHist: Int32Array;
  private readonly level: Int32Array;
  private readonly nextLevel: Int32Array;
  private nNodes = 0;
  /** Histogram slots (`2 × totalBins` doubles each) and the stack of free slot numbers. */
  private readonly pool: Float64Array[] = [];
  private readonly freeSlots: number[] = [];
  private features: Int32Array = new Int32Array(0);
  /** `2 × binOffset` of each active feature, aligned with {@link features}. */
  private featureOffsets: Int32Array = new Int32Array(0);
  // Best split of the node being searched (fields rather than an object: no per-node allocation).
  private bestFeature = -1;
  private bestBin = -1;
  private bestDefaultLeft = false;

  constructor(binned: BinnedMatrix, options: GbdtTrainOptions) {
    this.b = binned;
    this.o = options;
    const n = binned.nRows;
    this.idx = new Int32Array(n);
    this.idxScratch = new Int32Array(n);
    this.gh = new Float64Array(2 * n);
    this.ghScratch = new Float64Array(2 * n);
    const nCols = binned.nCols;
    this.columns = new Uint8Array(n * nCols);
    for (let r = 0, o = 0; r < n; r++) {
      for (let f = 0; f < nCols; f++, o++) this.columns[f * n + r] = binned.bins[o]!;
    }
    const maxNodes = 2 ** (options.maxDepth + 1) - 1;
    this.nodeFeature = new Int32Array(maxNodes);
    this.nodeBin = new Int32Array(maxNodes);
    this.nodeThreshold = new Float32Array(maxNodes);
    this.nodeLeft = new Int32Array(maxNodes);
    this.nodeRight = new Int32Array(maxNodes);
    this.nodeDefaultLeft = new Uint8Array(maxNodes);
    this.nodeValue = new Float64Array(maxNodes);
    this.nodeG = new Float64Array(maxNodes);
    this.nodeH = new Float64Array(maxNodes);
    this.nodeStart = new Int32Array(maxNodes);
    this.nodeEnd = new Int32Array(maxNodes);
    this.nodeHist = new Int32Array(maxNodes);
    this.level = new Int32Array(2 ** options.maxDepth);
    this.nextLevel = new Int32Array(2 ** options.maxDepth);
  }

  grow(
    grad: Float64Array,
    hess: Float64Array,
    rows: Int32Array,
    m: number,
    features: Int32Array,
  ): TreeArrays {
    this.features = features;
    this.featureOffsets = Int32Array.from(features, (f) => 2 * this.b.binOffset[f]!);
    const { idx, gh } = this;
    let g = 0;
    let h = 0;
    for (let i = 0; i < m; i++) {
      const r = rows[i]!;
      idx[i] = r;
      gh[2 * i] = grad[r]!;
      gh[2 * i + 1] = hess[r]!;
      g += grad[r]!;
      h += hess[r]!;
    }
    this.nNodes = 1;
    this.initNode(0, 0, m, g, h);
    this.nodeHist[0] = this.allocSlot();
    this.buildHistogram(this.nodeHist[0]!, 0, m);

    let levelSize = 1;
    this.level[0] = 0;
    for (let depth = 0; depth < this.o.maxDepth && levelSize > 0; depth++) {
      let nextSize = 0;
      const childrenNeedHist = depth + 1 < this.o.maxDepth;
      for (let k = 0; k < levelSize; k++) {
        const node = this.level[k]!;
        if (!this.findSplit(node)) {
          this.freeSlot(this.nodeHist[node]!);
          continue;
        }
        this.nodeFeature[node] = this.bestFeature;
        this.nodeBin[node] = this.bestBin;
        this.nodeThreshold[node] = this.b.cuts[this.bestFeature]![this.bestBin]!;
        this.nodeDefaultLeft[node] = this.bestDefaultLeft ? 1 : 0;
        this.nextLevel[nextSize++] = node;
      }
      // Children are created after every split of the level is chosen, so leaves free their
      // histogram slots before the children claim new ones.
      let childCount = 0;
      for (let k = 0; k < nextSize; k++) {
        const node = this.nextLevel[k]!;
        const left = this.nNodes++;
        const right = this.nNodes++;
        this.split(node, left, right, childrenNeedHist);
        const parentSlot = this.nodeHist[node]!;
        if (childrenNeedHist) {
          // Histogram subtraction: build the child with fewer rows, derive its sibling from the
          // parent in place (the parent's histogram is not needed any more).
          const leftRows = this.nodeEnd[left]! - this.nodeStart[left]!;
          const rightRows = this.nodeEnd[right]! - this.nodeStart[right]!;
          const small = leftRows <= rightRows ? left : right;
          const large = small === left ? right : left;
          const slot = this.allocSlot();
          this.buildHistogram(slot, this.nodeStart[small]!, this.nodeEnd[small]!);
          this.subtract(parentSlot, slot);
          this.nodeHist[small] = slot;
          this.nodeHist[large] = parentSlot;
        } else {
          this.freeSlot(parentSlot);
        }
        this.level[childCount++] = left;
        this.level[childCount++] = right;
      }
      levelSize = childCount;
    }
    for (let k = 0; k < levelSize; k++) {
      const node = this.level[k]!;
      const slot = this.nodeHist[node]!;
      if (slot >= 0) this.freeSlot(slot);
    }
    return this.exportTree();
  }

  /** Adds the new tree's leaf values to the training margins (`inSample` absent: all rows sampled). */
  addToTrainingMargins(margin: Float64Array, inSample: Uint8Array | undefined): void {
    const { idx, nodeFeature, nodeValue, nodeStart, nodeEnd } = this;
    for (let node = 0; node < this.nNodes; node++) {
      if (nodeFeature[node]! >= 0) continue;
      const v = nodeValue[node]!;
      for (let i = nodeStart[node]!; i < nodeEnd[node]!; i++) margin[idx[i]!] = margin[idx[i]!]! + v;
    }
    if (!inSample) return;
    // Rows outside the sample never reached a leaf range; route them through the tree by bin code.
    const { bins, nRows, nCols, nValueBins } = this.b;
    const { nodeBin, nodeLeft, nodeRight, nodeDefaultLeft } = this;
    for (let r = 0; r < nRows; r++) {
      if (inSample[r] === 1) continue;
      let node = 0;
      let f = nodeFeature[0]!;
      while (f >= 0) {
        const code = bins[r * nCols + f]!;
        const goLeft = code === nValueBins[f] ? nodeDefaultLeft[node] === 1 : code <= nodeBin[node]!;
        node = goLeft ? nodeLeft[node]! : nodeRight[node]!;
        f = nodeFeature[node]!;
      }
      margin[r] = margin[r]! + nodeValue[node]!;
    }
  }

  private initNode(node: number, start: number, end: number, g: number, h: number): void {
    this.nodeFeature[node] = -1;
    this.nodeBin[node] = -1;
    this.nodeThreshold[node] = 0;
    this.nodeLeft[node] = -1;
    this.nodeRight[node] = -1;
    this.nodeDefaultLeft[node] = 0;
    this.nodeG[node] = g;
    this.nodeH[node] = h;
    this.nodeStart[node] = start;
    this.nodeEnd[node] = end;
    this.nodeHist[node] = -1;
    const { lambda, alpha, learningRate } = this.o;
    this.nodeValue[node] = (-softThreshold(g, alpha) / (h + lambda)) * learningRate;
  }

  /** Best split of `node` into the `best*` fields; false when no split gains more than `gamma`. */
  private findSplit(node: number): boolean {
    const hist = this.pool[this.nodeHist[node]!]!;
    const { lambda, alpha, gamma } = this.o;
    const minChild = Math.max(this.o.minChildWeight, MIN_HESSIAN);
    const G = this.nodeG[node]!;
    const H = this.nodeH[node]!;
    if (H < 2 * minChild) return false;
    const parentScore = score(G, H, lambda, alpha);
    const { nValueBins, binOffset } = this.b;
    const features = this.features;
    let best = Math.max(gamma, MIN_GAIN);
    let found = false;
    for (let k = 0; k < features.length; k++) {
      const f = features[k]!;
      const nb = nValueBins[f]!;
      const off = 2 * binOffset[f]!;
      const gMissing = hist[off + 2 * nb]!;
      const hMissing = hist[off + 2 * nb + 1]!;
      const hasMissing = hMissing > 0;
      let gl = 0;
      let hl = 0;
      for (let bin = 0; bin < nb - 1; bin++) {
        gl += hist[off + 2 * bin]!;
        hl += hist[off + 2 * bin + 1]!;
        // Missing values to the right.
        const hr = H - hl;
        if (hl >= minChild && hr >= minChild) {
          const gain = score(gl, hl, lambda, alpha) + score(G - gl, hr, lambda, alpha) - parentScore;
          if (gain > best) {
            best = gain;
            found = true;
            this.bestFeature = f;
            this.bestBin = bin;
            // Without missing values in the node, unseen missing values follow the heavier child.
            this.bestDefaultLeft = !hasMissing && hl >= hr;
          }
        }
        if (!hasMissing) continue;
        // Missing values to the left.
        const gl2 = gl + gMissing;
        const hl2 = hl + hMissing;
        const hr2 = H - hl2;
        if (hl2 >= minChild && hr2 >= minChild) {
          const gain = score(gl2, hl2, lambda, alpha) + score(G - gl2, hr2, lambda, alpha) - parentScore;
          if (gain > best) {
            best = gain;
            found = true;
            this.bestFeature = f;
            this.bestBin = bin;
            this.bestDefaultLeft = true;
          }
        }
      }
    }
    return found;
  }

  /**
   * Stable partition of the node's rows into the two children, summing their gradients exactly.
   * Branch-free: each row is written to both sides and only the counter of its side advances,
   * because split decisions are close to random and a mispredicted branch per row cost more than
   * the extra stores. `moveGradients` false (children get no histogram) skips moving `gh`.
   */
  private split(node: number, left: number, right: number, moveGradients: boolean): void {
    const { idx, idxScratch, gh, ghScratch, goesLeft } = this;
    const { nRows, nValueBins } = this.b;
    const f = this.nodeFeature[node]!;
    const splitBin = this.nodeBin[node]!;
    const missingCode = nValueBins[f]!;
    goesLeft.fill(0);
    goesLeft.fill(1, 0, splitBin + 1);
    goesLeft[missingCode] = this.nodeDefaultLeft[node]!;
    const column = this.columns.subarray(f * nRows, (f + 1) * nRows);
    const start = this.nodeStart[node]!;
    const end = this.nodeEnd[node]!;
    let l = start;
    let nr = 0;
    let gl = 0;
    let hl = 0;
    let gr = 0;
    let hr = 0;
    if (moveGradients) {
      for (let i = start; i < end; i++) {
        const r = idx[i]!;
        const goes = goesLeft[column[r]!]!;
        const stays = 1 - goes;
        const g = gh[2 * i]!;
        const h = gh[2 * i + 1]!;
        idx[l] = r;
        gh[2 * l] = g;
        gh[2 * l + 1] = h;
        idxScratch[nr] = r;
        ghScratch[2 * nr] = g;
        ghScratch[2 * nr + 1] = h;
        l += goes;
        nr += stays;
        // Multiplying by exactly 0 or 1 adds exactly what a branch would.
        gl += g * goes;
        hl += h * goes;
        gr += g * stays;
        hr += h * stays;
      }
      gh.set(ghScratch.subarray(0, 2 * nr), 2 * l);
    } else {
      for (let i = start; i < end; i++) {
        const r = idx[i]!;
        const goes = goesLeft[column[r]!]!;
        const stays = 1 - goes;
        const g = gh[2 * i]!;
        const h = gh[2 * i + 1]!;
        idx[l] = r;
        idxScratch[nr] = r;
        l += goes;
        nr += stays;
        gl += g * goes;
        hl += h * goes;
        gr += g * stays;
        hr += h * stays;
      }
    }
    idx.set(idxScratch.subarray(0, nr), l);
    this.nodeLeft[node] = left;
    this.nodeRight[node] = right;
    this.initNode(left, start, l, gl, hl);
    this.initNode(right, l, end, gr, hr);
  }

  private buildHistogram(slot: number, start: number, end: number): void {
    const hist = this.pool[slot]!;
    hist.fill(0);
    const { idx, gh, featureOffsets } = this;
    const { bins, nCols } = this.b;
    const features = this.features;
    const nActive = features.length;
    // Row by row over a row-major bin matrix: a row's gradient pair is loaded once for all of its
    // features and its bin codes are contiguous (XGBoost's hist builds the same way). Measured
    // about 1.6x faster than feature by feature over a column-major matrix.
    if (nActive === nCols) {
      // Every feature active (no column sampling): the row's codes are read in order, no lookup.
      for (let i = start; i < end; i++) {
        const g = gh[2 * i]!;
        const h = gh[2 * i + 1]!;
        const row = idx[i]! * nCols;
        for (let k = 0; k < nCols; k++) {
          const at = featureOffsets[k]! + 2 * bins[row + k]!;
          hist[at] = hist[at]! + g;
          hist[at + 1] = hist[at + 1]! + h;
        }
      }
      return;
    }
    for (let i = start; i < end; i++) {
      const g = gh[2 * i]!;
      const h = gh[2 * i + 1]!;
      const row = idx[i]! * nCols;
      for (let k = 0; k < nActive; k++) {
        const at = featureOffsets[k]! + 2 * bins[row + features[k]!]!;
        hist[at] = hist[at]! + g;
        hist[at + 1] = hist[at + 1]! + h;
      }
    }
  }

  /** `parent -= child` over the active features' bins. */
  private subtract(parentSlot: number, childSlot: number): void {
    const parent = this.pool[parentSlot]!;
    const child = this.pool[childSlot]!;
    const { nValueBins, binOffset } = this.b;
    const features = this.features;
    for (let k = 0; k < features.length; k++) {
      const f = features[k]!;
      const from = 2 * binOffset[f]!;
      const to = from + 2 * (nValueBins[f]! + 1);
      for (let i = from; i < to; i++) parent[i] = parent[i]! - child[i]!;
    }
  }

  private allocSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    this.pool.push(new Float64Array(2 * this.b.totalBins));
    return this.pool.length - 1;
  }

  private freeSlot(slot: number): void {
    this.freeSlots.push(slot);
  }

  private exportTree(): TreeArrays {
    const n = this.nNodes;
    return {
      feature: this.nodeFeature.slice(0, n),
      threshold: this.nodeThreshold.slice(0, n),
      left: this.nodeLeft.slice(0, n),
      right: this.nodeRight.slice(0, n),
      defaultLeft: this.nodeDefaultLeft.slice(0, n),
      value: this.nodeValue.slice(0, n),
      cover: this.nodeH.slice(0, n),
    };
  }
}

/** Adds one tree's leaf values (tree-local arrays, float32 rule) to `margin` for every row of `x`. */
function addTreeMargins(tree: TreeArrays, x: Matrix, margin: Float64Array): void {
  const { feature, threshold, left, right, defaultLeft, value } = tree;
  const { data, nRows, nCols } = x;
  for (let r = 0, o = 0; r < nRows; r++, o += nCols) {
    let node = 0;
    let f = feature[0]!;
    while (f >= 0) {
      const v = data[o + f]!;
      node =
        v < threshold[node]!
          ? left[node]!
          : v >= threshold[node]! || !defaultLeft[node]
            ? right[node]!
            : left[node]!;
      f = feature[node]!;
    }
    margin[r] = margin[r]! + value[node]!;
  }
}

/** Structure score `T(G)² / (H + λ)` with `T` the L1 soft threshold. */
function score(g: number, h: number, lambda: number, alpha: number): number {
  const t = softThreshold(g, alpha);
  return (t * t) / (h + lambda);
}

function softThreshold(g: number, alpha: number): number {
  if (g > alpha) return g - alpha;
  if (g < -alpha) return g + alpha;
  return 0;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

/** Throws `RangeError` unless `x` is a consistent dense float32 matrix. */
export function checkMatrix(name: string, x: Matrix): void {
  if (!(x.data instanceof Float32Array)) throw new RangeError(`${name}.data must be a Float32Array`);
  if (!Number.isInteger(x.nRows) || !Number.isInteger(x.nCols) || x.nRows < 0 || x.nCols < 1) {
    throw new RangeError(`${name} has invalid shape ${x.nRows} × ${x.nCols}`);
  }
  if (x.data.length !== x.nRows * x.nCols) {
    throw new RangeError(`${name}.data has length ${x.data.length}, expected ${x.nRows} × ${x.nCols}`);
  }
}

/** Throws `RangeError` unless `y` holds `n` labels in {0, 1}; returns the number of positives. */
function checkLabels(name: string, y: ArrayLike<number>, n: number): number {
  if (y.length !== n) throw new RangeError(`${name} has ${y.length} labels for ${n} rows`);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (v === 1) positives++;
    else if (v !== 0) throw new RangeError(`${name}[${i}] must be 0 or 1, got ${v}`);
  }
  return positives;
}
