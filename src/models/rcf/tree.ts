import { type ForestKernel, NO_NODE, type TreeMemory } from './kernel.js';

/**
 * The JavaScript side of a random cut tree, for what is not per-point work: listing its nodes
 * (to save it), rebuilding what a saved tree leaves out (parents, boxes, free lists) and the
 * per-dimension attribution of a score. The tree itself lives in the kernel memory; the hot
 * paths (score, insert, delete) are in assembly/kernel.ts.
 *
 * A reference to a node is an internal node id n >= 0 or a leaf id l encoded as ~l (< 0).
 * Points go left when x[cutDim] <= cutValue. A leaf's box is its point, read from the store.
 */

/** Internal nodes and leaves reachable from the root, each ascending. */
export function reachable(tree: TreeMemory): { nodes: number[]; leaves: number[] } {
  const nodes: number[] = [];
  const leaves: number[] = [];
  if (tree.root === NO_NODE) return { nodes, leaves };
  const stack = [tree.root];
  while (stack.length > 0) {
    const ref = stack.pop()!;
    if (ref < 0) leaves.push(~ref);
    else {
      nodes.push(ref);
      stack.push(tree.nodeInts[ref * 4]!, tree.nodeInts[ref * 4 + 1]!);
    }
  }
  const asc = (a: number, b: number): number => a - b;
  return { nodes: nodes.sort(asc), leaves: leaves.sort(asc) };
}

/**
 * After the root, node records, masses and leaves of tree `t` were restored: rebuilds parents,
 * boxes and free lists. Returns false if the links do not form one tree.
 */
export function rebuildTree(kernel: ForestKernel, t: number): boolean {
  const tree = kernel.trees[t]!;
  const capacity = tree.mass.length;
  const seenNodes = new Uint8Array(capacity);
  const seenLeaves = new Uint8Array(capacity);
  const order: number[] = [];
  tree.parent.fill(-1);
  tree.leafParent.fill(-1);
  if (tree.root !== NO_NODE) {
    const stack = [tree.root];
    while (stack.length > 0) {
      const ref = stack.pop()!;
      if (ref < 0) {
        if (~ref >= capacity || seenLeaves[~ref] === 1 || tree.leafSlot[~ref]! < 0) return false;
        seenLeaves[~ref] = 1;
        continue;
      }
      if (ref >= capacity || seenNodes[ref] === 1) return false;
      seenNodes[ref] = 1;
      order.push(ref);
      for (const child of [tree.nodeInts[ref * 4]!, tree.nodeInts[ref * 4 + 1]!]) {
        if (child < 0) {
          if (~child >= capacity) return false;
          tree.leafParent[~child] = ref;
        } else {
          if (child >= capacity) return false;
          tree.parent[child] = ref;
        }
        stack.push(child);
      }
    }
  }
  // Parents precede children in `order`: fill the boxes bottom-up.
  for (let i = order.length - 1; i >= 0; i--) kernel.fillBox(t, order[i]!);
  const freeNodes: number[] = [];
  const freeLeaves: number[] = [];
  for (let i = capacity - 1; i >= 0; i--) {
    if (seenNodes[i] === 0) freeNodes.push(i);
    if (seenLeaves[i] === 0) {
      freeLeaves.push(i);
      tree.leafSlot[i] = -1;
    }
  }
  tree.setFreeLists(freeNodes, freeLeaves);
  return true;
}

/**
 * Adds tree's attribution of `x`'s score to `high`/`low`, times `weight` (AWS's
 * `AnomalyAttributionVisitor`). The score increment at each node is split across dimensions in
 * proportion to how far `x` extends the box above (`high`) or below (`low`) in that dimension,
 * so `Σ high + Σ low` equals the tree's score. When the leaf holds `x` itself, the shares follow
 * the union of the siblings' boxes along the path (the tree as if `x` were absent), rescaled to
 * the score. `points` is the kernel's point store, `stride` floats per point.
 */
export function attribution(
  tree: TreeMemory,
  points: Float32Array,
  stride: number,
  x: Float32Array,
  high: Float64Array,
  low: Float64Array,
  weight: number,
): void {
  const root = tree.root;
  if (root === NO_NODE) return;
  const D = high.length;
  const { nodeInts, nodeFloats, boxes } = tree;
  const path: number[] = [];
  let ref = root;
  while (ref >= 0) {
    path.push(ref);
    const r4 = ref * 4;
    ref = x[nodeInts[r4 + 2]!]! <= nodeFloats[r4 + 3]! ? nodeInts[r4]! : nodeInts[r4 + 1]!;
  }
  const depth = path.length;
  const leafRef = ref;
  const treeMass = tree.totalMass;
  const h = new Float64Array(D);
  const l = new Float64Array(D);
  // Box being compared with x at each level: the node's box, or the shadow box for duplicates.
  const bLo = new Float64Array(D);
  const bHi = new Float64Array(D);
  const pb = tree.leafSlot[~leafRef]! * stride;
  let leafRange = 0;
  for (let d = 0; d < D; d++) leafRange += Math.abs(x[d]! - points[pb + d]!);
  const duplicate = leafRange === 0;
  let saved: number;
  if (duplicate) {
    const m = tree.leafMass[~leafRef]!;
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
      const sibling = nodeInts[a4] === child ? nodeInts[a4 + 1]! : nodeInts[a4]!;
      const [src, lo, hi] =
        sibling < 0
          ? [points, tree.leafSlot[~sibling]! * stride, tree.leafSlot[~sibling]! * stride]
          : [boxes, sibling * 2 * stride, sibling * 2 * stride + stride];
      for (let d = 0; d < D; d++) {
        bLo[d] = Math.min(bLo[d]!, src[lo + d]!);
        bHi[d] = Math.max(bHi[d]!, src[hi + d]!);
      }
    } else {
      const lo = a * 2 * stride;
      for (let d = 0; d < D; d++) {
        bLo[d] = boxes[lo + d]!;
        bHi[d] = boxes[lo + stride + d]!;
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
