/**
 * Row-major dense matrix of float32 features, `data[row * nCols + col]`. `NaN` marks a missing value.
 */
export interface Matrix {
  /** Row-major values; length `nRows * nCols`. */
  data: Float32Array;
  /** Number of rows. */
  nRows: number;
  /** Number of columns (features). */
  nCols: number;
}

/**
 * All trees of a model in flat typed arrays (structure of arrays). Node indices are absolute
 * (shared across trees); tree `t` owns nodes `treeOffsets[t] .. treeOffsets[t + 1] - 1` and its
 * root is `treeOffsets[t]`. A node is a leaf when `feature[node] < 0`.
 *
 * Split rule, as XGBoost: a present value goes left when `fround(x) < threshold` (float32
 * comparison); a missing value (`NaN`) goes left when `defaultLeft[node] === 1`.
 */
export interface Forest {
  nFeatures: number;
  /** Margin every prediction starts from (logit of the base score). */
  baseMargin: number;
  treeOffsets: Int32Array;
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  defaultLeft: Uint8Array;
  /** Leaf value of leaves (already multiplied by the learning rate); unused for internal nodes. */
  value: Float64Array;
  /** Sum of training hessians that reached the node (XGBoost `sum_hessian`), for TreeSHAP. */
  cover: Float64Array;
}

/** Per-tree arrays with tree-local node indices (root = node 0); the unit of JSON and import. */
export interface TreeArrays {
  feature: ArrayLike<number>;
  threshold: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  defaultLeft: ArrayLike<number>;
  value: ArrayLike<number>;
  cover: ArrayLike<number>;
}

/** Concatenates per-tree arrays (local indices) into one {@link Forest} (absolute indices). */
export function buildForest(nFeatures: number, baseMargin: number, trees: readonly TreeArrays[]): Forest {
  let total = 0;
  for (const t of trees) total += t.feature.length;
  const forest: Forest = {
    nFeatures,
    baseMargin,
    treeOffsets: new Int32Array(trees.length + 1),
    feature: new Int32Array(total),
    threshold: new Float32Array(total),
    left: new Int32Array(total),
    right: new Int32Array(total),
    defaultLeft: new Uint8Array(total),
    value: new Float64Array(total),
    cover: new Float64Array(total),
  };
  let base = 0;
  for (let t = 0; t < trees.length; t++) {
    const tree = trees[t]!;
    forest.treeOffsets[t] = base;
    const n = tree.feature.length;
    for (let i = 0; i < n; i++) {
      const j = base + i;
      const leaf = tree.feature[i]! < 0;
      forest.feature[j] = leaf ? -1 : tree.feature[i]!;
      forest.threshold[j] = leaf ? 0 : tree.threshold[i]!;
      forest.left[j] = leaf ? -1 : base + tree.left[i]!;
      forest.right[j] = leaf ? -1 : base + tree.right[i]!;
      forest.defaultLeft[j] = leaf ? 0 : tree.defaultLeft[i]! ? 1 : 0;
      forest.value[j] = tree.value[i]!;
      forest.cover[j] = tree.cover[i]!;
    }
    base += n;
  }
  forest.treeOffsets[trees.length] = base;
  return forest;
}

/** Tree `t` of a forest as per-tree arrays with local indices (inverse of {@link buildForest}). */
export function treeArrays(forest: Forest, t: number): TreeArrays {
  const start = forest.treeOffsets[t]!;
  const end = forest.treeOffsets[t + 1]!;
  const local = (a: Int32Array): Int32Array => a.slice(start, end).map((v) => (v < 0 ? -1 : v - start));
  return {
    feature: forest.feature.slice(start, end),
    threshold: forest.threshold.slice(start, end),
    left: local(forest.left),
    right: local(forest.right),
    defaultLeft: forest.defaultLeft.slice(start, end),
    value: forest.value.slice(start, end),
    cover: forest.cover.slice(start, end),
  };
}

/** Number of trees in a forest. */
export function forestSize(forest: Forest): number {
  return forest.treeOffsets.length - 1;
}

/** Leaf reached by `row` (values at `row[offset + feature]`) in the tree rooted at `node`. */
export function leafIndex(forest: Forest, node: number, row: ArrayLike<number>, offset: number): number {
  const { feature, threshold, left, right, defaultLeft } = forest;
  let n = node;
  let f = feature[n]!;
  while (f >= 0) {
    const v = row[offset + f]!;
    // `!(v >= t)` is `v < t` for present values and true for NaN; the default decides NaN.
    if (Number.isNaN(v)) n = defaultLeft[n] === 1 ? left[n]! : right[n]!;
    else n = Math.fround(v) < threshold[n]! ? left[n]! : right[n]!;
    f = feature[n]!;
  }
  return n;
}

/** Sum of leaf values of trees `[fromTree, toTree)` for one row (no base margin). */
export function sumTrees(
  forest: Forest,
  row: ArrayLike<number>,
  offset: number,
  fromTree: number,
  toTree: number,
): number {
  const offsets = forest.treeOffsets;
  const value = forest.value;
  let s = 0;
  for (let t = fromTree; t < toTree; t++) s += value[leafIndex(forest, offsets[t]!, row, offset)]!;
  return s;
}

/**
 * Generic batch margins over the node arrays: trees in the outer loop over blocks of rows keeps
 * one tree's nodes hot in cache while the block's rows stream through it.
 */
export function predictForestGeneric(forest: Forest, x: Matrix, out: Float64Array): void {
  const { feature, threshold, left, right, defaultLeft, value, treeOffsets } = forest;
  const nTrees = treeOffsets.length - 1;
  const data = x.data;
  const nCols = x.nCols;
  const block = 256;
  for (let start = 0; start < x.nRows; start += block) {
    const end = Math.min(x.nRows, start + block);
    for (let r = start; r < end; r++) out[r] = forest.baseMargin;
    for (let t = 0; t < nTrees; t++) {
      const root = treeOffsets[t]!;
      for (let r = start, o = start * nCols; r < end; r++, o += nCols) {
        let n = root;
        let f = feature[n]!;
        while (f >= 0) {
          const v = data[o + f]!;
          // Float32Array input is already float32, so the comparison is XGBoost's float32 one.
          n =
            v < threshold[n]!
              ? left[n]!
              : v >= threshold[n]!
                ? right[n]!
                : defaultLeft[n]
                  ? left[n]!
                  : right[n]!;
          f = feature[n]!;
        }
        out[r] = out[r]! + value[n]!;
      }
    }
  }
}
