import { describe, expect, it } from 'vitest';
import { RandomCutForest, type RcfStateJson } from '../../src/models/rcf/index.js';
import { Random } from '../../src/random/index.js';

/**
 * An independent reading of a saved forest: the trees rebuilt from the saved links and points
 * with plain objects and recursion, no shared code with the forest. It checks the structural
 * invariants a random cut tree must keep after any sequence of inserts and deletes, and
 * recomputes the AWS anomaly score from scratch, so a faster forest can be compared with it.
 */
interface RefNode {
  readonly left: number;
  readonly right: number;
  readonly dim: number;
  readonly cut: number;
  readonly mass: number;
}

interface RefTree {
  readonly root: number;
  readonly nodes: Map<number, RefNode>;
  readonly leaves: Map<number, { slot: number; mass: number }>;
}

interface RefForest {
  readonly dimensions: number;
  readonly points: Map<number, Float32Array>;
  readonly trees: RefTree[];
  readonly samplerSlots: Int32Array[];
}

function decode<T extends Int32Array | Float32Array>(b64: string, Ctor: new (b: ArrayBuffer) => T): T {
  const buf = Buffer.from(b64, 'base64');
  return new Ctor(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
}

function readForest(state: RcfStateJson): RefForest {
  const D = state.options.dimensions * state.options.shingleSize;
  const slots = decode(state.pointSlots, Int32Array);
  const values = decode(state.pointValues, Float32Array);
  const points = new Map<number, Float32Array>();
  slots.forEach((slot, i) => {
    points.set(slot, values.slice(i * D, (i + 1) * D));
  });
  const trees = state.trees.map((t): RefTree => {
    const ids = decode(t.nodes, Int32Array);
    const children = decode(t.children, Int32Array);
    const dims = decode(t.cutDim, Int32Array);
    const cuts = decode(t.cutValue, Float32Array);
    const mass = decode(t.mass, Int32Array);
    const nodes = new Map<number, RefNode>();
    ids.forEach((id, i) => {
      nodes.set(id, {
        left: children[2 * i]!,
        right: children[2 * i + 1]!,
        dim: dims[i]!,
        cut: cuts[i]!,
        mass: mass[i]!,
      });
    });
    const leafIds = decode(t.leaves, Int32Array);
    const leafSlots = decode(t.leafSlot, Int32Array);
    const leafMass = decode(t.leafMass, Int32Array);
    const leaves = new Map<number, { slot: number; mass: number }>();
    leafIds.forEach((id, i) => {
      leaves.set(id, { slot: leafSlots[i]!, mass: leafMass[i]! });
    });
    return { root: t.root, nodes, leaves };
  });
  const samplerSlots = state.samplers.map((s) => decode(s.slots, Int32Array));
  return { dimensions: D, points, trees, samplerSlots };
}

interface Box {
  readonly lo: number[];
  readonly hi: number[];
}

function massOf(tree: RefTree, ref: number): number {
  return ref < 0 ? tree.leaves.get(~ref)!.mass : tree.nodes.get(ref)!.mass;
}

function boxOf(forest: RefForest, tree: RefTree, ref: number): Box {
  if (ref < 0) {
    const p = Array.from(forest.points.get(tree.leaves.get(~ref)!.slot)!);
    return { lo: p, hi: [...p] };
  }
  const node = tree.nodes.get(ref)!;
  const a = boxOf(forest, tree, node.left);
  const b = boxOf(forest, tree, node.right);
  return {
    lo: a.lo.map((v, d) => Math.min(v, b.lo[d]!)),
    hi: a.hi.map((v, d) => Math.max(v, b.hi[d]!)),
  };
}

/** Throws on the first broken invariant; returns the number of internal nodes checked. */
function checkInvariants(forest: RefForest): number {
  let checked = 0;
  forest.trees.forEach((tree, t) => {
    const where = `tree ${t}`;
    // Every sampled copy of a point is one unit of mass in the leaf that holds it.
    const copies = new Map<number, number>();
    for (const slot of forest.samplerSlots[t]!) copies.set(slot, (copies.get(slot) ?? 0) + 1);
    const leafCopies = new Map<number, number>();
    for (const leaf of tree.leaves.values()) {
      expect(leafCopies.has(leaf.slot), `${where}: two leaves hold slot ${leaf.slot}`).toBe(false);
      leafCopies.set(leaf.slot, leaf.mass);
    }
    expect(leafCopies, where).toEqual(copies);
    const visit = (ref: number): void => {
      if (ref < 0) return;
      const node = tree.nodes.get(ref)!;
      checked++;
      expect(node.mass, `${where}: mass of node ${ref}`).toBe(
        massOf(tree, node.left) + massOf(tree, node.right),
      );
      // The cut separates the two children: every point on the left is <= it, every point on the right above.
      const left = boxOf(forest, tree, node.left);
      const right = boxOf(forest, tree, node.right);
      expect(left.hi[node.dim]!, `${where}: left of node ${ref}`).toBeLessThanOrEqual(node.cut);
      expect(right.lo[node.dim]!, `${where}: right of node ${ref}`).toBeGreaterThan(node.cut);
      visit(node.left);
      visit(node.right);
    };
    if (tree.root !== 0x7fffffff) visit(tree.root);
  });
  return checked;
}

/**
 * AWS AnomalyScoreVisitor on one tree, from the leaf x reaches up to the root. `seen` counts the
 * trees where x is the leaf's own point (the "seen" branch).
 */
function referenceTreeScore(
  forest: RefForest,
  tree: RefTree,
  x: Float32Array,
  seen: { count: number },
): number {
  if (tree.root === 0x7fffffff) return 0;
  const path: number[] = [];
  let ref = tree.root;
  while (ref >= 0) {
    path.push(ref);
    const node = tree.nodes.get(ref)!;
    ref = x[node.dim]! <= node.cut ? node.left : node.right;
  }
  const treeMass = massOf(tree, tree.root);
  const leaf = tree.leaves.get(~ref)!;
  const point = forest.points.get(leaf.slot)!;
  const depth = path.length;
  const normaliser = Math.log2(treeMass + 1);
  if (point.every((v, d) => v === x[d])) {
    seen.count++;
    const damp = 1 - leaf.mass / (2 * treeMass);
    return (damp / (depth + Math.log2(leaf.mass + 1))) * normaliser;
  }
  let score = 1 / (depth + 1);
  for (let k = depth - 1; k >= 0; k--) {
    const box = boxOf(forest, tree, path[k]!);
    let diff = 0;
    let range = 0;
    for (let d = 0; d < forest.dimensions; d++) {
      diff += Math.max(box.lo[d]! - x[d]!, 0) + Math.max(x[d]! - box.hi[d]!, 0);
      range += box.hi[d]! - box.lo[d]!;
    }
    if (diff === 0) break;
    const p = diff / (range + diff);
    score = p / (k + 1) + (1 - p) * score;
  }
  return score * normaliser;
}

function referenceScore(forest: RefForest, x: ArrayLike<number>, seen: { count: number }): number {
  const x32 = Float32Array.from(x);
  let sum = 0;
  for (const tree of forest.trees) sum += referenceTreeScore(forest, tree, x32, seen);
  return sum / forest.trees.length;
}

/** Rows whose magnitudes span 1 to 1e12, rounded so that some points repeat exactly. */
function wideRows(n: number, dimensions: number, seed: number): Float64Array {
  const rng = new Random(seed);
  const out = new Float64Array(n * dimensions);
  for (let i = 0; i < out.length; i++) {
    const scale = 10 ** Math.floor(12 * rng.next() ** 6);
    out[i] = Math.round(rng.normal() * 3) * scale;
  }
  return out;
}

describe('RandomCutForest against an independent reference', () => {
  it('keeps masses, cuts and samples consistent through inserts, evictions and duplicates', () => {
    const D = 4;
    const forest = new RandomCutForest({
      dimensions: D,
      numberOfTrees: 6,
      sampleSize: 48,
      timeDecay: 0.02,
      seed: 31,
    });
    forest.updateBatch(wideRows(4000, D, 32), 4000);
    expect(checkInvariants(readForest(forest.toJSON()))).toBeGreaterThan(6 * 30);
    const shingled = new RandomCutForest({ dimensions: 2, shingleSize: 3, numberOfTrees: 4, sampleSize: 32 });
    shingled.updateBatch(wideRows(1500, 2, 33), 1500);
    expect(checkInvariants(readForest(shingled.toJSON()))).toBeGreaterThan(4 * 20);
  });

  it('scores every point as the AWS visitor computed from scratch', () => {
    const D = 30;
    const forest = new RandomCutForest({ dimensions: D, numberOfTrees: 12, sampleSize: 128, seed: 41 });
    const rng = new Random(42);
    const history = new Float64Array(3000 * D);
    for (let i = 0; i < history.length; i++) history[i] = rng.normal() * (1 + (i % D));
    // Some rows repeat, so some probes are points held in the trees.
    for (let i = 2900; i < 3000; i += 10) history.copyWithin(i * D, (i - 1) * D, i * D);
    forest.updateBatch(history, 3000);
    const reference = readForest(forest.toJSON());
    const probes: number[][] = [];
    for (let i = 0; i < 40; i++) probes.push(Array.from(history.subarray((2960 + i) * D, (2961 + i) * D)));
    for (let i = 0; i < 40; i++) {
      const p = Array.from({ length: D }, (_, d) => rng.normal() * (1 + d) * (i % 4 === 0 ? 4 : 1));
      probes.push(p);
    }
    const seen = { count: 0 };
    for (const p of probes) {
      const expected = referenceScore(reference, p, seen);
      const actual = forest.score(p);
      expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6 * expected);
    }
    // Some probes are points held in some trees, so the "seen" branch was compared too.
    expect(seen.count).toBeGreaterThan(0);
    const batch = forest.scoreBatch(Float64Array.from(probes.flat()), probes.length);
    probes.forEach((p, i) => {
      expect(batch[i]).toBe(forest.score(p));
    });
  });

  it('scores boxes whose sides reach the 32-bit float limit exactly as the reference', () => {
    // Sums of such sides overflow 32-bit floats; the forest must fall back to doubles, not
    // return Infinity or NaN.
    const D = 6;
    const forest = new RandomCutForest({ dimensions: D, numberOfTrees: 8, sampleSize: 32, seed: 51 });
    const rng = new Random(52);
    const rows = new Float64Array(600 * D);
    for (let i = 0; i < rows.length; i++) rows[i] = (rng.next() < 0.1 ? 3e38 : 1) * (2 * rng.next() - 1);
    forest.updateBatch(rows, 600);
    const reference = readForest(forest.toJSON());
    const seen = { count: 0 };
    for (let i = 0; i < 30; i++) {
      const p = Array.from({ length: D }, () => (rng.next() < 0.5 ? 3.4e38 : -3.4e38) * rng.next());
      const actual = forest.score(p);
      expect(Number.isFinite(actual)).toBe(true);
      const expected = referenceScore(reference, p, seen);
      expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-6 * expected);
    }
  });
});
