import type { Forest } from './forest.js';

/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, algorithm 2), polynomial in depth.
 *
 * Each recursion level owns a copy of the "unique path" (features met so far with their zero
 * fractions — the share of training cover that follows the branch — and one fractions — whether
 * the explained row follows it), stored in flat typed arrays: level `k` starts at offset
 * `k (k + 1) / 2`, so no allocation happens per node. Path element 0 is a dummy for the root.
 */
export class TreeShap {
  private readonly forest: Forest;
  private readonly pathFeature: Int32Array;
  private readonly pathZero: Float64Array;
  private readonly pathOne: Float64Array;
  private readonly pathWeight: Float64Array;
  /** Cover-weighted mean leaf value of the subtree under each node. */
  private readonly meanValue: Float64Array;
  /** `baseMargin + Σ trees mean value at the root`: the expected margin, the SHAP bias term. */
  readonly expectedValue: number;

  constructor(forest: Forest) {
    this.forest = forest;
    let maxDepth = 0;
    const nTrees = forest.treeOffsets.length - 1;
    this.meanValue = new Float64Array(forest.feature.length);
    let expected = forest.baseMargin;
    for (let t = 0; t < nTrees; t++) {
      const root = forest.treeOffsets[t]!;
      maxDepth = Math.max(maxDepth, this.fillMeans(root));
      expected += this.meanValue[root]!;
    }
    this.expectedValue = expected;
    const size = ((maxDepth + 2) * (maxDepth + 3)) / 2;
    this.pathFeature = new Int32Array(size);
    this.pathZero = new Float64Array(size);
    this.pathOne = new Float64Array(size);
    this.pathWeight = new Float64Array(size);
  }

  /** SHAP values of `row` added into `phi` (length `nFeatures + 1`; the last slot is the bias). */
  explain(row: ArrayLike<number>, offset: number, phi: Float64Array): void {
    const nTrees = this.forest.treeOffsets.length - 1;
    for (let t = 0; t < nTrees; t++) {
      this.recurse(row, offset, phi, this.forest.treeOffsets[t]!, 0, 0, 1, 1, -1);
    }
    const last = this.forest.nFeatures;
    phi[last] = phi[last]! + this.expectedValue;
  }

  /** Fills `meanValue` for the subtree under `node`; returns the subtree's depth. */
  private fillMeans(node: number): number {
    const f = this.forest;
    if (f.feature[node]! < 0) {
      this.meanValue[node] = f.value[node]!;
      return 0;
    }
    const l = f.left[node]!;
    const r = f.right[node]!;
    const dl = this.fillMeans(l);
    const dr = this.fillMeans(r);
    // Divide by the node's own cover (not left + right) so that the bias matches the zero
    // fractions the recursion uses; then the attributions sum to the margin exactly.
    const cover = f.cover[node]!;
    this.meanValue[node] =
      cover > 0 ? (f.cover[l]! * this.meanValue[l]! + f.cover[r]! * this.meanValue[r]!) / cover : 0;
    return Math.max(dl, dr) + 1;
  }

  private recurse(
    row: ArrayLike<number>,
    offset: number,
    phi: Float64Array,
    node: number,
    parentStart: number,
    uniqueDepth: number,
    zeroFraction: number,
    oneFraction: number,
    featureIndex: number,
  ): void {
    const f = this.forest;
    const pf = this.pathFeature;
    const pz = this.pathZero;
    const po = this.pathOne;
    const pw = this.pathWeight;
    // This level's path starts right after the parent's (which holds uniqueDepth elements).
    const start = parentStart + uniqueDepth;
    // Plain loops: the copies are a few elements long, too short for copyWithin's call overhead.
    for (let i = 0; i < uniqueDepth; i++) {
      pf[start + i] = pf[parentStart + i]!;
      pz[start + i] = pz[parentStart + i]!;
      po[start + i] = po[parentStart + i]!;
      pw[start + i] = pw[parentStart + i]!;
    }
    this.extend(start, uniqueDepth, zeroFraction, oneFraction, featureIndex);

    const split = f.feature[node]!;
    if (split < 0) {
      const v = f.value[node]!;
      for (let i = 1; i <= uniqueDepth; i++) {
        const w = this.unwoundSum(start, uniqueDepth, i);
        const k = start + i;
        const d = pf[k]!;
        phi[d] = phi[d]! + w * (po[k]! - pz[k]!) * v;
      }
      return;
    }

    const x = row[offset + split]!;
    const goesLeft = Number.isNaN(x) ? f.defaultLeft[node] === 1 : Math.fround(x) < f.threshold[node]!;
    const hot = goesLeft ? f.left[node]! : f.right[node]!;
    const cold = goesLeft ? f.right[node]! : f.left[node]!;
    const cover = f.cover[node]!;
    const hotZero = cover > 0 ? f.cover[hot]! / cover : 0;
    const coldZero = cover > 0 ? f.cover[cold]! / cover : 0;

    let incomingZero = 1;
    let incomingOne = 1;
    let depth = uniqueDepth;
    // A feature met twice on a path is one player: undo its earlier extension and combine.
    for (let k = 1; k <= uniqueDepth; k++) {
      if (pf[start + k] === split) {
        incomingZero = pz[start + k]!;
        incomingOne = po[start + k]!;
        this.unwind(start, depth, k);
        depth--;
        break;
      }
    }
    this.recurse(row, offset, phi, hot, start, depth + 1, hotZero * incomingZero, incomingOne, split);
    this.recurse(row, offset, phi, cold, start, depth + 1, coldZero * incomingZero, 0, split);
  }

  /** Appends element `uniqueDepth` and updates the permutation weights (EXTEND). */
  private extend(start: number, uniqueDepth: number, zero: number, one: number, feature: number): void {
    const pw = this.pathWeight;
    const k = start + uniqueDepth;
    this.pathFeature[k] = feature;
    this.pathZero[k] = zero;
    this.pathOne[k] = one;
    pw[k] = uniqueDepth === 0 ? 1 : 0;
    const l1 = uniqueDepth + 1;
    for (let i = uniqueDepth - 1; i >= 0; i--) {
      pw[start + i + 1] = pw[start + i + 1]! + (one * pw[start + i]! * (i + 1)) / l1;
      pw[start + i] = (zero * pw[start + i]! * (uniqueDepth - i)) / l1;
    }
  }

  /** Removes element `index` from a path of `uniqueDepth + 1` elements (UNWIND). */
  private unwind(start: number, uniqueDepth: number, index: number): void {
    const pw = this.pathWeight;
    const one = this.pathOne[start + index]!;
    const zero = this.pathZero[start + index]!;
    const l1 = uniqueDepth + 1;
    let next = pw[start + uniqueDepth]!;
    for (let j = uniqueDepth - 1; j >= 0; j--) {
      if (one !== 0) {
        const tmp = pw[start + j]!;
        pw[start + j] = (next * l1) / ((j + 1) * one);
        next = tmp - (pw[start + j]! * zero * (uniqueDepth - j)) / l1;
      } else {
        pw[start + j] = (pw[start + j]! * l1) / (zero * (uniqueDepth - j));
      }
    }
    for (let j = index; j < uniqueDepth; j++) {
      this.pathFeature[start + j] = this.pathFeature[start + j + 1]!;
      this.pathZero[start + j] = this.pathZero[start + j + 1]!;
      this.pathOne[start + j] = this.pathOne[start + j + 1]!;
    }
  }

  /** Total permutation weight of the path with element `index` unwound, without modifying it. */
  private unwoundSum(start: number, uniqueDepth: number, index: number): number {
    const pw = this.pathWeight;
    const one = this.pathOne[start + index]!;
    const zero = this.pathZero[start + index]!;
    const l1 = uniqueDepth + 1;
    let next = pw[start + uniqueDepth]!;
    let total = 0;
    for (let j = uniqueDepth - 1; j >= 0; j--) {
      if (one !== 0) {
        const tmp = (next * l1) / ((j + 1) * one);
        total += tmp;
        next = pw[start + j]! - (tmp * zero * (uniqueDepth - j)) / l1;
      } else if (zero !== 0) {
        total += (pw[start + j]! * l1) / (zero * (uniqueDepth - j));
      }
    }
    return total;
  }
}
