import type { Random } from '../../random/index.js';

/** "No node": the empty tree's root, and the parent of the root. */
export const NO_NODE = 0x7fffffff;

/**
 * One random cut tree over at most `maxLeaves` distinct points, in flat typed arrays.
 *
 * A *reference* to a node is an internal-node id `n >= 0` or a leaf id `l` encoded as `~l` (< 0).
 * Internal node `n` keeps `[left, right, cutDim, cutValue]` in one 16-byte record (one cache
 * line per step of a descent), its mass, its range sum and its bounding box, interleaved
 * `[lo0, hi0, lo1, hi1, …]` in 32-bit floats. Leaves keep only a point-store slot and a mass:
 * their box is the point itself, read from the store shared by all trees, which keeps the
 * per-tree working set small. Points go left when `x[cutDim] <= cutValue`; equal points share
 * a leaf whose mass counts them.
 *
 * The maths follow Guha et al. 2016 ("Robust Random Cut Forest Based Anomaly Detection on
 * Streams") and AWS's random-cut-forest-by-aws: a cut is drawn on the box extended by the new
 * point, dimension proportional to range, value uniform; the point splits off at the highest
 * node where that cut separates it from the existing box.
 */
export class RandomCutTree {
  readonly dimensions: number;
  /** Shared point store (`dimensions` floats per slot). */
  readonly points: Float32Array;
  /** Internal-node records as int32: left, right, cutDim at `4n`, `4n+1`, `4n+2`. */
  readonly nodeInts: Int32Array;
  /** The same records as float32: cutValue at `4n+3`. */
  readonly nodeFloats: Float32Array;
  readonly parent: Int32Array;
  readonly mass: Int32Array;
  /**
   * Sum of the side lengths of each internal node's box, kept up to date incrementally as the
   * box grows and shrinks (and saved with the state, so a restored tree has the same values).
   */
  readonly rangeSum: Float64Array;
  readonly box: Float32Array;
  readonly leafSlot: Int32Array;
  readonly leafMass: Int32Array;
  readonly leafParent: Int32Array;
  /** Reference to the root, or {@link NO_NODE}. */
  root = NO_NODE;
  private readonly freeNodes: Int32Array;
  private freeNodeCount: number;
  private readonly freeLeaves: Int32Array;
  private freeLeafCount: number;
  /** Scratch: internal nodes from the root down to the current leaf. */
  private readonly path: Int32Array;
  /** Scratch: dimensions in which a scored point is still outside the box; box sides to shrink. */
  private readonly active: Int32Array;
  /** Scratch: L1 distance from the traced point to the box of `path[k]`, for k >= `traceStop`. */
  private readonly pathDiff: Float64Array;
  /**
   * Scratch: after a trace for an insertion, the dimensions where the point is outside the box
   * of `path[k]` are `active[0…pathActive[k])`.
   */
  private readonly pathActive: Int32Array;
  /** Scratch: dimensions found inside a box while partitioning `active`. */
  private readonly inside: Int32Array;
  /** Internal nodes on the traced path. */
  private traceDepth = 0;
  /** First path index whose box does not contain the traced point (`traceDepth` if none). */
  private traceStop = 0;
  /** Reference of the traced point's leaf. */
  private traceLeaf = NO_NODE;
  /** Whether that leaf holds the traced point itself. */
  private traceDuplicate = false;

  constructor(dimensions: number, maxLeaves: number, points: Float32Array) {
    this.dimensions = dimensions;
    this.points = points;
    const buffer = new ArrayBuffer(maxLeaves * 16);
    this.nodeInts = new Int32Array(buffer);
    this.nodeFloats = new Float32Array(buffer);
    this.parent = new Int32Array(maxLeaves).fill(-1);
    this.mass = new Int32Array(maxLeaves);
    this.rangeSum = new Float64Array(maxLeaves);
    this.box = new Float32Array(maxLeaves * 2 * dimensions);
    this.leafSlot = new Int32Array(maxLeaves).fill(-1);
    this.leafMass = new Int32Array(maxLeaves);
    this.leafParent = new Int32Array(maxLeaves).fill(-1);
    this.freeNodes = new Int32Array(maxLeaves);
    this.freeLeaves = new Int32Array(maxLeaves);
    this.freeNodeCount = 0;
    this.freeLeafCount = 0;
    this.rebuildFreeLists();
    this.path = new Int32Array(maxLeaves + 1);
    this.active = new Int32Array(dimensions);
    this.pathDiff = new Float64Array(maxLeaves + 1);
    this.pathActive = new Int32Array(maxLeaves + 1);
    this.inside = new Int32Array(dimensions);
  }

  /** Number of points in the tree, duplicates included. */
  get totalMass(): number {
    const r = this.root;
    if (r === NO_NODE) return 0;
    return r < 0 ? this.leafMass[~r]! : this.mass[r]!;
  }

  /**
   * Inserts `x` (already in point-store slot `slot`) and returns the slot the tree now holds
   * for it: `slot`, or the slot of an equal point already in the tree.
   */
  insert(x: Float32Array, slot: number, rng: Random): number {
    this.trace(x, true);
    const D = this.dimensions;
    const { box, mass, rangeSum, path, pathDiff, pathActive, active, points } = this;
    if (this.root === NO_NODE) {
      this.root = ~this.newLeaf(slot, -1);
      return slot;
    }
    // Top-down as in the paper: the point splits off at the highest node where a cut of the box
    // extended by x separates it. Nodes above `stop` contain x (distance 0): no cut can separate
    // it there and no random number is drawn, exactly as a top-down walk testing each box.
    const depth = this.traceDepth;
    const stop = this.traceStop;
    for (let k = 0; k < depth; k++) {
      const ref = path[k]!;
      if (k >= stop) {
        const diff = pathDiff[k]!;
        const newSum = rangeSum[ref]! + diff;
        const r = rng.next() * newSum;
        if (r < diff) {
          this.splitAbove(ref, x, slot, r);
          return slot;
        }
        // The cut fell inside the old box: grow the box and follow the existing cut. The box
        // grows by exactly the distance to x, so the range sum is updated, not recomputed (it
        // is saved with the tree, so a restored tree carries the same value).
        const base = ref * 2 * D;
        const n = pathActive[k]!;
        for (let i = 0; i < n; i++) {
          const d = active[i]!;
          const v = x[d]!;
          box[base + 2 * d] = Math.min(box[base + 2 * d]!, v);
          box[base + 2 * d + 1] = Math.max(box[base + 2 * d + 1]!, v);
        }
        rangeSum[ref] = newSum;
      }
      mass[ref]!++;
    }
    const leafRef = this.traceLeaf;
    const leaf = ~leafRef;
    const pb = this.leafSlot[leaf]! * D;
    let diff = 0;
    for (let d = 0; d < D; d++) diff += Math.abs(x[d]! - points[pb + d]!);
    if (diff === 0) {
      this.leafMass[leaf]!++;
      return this.leafSlot[leaf]!;
    }
    // A leaf's box is a point: any cut of the extended box separates the new point.
    this.splitAbove(leafRef, x, slot, rng.next() * diff);
    return slot;
  }

  /**
   * Puts a new internal node above `ref` whose cut separates `x` from `ref`'s box. `r` is a
   * uniform draw in [0, diff) over the concatenated extensions of the box towards `x`.
   */
  private splitAbove(ref: number, x: Float32Array, slot: number, r: number): void {
    const D = this.dimensions;
    const isLeaf = ref < 0;
    // Box of `ref` as (array, base, stride between dims, offset of hi from lo).
    const src = isLeaf ? this.points : this.box;
    const base = isLeaf ? this.leafSlot[~ref]! * D : ref * 2 * D;
    const step = isLeaf ? 1 : 2;
    const hiOff = isLeaf ? 0 : 1;
    let dim = -1;
    let value = 0;
    let pointLeft = true;
    let lastDim = -1;
    let rest = r;
    for (let d = 0; d < D; d++) {
      const v = x[d]!;
      const l = src[base + step * d]!;
      const h = src[base + step * d + hiOff]!;
      if (v < l) {
        lastDim = d;
        if (rest < l - v) {
          dim = d;
          // Cuts are 32-bit floats like the points; rounding may reach the box edge, and the
          // point itself is then still a separating cut.
          value = Math.fround(v + rest);
          if (!(value < l)) value = v;
          pointLeft = true;
          break;
        }
        rest -= l - v;
      } else if (v > h) {
        lastDim = d;
        if (rest < v - h) {
          dim = d;
          value = Math.fround(h + rest);
          if (!(value < v)) value = h;
          pointLeft = false;
          break;
        }
        rest -= v - h;
      }
    }
    if (dim === -1) {
      // Accumulated rounding pushed `r` past the last extension: cut at its boundary.
      dim = lastDim;
      const v = x[dim]!;
      pointLeft = v < src[base + step * dim]!;
      value = pointLeft ? v : src[base + step * dim + hiOff]!;
    }
    const above = isLeaf ? this.leafParent[~ref]! : this.parent[ref]!;
    const inner = this.allocateNode();
    const leaf = this.newLeaf(slot, inner);
    const ib = inner * 2 * D;
    const box = this.box;
    let sum = 0;
    for (let d = 0; d < D; d++) {
      const v = x[d]!;
      const l = Math.min(v, src[base + step * d]!);
      const h = Math.max(v, src[base + step * d + hiOff]!);
      box[ib + 2 * d] = l;
      box[ib + 2 * d + 1] = h;
      sum += h - l;
    }
    this.rangeSum[inner] = sum;
    this.mass[inner] = (isLeaf ? this.leafMass[~ref]! : this.mass[ref]!) + 1;
    const i4 = inner * 4;
    this.nodeInts[i4] = pointLeft ? ~leaf : ref;
    this.nodeInts[i4 + 1] = pointLeft ? ref : ~leaf;
    this.nodeInts[i4 + 2] = dim;
    this.nodeFloats[i4 + 3] = value;
    this.parent[inner] = above;
    if (isLeaf) this.leafParent[~ref] = inner;
    else this.parent[ref] = inner;
    this.replaceChild(above, ref, inner);
  }

  /** Removes one copy of the point at `values[offset…]`, which must be in the tree. */
  remove(values: Float32Array, offset: number): void {
    const D = this.dimensions;
    const { mass, nodeInts, nodeFloats, points } = this;
    let ref = this.root;
    if (ref === NO_NODE) throw new Error('RCF tree: removing from an empty tree');
    while (ref >= 0) {
      mass[ref]!--;
      const r4 = ref * 4;
      ref = values[offset + nodeInts[r4 + 2]!]! <= nodeFloats[r4 + 3]! ? nodeInts[r4]! : nodeInts[r4 + 1]!;
    }
    const leaf = ~ref;
    const pb = this.leafSlot[leaf]! * D;
    for (let d = 0; d < D; d++) {
      if (points[pb + d] !== values[offset + d])
        throw new Error('RCF tree: removed point is not in the tree');
    }
    if (--this.leafMass[leaf]! > 0) return;
    const p = this.leafParent[leaf]!;
    this.releaseLeaf(leaf);
    if (p === -1) {
      this.root = NO_NODE;
      return;
    }
    const p4 = p * 4;
    const sibling = nodeInts[p4] === ref ? nodeInts[p4 + 1]! : nodeInts[p4]!;
    const g = this.parent[p]!;
    if (sibling < 0) this.leafParent[~sibling] = g;
    else this.parent[sibling] = g;
    this.replaceChild(g, p, sibling);
    this.releaseNode(p);
    // Shrink boxes upwards. Only a box side equal to the removed value can move; a side that
    // does not move leaves the same side of every box above unchanged, and so does a dimension
    // in which the value is strictly inside. So the list of sides to recompute only shrinks,
    // and the walk stops when it is empty.
    const sides = this.active;
    let nSides = 0;
    if (g !== -1) {
      const gb = g * 2 * D;
      for (let d = 0; d < D; d++) {
        const v = values[offset + d]!;
        // Encoded as 2·d for the low side, 2·d + 1 for the high side.
        if (v === this.box[gb + 2 * d]) sides[nSides++] = 2 * d;
        else if (v === this.box[gb + 2 * d + 1]) sides[nSides++] = 2 * d + 1;
      }
    }
    for (let a = g; a !== -1 && nSides > 0; a = this.parent[a]!) {
      nSides = this.shrinkSides(a, values, offset, nSides);
    }
  }

  /**
   * Recomputes from its children the sides of node `a`'s box listed in `active[0…n)` that are
   * equal to the removed point's value; keeps in the list those that moved and returns their count.
   */
  private shrinkSides(a: number, values: Float32Array, offset: number, n: number): number {
    const D = this.dimensions;
    const box = this.box;
    const sides = this.active;
    const ab = a * 2 * D;
    const a4 = a * 4;
    const lRef = this.nodeInts[a4]!;
    const rRef = this.nodeInts[a4 + 1]!;
    const lSrc = lRef < 0 ? this.points : box;
    const lBase = lRef < 0 ? this.leafSlot[~lRef]! * D : lRef * 2 * D;
    const lStep = lRef < 0 ? 1 : 2;
    const lHi = lRef < 0 ? 0 : 1;
    const rSrc = rRef < 0 ? this.points : box;
    const rBase = rRef < 0 ? this.leafSlot[~rRef]! * D : rRef * 2 * D;
    const rStep = rRef < 0 ? 1 : 2;
    const rHi = rRef < 0 ? 0 : 1;
    let kept = 0;
    let shrunk = 0;
    for (let i = 0; i < n; i++) {
      const side = sides[i]!;
      const d = side >> 1;
      const v = values[offset + d]!;
      if (box[ab + side] !== v) continue;
      let moved: number;
      if ((side & 1) === 0) moved = Math.min(lSrc[lBase + lStep * d]!, rSrc[rBase + rStep * d]!);
      else moved = Math.max(lSrc[lBase + lStep * d + lHi]!, rSrc[rBase + rStep * d + rHi]!);
      if (moved === v) continue;
      shrunk += Math.abs(moved - v);
      box[ab + side] = moved;
      sides[kept++] = side;
    }
    if (kept > 0) {
      const old = this.rangeSum[a]!;
      if (shrunk <= 0.5 * old) this.rangeSum[a] = old - shrunk;
      else {
        // The box lost more than half its range (an outlier left): subtracting would leave the
        // rounding error of the large old sum in a small one, so recompute from the box.
        let sum = 0;
        for (let d = 0; d < D; d++) sum += box[ab + 2 * d + 1]! - box[ab + 2 * d]!;
        this.rangeSum[a] = sum;
      }
    }
    return kept;
  }

  /** Sets an internal node's box and range sum to the union of its children's boxes. */
  private fillBoxFromChildren(a: number): void {
    const D = this.dimensions;
    const box = this.box;
    const a4 = a * 4;
    const lRef = this.nodeInts[a4]!;
    const rRef = this.nodeInts[a4 + 1]!;
    const lSrc = lRef < 0 ? this.points : box;
    const lBase = lRef < 0 ? this.leafSlot[~lRef]! * D : lRef * 2 * D;
    const lStep = lRef < 0 ? 1 : 2;
    const lHi = lRef < 0 ? 0 : 1;
    const rSrc = rRef < 0 ? this.points : box;
    const rBase = rRef < 0 ? this.leafSlot[~rRef]! * D : rRef * 2 * D;
    const rStep = rRef < 0 ? 1 : 2;
    const rHi = rRef < 0 ? 0 : 1;
    const ab = a * 2 * D;
    let sum = 0;
    for (let d = 0; d < D; d++) {
      const l = Math.min(lSrc[lBase + lStep * d]!, rSrc[rBase + rStep * d]!);
      const h = Math.max(lSrc[lBase + lStep * d + lHi]!, rSrc[rBase + rStep * d + rHi]!);
      box[ab + 2 * d] = l;
      box[ab + 2 * d + 1] = h;
      sum += h - l;
    }
    this.rangeSum[a] = sum;
  }

  /**
   * Anomaly score of `x` in this tree, AWS's `AnomalyScoreVisitor`: at the leaf `x` would reach,
   * `damp(m)·1/(depth + log2(m + 1))` with `damp(m) = 1 - m/(2·mass)` if the leaf holds `x`
   * (m copies), else `1/(depth + 1)`; then at each ancestor at depth k, with p the probability
   * that a random cut of the ancestor's box extended by `x` separates `x`,
   * `score = p/(k + 1) + (1 - p)·score`. The result is multiplied by `log2(mass + 1)` so that
   * scores of typical points are about 1.
   */
  score(x: Float32Array): number {
    const root = this.root;
    this.trace(x, false);
    if (root === NO_NODE) return 0;
    const depth = this.traceDepth;
    const treeMass = root < 0 ? this.leafMass[~root]! : this.mass[root]!;
    const normaliser = Math.log2(treeMass + 1);
    if (this.traceDuplicate) {
      const m = this.leafMass[~this.traceLeaf]!;
      return ((1 - m / (2 * treeMass)) / (depth + Math.log2(m + 1))) * normaliser;
    }
    // Above `stop` the box contains x, p = 0 and the score no longer changes: AWS's visitor
    // stops there too (pointInsideBox).
    const { path, pathDiff, rangeSum } = this;
    let score = 1 / (depth + 1);
    for (let k = depth - 1; k >= this.traceStop; k--) {
      const diff = pathDiff[k]!;
      const p = diff / (rangeSum[path[k]!]! + diff);
      score = p / (k + 1) + (1 - p) * score;
    }
    return score * normaliser;
  }

  /**
   * Walks `x` down to its leaf and measures, from the leaf up, the L1 distance from `x` to each
   * box on the path, stopping at the first box that contains `x` (every box above contains it
   * too). Fills `path`, `pathDiff` and the `trace*` fields.
   */
  private trace(x: Float32Array, forInsert: boolean): void {
    const root = this.root;
    this.traceDepth = 0;
    this.traceStop = 0;
    this.traceDuplicate = false;
    if (root === NO_NODE) return;
    const D = this.dimensions;
    const { box, nodeInts, nodeFloats, path, pathDiff, pathActive, active, inside, points } = this;
    let depth = 0;
    let ref = root;
    while (ref >= 0) {
      path[depth++] = ref;
      const r4 = ref * 4;
      ref = x[nodeInts[r4 + 2]!]! <= nodeFloats[r4 + 3]! ? nodeInts[r4]! : nodeInts[r4 + 1]!;
    }
    this.traceDepth = depth;
    this.traceLeaf = ref;
    const pb = this.leafSlot[~ref]! * D;
    let equal = true;
    for (let d = 0; d < D; d++) {
      if (points[pb + d] !== x[d]) {
        equal = false;
        break;
      }
    }
    if (equal) {
      // x is the leaf's point, so it lies in every box of the path.
      this.traceDuplicate = true;
      this.traceStop = depth;
      return;
    }
    // A dimension in which x is inside a box stays inside every box above it, and going up the
    // boxes grow fast, so x is outside in most dimensions near the leaf and in few higher up.
    // The lowest box is scanned in full; each box above only in the dimensions where x was
    // still outside the box below, and the list is compacted as it goes. The distance and the
    // compaction avoid data-dependent branches: (b + |b|) is exactly 2·max(b, 0), and whether x
    // is outside a box is a coin flip that a branch would mispredict half the time. Dimensions
    // left out add exact zeros, so the sums equal full scans bit for bit.
    let k = depth - 1;
    let nActive = 0;
    if (k >= 0) {
      const base = path[k]! * 2 * D;
      let twiceDiff = 0;
      for (let d = 0; d < D; d++) {
        const v = x[d]!;
        const below = box[base + 2 * d]! - v;
        const above = v - box[base + 2 * d + 1]!;
        const c = below + Math.abs(below) + (above + Math.abs(above));
        twiceDiff += c;
        active[nActive] = d;
        nActive += +(c !== 0);
      }
      if (twiceDiff === 0) {
        this.traceStop = depth;
        return;
      }
      pathDiff[k] = twiceDiff * 0.5;
      pathActive[k] = nActive;
      k--;
    }
    if (!forInsert) {
      // Scoring alone only needs the distances: compact the list in place.
      for (; k >= 0; k--) {
        const base = path[k]! * 2 * D;
        let twiceDiff = 0;
        let kept = 0;
        for (let i = 0; i < nActive; i++) {
          const d = active[i]!;
          const v = x[d]!;
          const below = box[base + 2 * d]! - v;
          const above = v - box[base + 2 * d + 1]!;
          const c = below + Math.abs(below) + (above + Math.abs(above));
          twiceDiff += c;
          active[kept] = d;
          kept += +(c !== 0);
        }
        if (twiceDiff === 0) break;
        nActive = kept;
        pathDiff[k] = twiceDiff * 0.5;
      }
      this.traceStop = k + 1;
      return;
    }
    // For an insertion, partition the list instead, dimensions still outside first, so that the
    // dimensions outside the box of path[k] are active[0…pathActive[k]) for every k: the
    // insertion then grows each box only where it moves.
    for (; k >= 0; k--) {
      const base = path[k]! * 2 * D;
      let twiceDiff = 0;
      let kept = 0;
      let dropped = 0;
      for (let i = 0; i < nActive; i++) {
        const d = active[i]!;
        const v = x[d]!;
        const below = box[base + 2 * d]! - v;
        const above = v - box[base + 2 * d + 1]!;
        const c = below + Math.abs(below) + (above + Math.abs(above));
        twiceDiff += c;
        const outside = +(c !== 0);
        active[kept] = d;
        inside[dropped] = d;
        kept += outside;
        dropped += 1 - outside;
      }
      // Also when x is inside the box (kept = 0): this restores the prefix the loop overwrote.
      for (let i = 0; i < dropped; i++) active[kept + i] = inside[i]!;
      if (twiceDiff === 0) break;
      nActive = kept;
      pathDiff[k] = twiceDiff * 0.5;
      pathActive[k] = kept;
    }
    this.traceStop = k + 1;
  }

  /**
   * Adds this tree's attribution of `x`'s score to `high`/`low`, times `weight` (AWS's
   * `AnomalyAttributionVisitor`). The score increment at each node is split across dimensions
   * in proportion to how far `x` extends the box above (`high`) or below (`low`) in that
   * dimension, so `Σ high + Σ low` equals {@link score}. When the leaf holds `x` itself, the
   * shares follow the union of the siblings' boxes along the path (the tree as if `x` were
   * absent), rescaled to the score.
   */
  attribution(x: Float32Array, high: Float64Array, low: Float64Array, weight: number): void {
    const root = this.root;
    if (root === NO_NODE) return;
    const D = this.dimensions;
    const { nodeInts, nodeFloats, path, points } = this;
    let depth = 0;
    let ref = root;
    while (ref >= 0) {
      path[depth++] = ref;
      const r4 = ref * 4;
      ref = x[nodeInts[r4 + 2]!]! <= nodeFloats[r4 + 3]! ? nodeInts[r4]! : nodeInts[r4 + 1]!;
    }
    const leafRef = ref;
    const treeMass = this.totalMass;
    const h = new Float64Array(D);
    const l = new Float64Array(D);
    // Box being compared with x at each level: the node's box, or the shadow box for duplicates.
    const bLo = new Float64Array(D);
    const bHi = new Float64Array(D);
    const pb = this.leafSlot[~leafRef]! * D;
    let leafRange = 0;
    for (let d = 0; d < D; d++) leafRange += Math.abs(x[d]! - points[pb + d]!);
    const duplicate = leafRange === 0;
    let saved: number;
    if (duplicate) {
      const m = this.leafMass[~leafRef]!;
      saved = (1 - m / (2 * treeMass)) / (depth + Math.log2(m + 1));
      h.fill(saved / (2 * D));
      l.fill(saved / (2 * D));
      bLo.fill(Number.POSITIVE_INFINITY);
      bHi.fill(Number.NEGATIVE_INFINITY);
    } else {
      saved = 1 / (depth + 1);
      for (let d = 0; d < D; d++) {
        const v = x[d]!;
        const q = points[pb + d]!;
        h[d] = v > q ? (saved * (v - q)) / leafRange : 0;
        l[d] = v < q ? (saved * (q - v)) / leafRange : 0;
      }
    }
    let child = leafRef;
    for (let k = depth - 1; k >= 0; k--) {
      const a = path[k]!;
      if (duplicate) {
        const a4 = a * 4;
        this.unionInto(nodeInts[a4] === child ? nodeInts[a4 + 1]! : nodeInts[a4]!, bLo, bHi);
      } else {
        const base = a * 2 * D;
        for (let d = 0; d < D; d++) {
          bLo[d] = this.box[base + 2 * d]!;
          bHi[d] = this.box[base + 2 * d + 1]!;
        }
      }
      let newSum = 0;
      let diff = 0;
      for (let d = 0; d < D; d++) {
        const v = x[d]!;
        const up = v > bHi[d]! ? v - bHi[d]! : 0;
        const down = v < bLo[d]! ? bLo[d]! - v : 0;
        newSum += bHi[d]! - bLo[d]! + up + down;
        diff += up + down;
      }
      if (diff <= 0) break;
      const p = diff / newSum;
      const unseen = 1 / (k + 1);
      for (let d = 0; d < D; d++) {
        const v = x[d]!;
        const up = v > bHi[d]! ? v - bHi[d]! : 0;
        const down = v < bLo[d]! ? bLo[d]! - v : 0;
        h[d] = (up / newSum) * unseen + (1 - p) * h[d]!;
        l[d] = (down / newSum) * unseen + (1 - p) * l[d]!;
      }
      child = a;
    }
    let scale = 1;
    if (duplicate) {
      let total = 0;
      for (let d = 0; d < D; d++) total += h[d]! + l[d]!;
      scale = total > 0 ? saved / total : 0;
    }
    const f = scale * weight * Math.log2(treeMass + 1);
    for (let d = 0; d < D; d++) {
      high[d] = high[d]! + h[d]! * f;
      low[d] = low[d]! + l[d]! * f;
    }
  }

  /** Widens `lo`/`hi` to include the box of node `ref`. */
  private unionInto(ref: number, lo: Float64Array, hi: Float64Array): void {
    const D = this.dimensions;
    if (ref < 0) {
      const pb = this.leafSlot[~ref]! * D;
      for (let d = 0; d < D; d++) {
        lo[d] = Math.min(lo[d]!, this.points[pb + d]!);
        hi[d] = Math.max(hi[d]!, this.points[pb + d]!);
      }
    } else {
      const base = ref * 2 * D;
      for (let d = 0; d < D; d++) {
        lo[d] = Math.min(lo[d]!, this.box[base + 2 * d]!);
        hi[d] = Math.max(hi[d]!, this.box[base + 2 * d + 1]!);
      }
    }
  }

  /** Internal nodes and leaves reachable from the root, each ascending. */
  reachable(): { nodes: number[]; leaves: number[] } {
    const nodes: number[] = [];
    const leaves: number[] = [];
    if (this.root === NO_NODE) return { nodes, leaves };
    const stack = [this.root];
    while (stack.length > 0) {
      const ref = stack.pop()!;
      if (ref < 0) leaves.push(~ref);
      else {
        nodes.push(ref);
        stack.push(this.nodeInts[ref * 4]!, this.nodeInts[ref * 4 + 1]!);
      }
    }
    const asc = (a: number, b: number): number => a - b;
    return { nodes: nodes.sort(asc), leaves: leaves.sort(asc) };
  }

  /**
   * After the node records, masses and leaves were restored: rebuilds parents, boxes, range
   * sums and free lists. Returns false if the links do not form one tree.
   */
  rebuildDerived(): boolean {
    const capacity = this.mass.length;
    const seenNodes = new Uint8Array(capacity);
    const seenLeaves = new Uint8Array(capacity);
    const order: number[] = [];
    if (this.root !== NO_NODE) {
      if (this.root < 0) this.leafParent[~this.root] = -1;
      else this.parent[this.root] = -1;
      const stack = [this.root];
      while (stack.length > 0) {
        const ref = stack.pop()!;
        if (ref < 0) {
          if (~ref >= capacity || seenLeaves[~ref] === 1 || this.leafSlot[~ref]! < 0) return false;
          seenLeaves[~ref] = 1;
          continue;
        }
        if (ref >= capacity || seenNodes[ref] === 1) return false;
        seenNodes[ref] = 1;
        order.push(ref);
        for (const child of [this.nodeInts[ref * 4]!, this.nodeInts[ref * 4 + 1]!]) {
          if (child < 0) {
            if (~child >= capacity) return false;
            this.leafParent[~child] = ref;
          } else {
            if (child >= capacity) return false;
            this.parent[child] = ref;
          }
          stack.push(child);
        }
      }
    }
    // Parents precede children in `order`; boxes are filled bottom-up.
    for (let i = order.length - 1; i >= 0; i--) this.fillBoxFromChildren(order[i]!);
    this.freeNodeCount = 0;
    this.freeLeafCount = 0;
    for (let i = capacity - 1; i >= 0; i--) {
      if (seenNodes[i] === 0) this.freeNodes[this.freeNodeCount++] = i;
      if (seenLeaves[i] === 0) this.freeLeaves[this.freeLeafCount++] = i;
    }
    return true;
  }

  private rebuildFreeLists(): void {
    const capacity = this.mass.length;
    for (let i = 0; i < capacity; i++) {
      this.freeNodes[i] = capacity - 1 - i;
      this.freeLeaves[i] = capacity - 1 - i;
    }
    this.freeNodeCount = capacity;
    this.freeLeafCount = capacity;
  }

  private newLeaf(slot: number, parentNode: number): number {
    if (this.freeLeafCount === 0)
      throw new Error('RCF tree: leaf capacity exceeded (internal invariant broken)');
    const leaf = this.freeLeaves[--this.freeLeafCount]!;
    this.leafSlot[leaf] = slot;
    this.leafMass[leaf] = 1;
    this.leafParent[leaf] = parentNode;
    return leaf;
  }

  private replaceChild(parentNode: number, oldRef: number, newRef: number): void {
    if (parentNode === -1) this.root = newRef;
    else if (this.nodeInts[parentNode * 4] === oldRef) this.nodeInts[parentNode * 4] = newRef;
    else this.nodeInts[parentNode * 4 + 1] = newRef;
  }

  private allocateNode(): number {
    if (this.freeNodeCount === 0)
      throw new Error('RCF tree: node capacity exceeded (internal invariant broken)');
    return this.freeNodes[--this.freeNodeCount]!;
  }

  private releaseNode(node: number): void {
    this.parent[node] = -1;
    this.freeNodes[this.freeNodeCount++] = node;
  }

  private releaseLeaf(leaf: number): void {
    this.leafSlot[leaf] = -1;
    this.leafParent[leaf] = -1;
    this.freeLeaves[this.freeLeafCount++] = leaf;
  }
}
