// Random Cut Forest kernel, in AssemblyScript, compiled to WebAssembly with 128-bit SIMD by
// `npm run build:kernel` into ../kernel-binary.ts (committed; a test checks it is current).
//
// Everything the forest does per point and per tree runs here, on one linear memory that the
// JavaScript side (../kernel.ts) lays out once and reads through typed-array views: the shared
// point store, each tree's nodes, bounding boxes, leaves and free lists, its time-decayed
// sampler and its random generator, and the block of points in flight. A block is processed
// tree by tree (runTree), so one call scores and learns up to 1,024 points in one tree whose
// arrays stay in cache.
//
// Why WebAssembly: a tree step is a descent followed by an upward walk that measures the L1
// distance from the point to each bounding box on the path. With 30 dimensions that is the
// whole cost of the forest; SIMD measures four dimensions per instruction and the descent
// chooses children without branches. Distances and range sums add 32-bit floats lane by lane
// (then the four lanes in doubles), so a score agrees with a double-precision reference to
// about 1e-7 relative (test/models/rcf-reference.test.ts). The maths follow Guha et al. 2016 and
// AWS random-cut-forest-by-aws; see the comments on each function.
//
// Layout (byte offsets; P = bytes per point = 16 * ceil(dimensions / 4), unused lanes are 0):
//   point store: values (slot * P), reference counts, free slots
//   block: points (j * P), slots, flags (READY = score it, FED = learn it), score sums
//   scratch: paths (node ids from the root) of two points, L1 distance and range sum of each box
//   on the first
//   tree t at trees + t * treeBytes:
//     header: root, free node count, free leaf count, sampler size, rng state (4 x u32)
//     node records [left, right, cutDim, cutValue] (16 bytes), boxes [lo(P) hi(P)],
//     sampler weights (f64), box range sums (f64), then as i32: node mass, node parent,
//     leaf slot, leaf mass, leaf parent, free nodes, free leaves, sampler slots
// A node reference is an internal node id n >= 0 or a leaf id l encoded as ~l (< 0).

const NO_NODE: i32 = 0x7fffffff;
const READY: u8 = 1;
const FED: u8 = 2;

// Header fields of a tree.
const ROOT: usize = 0;
const FREE_NODE_COUNT: usize = 4;
const FREE_LEAF_COUNT: usize = 8;
const SAMPLER_SIZE: usize = 12;
const RNG: usize = 16;
const HEADER: usize = 32;

// Status codes returned to JavaScript.
const OK: i32 = 0;
const ERR_EMPTY: i32 = -1;
const ERR_MISSING: i32 = -2;
const ERR_CAPACITY: i32 = -3;

let D: i32 = 0; // dimensions of a tree point
let V: i32 = 0; // 4-lane vectors per point
let P: usize = 0; // bytes per point
let C: i32 = 0; // sample size: leaves (and internal nodes) per tree
let pointCapacity: i32 = 0;
let blockCapacity: i32 = 0;

let points: usize = 0;
let refCounts: usize = 0;
let freeSlots: usize = 0;
let freeSlotCount: i32 = 0;
let block: usize = 0;
let blockSlots: usize = 0;
let blockFlags: usize = 0;
let blockSums: usize = 0;
let log2Table: usize = 0;
let path: usize = 0;
let path2: usize = 0;
let pathDiff: usize = 0;
let pathRange: usize = 0;
let trees: usize = 0;
let treeBytes: usize = 0;

// Offsets inside a tree.
let NODES: usize = 0;
let BOXES: usize = 0;
let WEIGHTS: usize = 0;
let RANGES: usize = 0;
let MASS: usize = 0;
let PARENT: usize = 0;
let LEAF_SLOT: usize = 0;
let LEAF_MASS: usize = 0;
let LEAF_PARENT: usize = 0;
let FREE_NODES: usize = 0;
let FREE_LEAVES: usize = 0;
let SAMPLER_SLOTS: usize = 0;

// Depth reached by the last descent.
let traceDepth: i32 = 0;

// Layout description for JavaScript, written by init.
let layout: usize = 0;

function align16(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}

/**
 * Lays out the memory for a forest and grows it to fit. Returns the address of the layout
 * description (i32 values, see ../kernel.ts), or 0 if the memory cannot grow.
 */
export function init(dimensions: i32, sampleSize: i32, treeCount: i32, storeCapacity: i32, blockSize: i32): usize {
  D = dimensions;
  V = (dimensions + 3) >> 2;
  P = <usize>V << 4;
  C = sampleSize;
  pointCapacity = storeCapacity;
  blockCapacity = blockSize;
  const c = <usize>sampleSize;
  NODES = HEADER;
  BOXES = NODES + c * 16;
  WEIGHTS = BOXES + c * 2 * P;
  RANGES = WEIGHTS + c * 8;
  MASS = RANGES + c * 8;
  PARENT = MASS + c * 4;
  LEAF_SLOT = PARENT + c * 4;
  LEAF_MASS = LEAF_SLOT + c * 4;
  LEAF_PARENT = LEAF_MASS + c * 4;
  FREE_NODES = LEAF_PARENT + c * 4;
  FREE_LEAVES = FREE_NODES + c * 4;
  SAMPLER_SLOTS = FREE_LEAVES + c * 4;
  treeBytes = align16(SAMPLER_SLOTS + c * 4);

  let at = align16(__heap_base);
  layout = at;
  at += 128;
  log2Table = at;
  at = align16(at + (c + 2) * 8);
  path = at;
  at = align16(at + (c + 1) * 4);
  path2 = at;
  at = align16(at + (c + 1) * 4);
  pathDiff = at;
  at = align16(at + (c + 1) * 8);
  pathRange = at;
  at = align16(at + (c + 1) * 8);
  block = at;
  at += <usize>blockSize * P;
  blockSums = at;
  at = align16(at + <usize>blockSize * 8);
  blockSlots = at;
  at = align16(at + <usize>blockSize * 4);
  blockFlags = at;
  at = align16(at + <usize>blockSize);
  points = at;
  at += <usize>storeCapacity * P;
  refCounts = at;
  at = align16(at + <usize>storeCapacity * 4);
  freeSlots = at;
  at = align16(at + <usize>storeCapacity * 4);
  trees = at;
  at += <usize>treeCount * treeBytes;

  const have = <usize>memory.size() << 16;
  if (at > have) {
    if (memory.grow(<i32>((at - have + 0xffff) >> 16)) < 0) return 0;
  }
  for (let i: i32 = 0; i < storeCapacity; i++) store<i32>(freeSlots + (<usize>i << 2), storeCapacity - 1 - i);
  freeSlotCount = storeCapacity;
  for (let t: i32 = 0; t < treeCount; t++) resetTree(trees + <usize>t * treeBytes);

  // Order known to ../kernel.ts (LAYOUT_FIELDS). No array literal: the stub runtime would
  // allocate it where this layout begins.
  describe(0, P);
  describe(1, treeBytes);
  describe(2, trees);
  describe(3, points);
  describe(4, refCounts);
  describe(5, block);
  describe(6, blockSlots);
  describe(7, blockFlags);
  describe(8, blockSums);
  describe(9, log2Table);
  describe(10, NODES);
  describe(11, BOXES);
  describe(12, WEIGHTS);
  describe(13, MASS);
  describe(14, PARENT);
  describe(15, LEAF_SLOT);
  describe(16, LEAF_MASS);
  describe(17, LEAF_PARENT);
  describe(18, SAMPLER_SLOTS);
  describe(19, FREE_NODES);
  describe(20, FREE_LEAVES);
  describe(21, RANGES);
  return layout;
}

function describe(field: i32, value: usize): void {
  store<i32>(layout + (<usize>field << 2), <i32>value);
}

/** Empties a tree: no root, every node and leaf free, an empty sampler. */
function resetTree(tree: usize): void {
  store<i32>(tree + ROOT, NO_NODE);
  for (let i: i32 = 0; i < C; i++) {
    store<i32>(tree + FREE_NODES + (<usize>i << 2), C - 1 - i);
    store<i32>(tree + FREE_LEAVES + (<usize>i << 2), C - 1 - i);
    store<i32>(tree + PARENT + (<usize>i << 2), -1);
    store<i32>(tree + LEAF_SLOT + (<usize>i << 2), -1);
    store<i32>(tree + LEAF_PARENT + (<usize>i << 2), -1);
  }
  store<i32>(tree + FREE_NODE_COUNT, C);
  store<i32>(tree + FREE_LEAF_COUNT, C);
  store<i32>(tree + SAMPLER_SIZE, 0);
}

// ---------------------------------------------------------------------------------------------
// Random numbers: xoshiro128**, the same generator and the same doubles as src/random (so a
// saved generator state continues the same stream on either side).

@inline function rotl(x: u32, k: u32): u32 {
  return (x << k) | (x >>> (32 - k));
}

function nextU32(tree: usize): u32 {
  const s = tree + RNG;
  let s0 = load<u32>(s);
  let s1 = load<u32>(s, 4);
  let s2 = load<u32>(s, 8);
  let s3 = load<u32>(s, 12);
  const result = rotl(s1 * 5, 7) * 9;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl(s3, 11);
  store<u32>(s, s0);
  store<u32>(s, s1, 4);
  store<u32>(s, s2, 8);
  store<u32>(s, s3, 12);
  return result;
}

/** Uniform double in [0, 1) with 53 random bits from the tree's generator. */
function uniform(tree: usize): f64 {
  const hi = nextU32(tree) >>> 5;
  const lo = nextU32(tree) >>> 6;
  return (<f64>hi * 67108864.0 + <f64>lo) / 9007199254740992.0;
}

// ---------------------------------------------------------------------------------------------
// Point store: points shared by all trees, with reference counts.

/** Copies block point j into a free slot pinned by the block (count 1) and records the slot. */
function pin(j: i32): i32 {
  if (freeSlotCount == 0) return ERR_CAPACITY;
  const slot = load<i32>(freeSlots + (<usize>(--freeSlotCount) << 2));
  memory.copy(points + <usize>slot * P, block + <usize>j * P, P);
  store<i32>(refCounts + (<usize>slot << 2), 1);
  store<i32>(blockSlots + (<usize>j << 2), slot);
  return OK;
}

function release(slot: i32): void {
  const at = refCounts + (<usize>slot << 2);
  const n = load<i32>(at) - 1;
  store<i32>(at, n);
  if (n == 0) store<i32>(freeSlots + (<usize>(freeSlotCount++) << 2), slot);
}

/** Pins every point of the block that trees will learn (flag FED). */
export function pinBlock(m: i32): i32 {
  for (let j: i32 = 0; j < m; j++) {
    if ((load<u8>(blockFlags + <usize>j) & FED) != 0) {
      const status = pin(j);
      if (status != OK) return status;
    }
  }
  return OK;
}

/** Drops the block's own references; points no tree took are freed. */
export function unpinBlock(m: i32): void {
  for (let j: i32 = 0; j < m; j++) {
    if ((load<u8>(blockFlags + <usize>j) & FED) != 0) release(load<i32>(blockSlots + (<usize>j << 2)));
  }
}

/** Rebuilds the free slot list from the reference counts (after restoring a saved state). */
export function rebuildFreeSlots(): void {
  freeSlotCount = 0;
  for (let i: i32 = pointCapacity - 1; i >= 0; i--) {
    if (load<i32>(refCounts + (<usize>i << 2)) == 0) store<i32>(freeSlots + (<usize>(freeSlotCount++) << 2), i);
  }
}

// ---------------------------------------------------------------------------------------------
// Tree helpers.

@inline function nodeAt(tree: usize, n: i32): usize {
  return tree + NODES + (<usize>n << 4);
}

@inline function boxAt(tree: usize, n: i32): usize {
  return tree + BOXES + <usize>n * (P << 1);
}

@inline function pointAt(slot: i32): usize {
  return points + <usize>slot * P;
}

@inline function i32At(tree: usize, field: usize, i: i32): usize {
  return tree + field + (<usize>i << 2);
}

@inline function massOf(tree: usize, ref: i32): i32 {
  return ref < 0 ? load<i32>(i32At(tree, LEAF_MASS, ~ref)) : load<i32>(i32At(tree, MASS, ref));
}

@inline function setParent(tree: usize, ref: i32, parent: i32): void {
  if (ref < 0) store<i32>(i32At(tree, LEAF_PARENT, ~ref), parent);
  else store<i32>(i32At(tree, PARENT, ref), parent);
}

function replaceChild(tree: usize, parent: i32, oldRef: i32, newRef: i32): void {
  if (parent == -1) {
    store<i32>(tree + ROOT, newRef);
    return;
  }
  const at = nodeAt(tree, parent);
  if (load<i32>(at) == oldRef) store<i32>(at, newRef);
  else store<i32>(at, newRef, 4);
}

/** Low and high corners of a reference's box: a leaf's box is its point. */
@inline function loOf(tree: usize, ref: i32): usize {
  return ref < 0 ? pointAt(load<i32>(i32At(tree, LEAF_SLOT, ~ref))) : boxAt(tree, ref);
}

@inline function hiOf(tree: usize, ref: i32): usize {
  return ref < 0 ? pointAt(load<i32>(i32At(tree, LEAF_SLOT, ~ref))) : boxAt(tree, ref) + P;
}

/** Sum of the four lanes, in doubles. */
@inline function lanes(v: v128): f64 {
  return (
    <f64>f32x4.extract_lane(v, 0) +
    <f64>f32x4.extract_lane(v, 1) +
    (<f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3))
  );
}

/**
 * Stores node n's range sum (the sum of its box's side lengths), always computed from the box
 * the same way after the box changes, so it is a function of the box: a restored tree gets the
 * same values. Scoring reads it instead of summing the sides at every visit.
 */
function updateRange(tree: usize, n: i32): void {
  const b = boxAt(tree, n);
  let range = f32x4.splat(0);
  for (let v: usize = 0; v < P; v += 16) range = f32x4.add(range, f32x4.sub(v128.load(b + P + v), v128.load(b + v)));
  storeRange(tree, n, lanes(range));
}

/**
 * Stores a range sum measured in 32-bit lanes, or, if a lane overflowed (sides near the float
 * limit, about 3.4e38), the sum measured again in doubles: the rare box pays, not every box.
 */
@inline function storeRange(tree: usize, n: i32, sum: f64): void {
  store<f64>(tree + RANGES + (<usize>n << 3), sum < Infinity ? sum : wideRange(boxAt(tree, n)));
}

function wideRange(b: usize): f64 {
  let sum: f64 = 0;
  for (let d: i32 = 0; d < D; d++) {
    const at = <usize>d << 2;
    sum += <f64>load<f32>(b + P + at) - <f64>load<f32>(b + at);
  }
  return sum;
}

/** {@link distance} in doubles, for the rare box whose 32-bit sum overflowed. */
function wideDistance(b: usize, x: usize): f64 {
  let sum: f64 = 0;
  for (let d: i32 = 0; d < D; d++) {
    const at = <usize>d << 2;
    const v = <f64>load<f32>(x + at);
    sum += Math.max(<f64>load<f32>(b + at) - v, 0) + Math.max(v - <f64>load<f32>(b + P + at), 0);
  }
  return sum;
}

/**
 * L1 distance from x to the box at b (0 when the box contains x). Per dimension, at most one
 * of lo - x and x - hi is positive, so max(lo - x, x - hi, 0) is the distance.
 */
@inline function distance(b: usize, x: usize): f64 {
  const zero = f32x4.splat(0);
  let outside = zero;
  for (let v: usize = 0; v < P; v += 16) {
    const xv = v128.load(x + v);
    const away = f32x4.pmax(f32x4.sub(v128.load(b + v), xv), f32x4.sub(xv, v128.load(b + P + v)));
    outside = f32x4.add(outside, f32x4.pmax(away, zero));
  }
  const sum = lanes(outside);
  return sum < Infinity ? sum : wideDistance(b, x);
}

/** True when the points at a and b are equal in every dimension. */
function samePoint(a: usize, b: usize): bool {
  for (let v: usize = 0; v < P; v += 16) {
    if (v128.any_true(f32x4.ne(v128.load(a + v), v128.load(b + v)))) return false;
  }
  return true;
}

/**
 * The child of internal node `ref` that x goes to: left when x[cutDim] <= cutValue. Picked by
 * address arithmetic, not a branch: the side is a coin flip that a branch predictor would miss
 * half the time.
 */
@inline function child(tree: usize, x: usize, ref: i32): i32 {
  const node = nodeAt(tree, ref);
  const goRight = load<f32>(x + (<usize>load<i32>(node, 8) << 2)) > load<f32>(node, 12);
  return load<i32>(node + (<usize>goRight << 2));
}

/**
 * Walks x down from `ref` (at `depth`) to a leaf, recording the internal nodes in `nodes`.
 * Returns the leaf's reference; the depth reached is left in traceDepth.
 */
function descend(tree: usize, x: usize, nodes: usize, ref: i32, depth: i32): i32 {
  while (ref >= 0) {
    store<i32>(nodes + (<usize>(depth++) << 2), ref);
    ref = child(tree, x, ref);
  }
  traceDepth = depth;
  return ref;
}

/**
 * From the deepest box of the path up, the L1 distance from x to each box and the box's range
 * sum, into pathDiff/pathRange; stops at the first box that contains x (distance 0), as every
 * box above contains it too. Returns the index of the highest box measured (traceDepth when the
 * deepest box already contains x).
 */
function measurePath(tree: usize, x: usize): i32 {
  let k = traceDepth - 1;
  for (; k >= 0; k--) {
    const n = load<i32>(path + (<usize>k << 2));
    const diff = distance(boxAt(tree, n), x);
    if (diff == 0) break;
    store<f64>(pathDiff + (<usize>k << 3), diff);
    store<f64>(pathRange + (<usize>k << 3), load<f64>(tree + RANGES + (<usize>n << 3)));
  }
  return k + 1;
}

// ---------------------------------------------------------------------------------------------
// Scoring.

/**
 * Anomaly score of x in one tree, AWS's AnomalyScoreVisitor: at the leaf x reaches (depth d),
 * damp(m) / (d + log2(m + 1)) with damp(m) = 1 - m / (2 * treeMass) if the leaf holds x itself
 * (m copies), else 1 / (d + 1); then at each ancestor at depth k, with p the probability that a
 * random cut of the ancestor's box extended by x separates x (distance / (range + distance)),
 * score = p / (k + 1) + (1 - p) * score. Above the first box that contains x, p = 0 and the
 * score no longer changes. The result is multiplied by log2(treeMass + 1) so that typical
 * points score about 1.
 */
function score(tree: usize, x: usize): f64 {
  const root = load<i32>(tree + ROOT);
  if (root == NO_NODE) return 0;
  const leaf = descend(tree, x, path, root, 0);
  return scoreFrom(tree, x, path, traceDepth, leaf);
}

/**
 * Scores of xa and xb (added to the sums at `sa` and `sb`): the same as two calls of score, but
 * the two descents run in one loop. A descent is a chain of dependent loads, so on its own it
 * leaves the processor waiting; two independent chains share the wait.
 */
function scorePair(tree: usize, xa: usize, sa: usize, xb: usize, sb: usize): void {
  const root = load<i32>(tree + ROOT);
  if (root == NO_NODE) return;
  let a = root;
  let b = root;
  let da: i32 = 0;
  let db: i32 = 0;
  while (a >= 0 && b >= 0) {
    store<i32>(path + (<usize>(da++) << 2), a);
    store<i32>(path2 + (<usize>(db++) << 2), b);
    a = child(tree, xa, a);
    b = child(tree, xb, b);
  }
  // The longer of the two descents goes on alone.
  a = descend(tree, xa, path, a, da);
  da = traceDepth;
  b = descend(tree, xb, path2, b, db);
  db = traceDepth;
  store<f64>(sa, load<f64>(sa) + scoreFrom(tree, xa, path, da, a));
  store<f64>(sb, load<f64>(sb) + scoreFrom(tree, xb, path2, db, b));
}

/** The score of x once its descent has filled `nodes` (depth entries) and reached `leafRef`. */
function scoreFrom(tree: usize, x: usize, nodes: usize, depth: i32, leafRef: i32): f64 {
  const treeMass = massOf(tree, load<i32>(tree + ROOT));
  const normaliser = load<f64>(log2Table + (<usize>(treeMass + 1) << 3));
  const leaf = ~leafRef;
  if (samePoint(pointAt(load<i32>(i32At(tree, LEAF_SLOT, leaf))), x)) {
    const m = load<i32>(i32At(tree, LEAF_MASS, leaf));
    const damp = 1.0 - <f64>m / (2.0 * <f64>treeMass);
    return (damp / (<f64>depth + load<f64>(log2Table + (<usize>(m + 1) << 3)))) * normaliser;
  }
  // The same walk as measurePath, folding each level into the score as it goes.
  let s = 1.0 / <f64>(depth + 1);
  for (let k = depth - 1; k >= 0; k--) {
    const n = load<i32>(nodes + (<usize>k << 2));
    const diff = distance(boxAt(tree, n), x);
    if (diff == 0) break;
    const p = diff / (load<f64>(tree + RANGES + (<usize>n << 3)) + diff);
    s = p / <f64>(k + 1) + (1.0 - p) * s;
  }
  return s * normaliser;
}

/** Scores the block's READY points in [from, to) in tree `tree`, two at a time. */
function scoreRange(tree: usize, from: i32, to: i32): void {
  let pending: i32 = -1;
  for (let j = from; j < to; j++) {
    if ((load<u8>(blockFlags + <usize>j) & READY) == 0) continue;
    if (pending < 0) {
      pending = j;
      continue;
    }
    scorePair(
      tree,
      block + <usize>pending * P,
      blockSums + (<usize>pending << 3),
      block + <usize>j * P,
      blockSums + (<usize>j << 3),
    );
    pending = -1;
  }
  if (pending >= 0) {
    const at = blockSums + (<usize>pending << 3);
    store<f64>(at, load<f64>(at) + score(tree, block + <usize>pending * P));
  }
}

// ---------------------------------------------------------------------------------------------
// Insertion.

function newLeaf(tree: usize, slot: i32, parent: i32): i32 {
  const count = load<i32>(tree + FREE_LEAF_COUNT) - 1;
  store<i32>(tree + FREE_LEAF_COUNT, count);
  const leaf = load<i32>(i32At(tree, FREE_LEAVES, count));
  store<i32>(i32At(tree, LEAF_SLOT, leaf), slot);
  store<i32>(i32At(tree, LEAF_MASS, leaf), 1);
  store<i32>(i32At(tree, LEAF_PARENT, leaf), parent);
  return leaf;
}

function newNode(tree: usize): i32 {
  const count = load<i32>(tree + FREE_NODE_COUNT) - 1;
  store<i32>(tree + FREE_NODE_COUNT, count);
  return load<i32>(i32At(tree, FREE_NODES, count));
}

/** Box of node `into` = box of `ref` (a leaf or node) widened to include x. */
function unionWithPoint(tree: usize, into: i32, ref: i32, x: usize): void {
  const lo = loOf(tree, ref);
  const hi = hiOf(tree, ref);
  const b = boxAt(tree, into);
  // The range sum in the same pass, summed exactly as updateRange sums it.
  let range = f32x4.splat(0);
  for (let v: usize = 0; v < P; v += 16) {
    const xv = v128.load(x + v);
    const newLo = f32x4.pmin(v128.load(lo + v), xv);
    const newHi = f32x4.pmax(v128.load(hi + v), xv);
    v128.store(b + v, newLo);
    v128.store(b + P + v, newHi);
    range = f32x4.add(range, f32x4.sub(newHi, newLo));
  }
  storeRange(tree, into, lanes(range));
}

/**
 * Puts a new internal node above `ref` whose cut separates x from ref's box, and a new leaf for
 * x beside ref. `r` is uniform in [0, distance from x to the box): laid over the box's
 * extensions towards x dimension after dimension, it picks the cut's dimension (with
 * probability proportional to the extension) and its value (uniform within it).
 */
function splitAbove(tree: usize, ref: i32, x: usize, slot: i32, r: f64): void {
  const lo = loOf(tree, ref);
  const hi = hiOf(tree, ref);
  let dim: i32 = -1;
  let lastDim: i32 = -1;
  let value: f32 = 0;
  let pointLeft = true;
  let rest = r;
  for (let d: i32 = 0; d < D; d++) {
    const at = <usize>d << 2;
    const v = <f64>load<f32>(x + at);
    const l = <f64>load<f32>(lo + at);
    const h = <f64>load<f32>(hi + at);
    if (v < l) {
      lastDim = d;
      if (rest < l - v) {
        dim = d;
        // Cuts are 32-bit floats like the points; rounding may reach the box edge, and the
        // point itself is then still a separating cut.
        value = <f32>(v + rest);
        if (!(<f64>value < l)) value = <f32>v;
        pointLeft = true;
        break;
      }
      rest -= l - v;
    } else if (v > h) {
      lastDim = d;
      if (rest < v - h) {
        dim = d;
        value = <f32>(h + rest);
        if (!(<f64>value < v)) value = <f32>h;
        pointLeft = false;
        break;
      }
      rest -= v - h;
    }
  }
  if (dim == -1) {
    // Rounding pushed r past the last extension: cut at its boundary.
    dim = lastDim;
    const at = <usize>dim << 2;
    const v = load<f32>(x + at);
    pointLeft = v < load<f32>(lo + at);
    value = pointLeft ? v : load<f32>(hi + at);
  }
  const above = ref < 0 ? load<i32>(i32At(tree, LEAF_PARENT, ~ref)) : load<i32>(i32At(tree, PARENT, ref));
  const inner = newNode(tree);
  const leaf = newLeaf(tree, slot, inner);
  unionWithPoint(tree, inner, ref, x);
  store<i32>(i32At(tree, MASS, inner), massOf(tree, ref) + 1);
  const node = nodeAt(tree, inner);
  store<i32>(node, pointLeft ? ~leaf : ref);
  store<i32>(node, pointLeft ? ref : ~leaf, 4);
  store<i32>(node, dim, 8);
  store<f32>(node, value, 12);
  store<i32>(i32At(tree, PARENT, inner), above);
  setParent(tree, ref, inner);
  replaceChild(tree, above, ref, inner);
}

/**
 * Inserts x (whose point-store slot is `slot`) and returns the slot the tree now holds for it:
 * `slot`, or that of an equal point already in the tree (whose leaf mass grows). Top-down as in
 * the paper: at each node whose box does not contain x, a cut is drawn on the box extended by
 * x, its dimension in proportion to the extended ranges and its value uniform; if it separates x,
 * x splits off there; otherwise the box grows to include x and the walk follows the existing
 * cut. Nodes whose box contains x draw no random number.
 */
function insert(tree: usize, x: usize, slot: i32): i32 {
  const root = load<i32>(tree + ROOT);
  if (root == NO_NODE) {
    store<i32>(tree + ROOT, ~newLeaf(tree, slot, -1));
    return slot;
  }
  const leafRef = descend(tree, x, path, root, 0);
  const depth = traceDepth;
  const leafSlot = load<i32>(i32At(tree, LEAF_SLOT, ~leafRef));
  const duplicate = samePoint(pointAt(leafSlot), x);
  const stop = duplicate ? depth : measurePath(tree, x);
  for (let k: i32 = 0; k < depth; k++) {
    const ref = load<i32>(path + (<usize>k << 2));
    if (k >= stop) {
      const diff = load<f64>(pathDiff + (<usize>k << 3));
      const r = uniform(tree) * (load<f64>(pathRange + (<usize>k << 3)) + diff);
      if (r < diff) {
        splitAbove(tree, ref, x, slot, r);
        return slot;
      }
      unionWithPoint(tree, ref, ref, x);
    }
    const at = i32At(tree, MASS, ref);
    store<i32>(at, load<i32>(at) + 1);
  }
  if (duplicate) {
    const at = i32At(tree, LEAF_MASS, ~leafRef);
    store<i32>(at, load<i32>(at) + 1);
    return leafSlot;
  }
  // A leaf's box is a point: any cut of the extended box separates x.
  const p = pointAt(leafSlot);
  let diff: f64 = 0;
  for (let d: i32 = 0; d < D; d++) {
    const at = <usize>d << 2;
    diff += Math.abs(<f64>load<f32>(x + at) - <f64>load<f32>(p + at));
  }
  splitAbove(tree, leafRef, x, slot, uniform(tree) * diff);
  return slot;
}

// ---------------------------------------------------------------------------------------------
// Deletion.

/**
 * Recomputes node a's box as the union of its children's boxes. Returns false when it did not
 * change (then no box above changes either).
 */
function refreshBox(tree: usize, a: i32): bool {
  const node = nodeAt(tree, a);
  const left = load<i32>(node);
  const right = load<i32>(node, 4);
  const lLo = loOf(tree, left);
  const lHi = hiOf(tree, left);
  const rLo = loOf(tree, right);
  const rHi = hiOf(tree, right);
  const b = boxAt(tree, a);
  // Lanes that moved, and the range sum (summed exactly as updateRange sums it), in one pass.
  let moved = f32x4.splat(0);
  let range = f32x4.splat(0);
  for (let v: usize = 0; v < P; v += 16) {
    const lo = f32x4.pmin(v128.load(lLo + v), v128.load(rLo + v));
    const hi = f32x4.pmax(v128.load(lHi + v), v128.load(rHi + v));
    moved = v128.or(moved, v128.or(f32x4.ne(lo, v128.load(b + v)), f32x4.ne(hi, v128.load(b + P + v))));
    v128.store(b + v, lo);
    v128.store(b + P + v, hi);
    range = f32x4.add(range, f32x4.sub(hi, lo));
  }
  if (!v128.any_true(moved)) return false;
  storeRange(tree, a, lanes(range));
  return true;
}

/** Fills node a's box from its children (restoring a saved tree bottom-up). */
export function fillBox(tree: usize, a: i32): void {
  refreshBox(tree, a);
  updateRange(tree, a);
}

/**
 * Removes one copy of the point in `slot`, which the tree must hold. When its leaf empties, the
 * leaf's sibling takes its parent's place and the boxes above shrink, up to the first that
 * does not change.
 */
function remove(tree: usize, slot: i32): i32 {
  let ref = load<i32>(tree + ROOT);
  if (ref == NO_NODE) return ERR_EMPTY;
  const x = pointAt(slot);
  while (ref >= 0) {
    const at = i32At(tree, MASS, ref);
    store<i32>(at, load<i32>(at) - 1);
    ref = child(tree, x, ref);
  }
  const leaf = ~ref;
  if (load<i32>(i32At(tree, LEAF_SLOT, leaf)) != slot) return ERR_MISSING;
  const leafMass = load<i32>(i32At(tree, LEAF_MASS, leaf)) - 1;
  store<i32>(i32At(tree, LEAF_MASS, leaf), leafMass);
  if (leafMass > 0) return OK;
  const parent = load<i32>(i32At(tree, LEAF_PARENT, leaf));
  store<i32>(i32At(tree, LEAF_SLOT, leaf), -1);
  store<i32>(i32At(tree, LEAF_PARENT, leaf), -1);
  const leafCount = load<i32>(tree + FREE_LEAF_COUNT);
  store<i32>(i32At(tree, FREE_LEAVES, leafCount), leaf);
  store<i32>(tree + FREE_LEAF_COUNT, leafCount + 1);
  if (parent == -1) {
    store<i32>(tree + ROOT, NO_NODE);
    return OK;
  }
  const node = nodeAt(tree, parent);
  const sibling = load<i32>(node) == ref ? load<i32>(node, 4) : load<i32>(node);
  const grand = load<i32>(i32At(tree, PARENT, parent));
  setParent(tree, sibling, grand);
  replaceChild(tree, grand, parent, sibling);
  store<i32>(i32At(tree, PARENT, parent), -1);
  const nodeCount = load<i32>(tree + FREE_NODE_COUNT);
  store<i32>(i32At(tree, FREE_NODES, nodeCount), parent);
  store<i32>(tree + FREE_NODE_COUNT, nodeCount + 1);
  for (let a = grand; a != -1 && refreshBox(tree, a); ) a = load<i32>(i32At(tree, PARENT, a));
  return OK;
}

// ---------------------------------------------------------------------------------------------
// Sampler: AWS CompactSampler, a max-heap of the `sampleSize` lowest weights.

function samplerEvictMax(tree: usize): i32 {
  const w = tree + WEIGHTS;
  const s = tree + SAMPLER_SLOTS;
  const evicted = load<i32>(s);
  const n = load<i32>(tree + SAMPLER_SIZE) - 1;
  store<i32>(tree + SAMPLER_SIZE, n);
  const lastWeight = load<f64>(w + (<usize>n << 3));
  const lastSlot = load<i32>(s + (<usize>n << 2));
  let i: i32 = 0;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && load<f64>(w + (<usize>(child + 1) << 3)) > load<f64>(w + (<usize>child << 3))) child++;
    const cw = load<f64>(w + (<usize>child << 3));
    if (cw <= lastWeight) break;
    store<f64>(w + (<usize>i << 3), cw);
    store<i32>(s + (<usize>i << 2), load<i32>(s + (<usize>child << 2)));
    i = child;
  }
  store<f64>(w + (<usize>i << 3), lastWeight);
  store<i32>(s + (<usize>i << 2), lastSlot);
  return evicted;
}

function samplerAdd(tree: usize, weight: f64, slot: i32): void {
  const w = tree + WEIGHTS;
  const s = tree + SAMPLER_SLOTS;
  let i = load<i32>(tree + SAMPLER_SIZE);
  store<i32>(tree + SAMPLER_SIZE, i + 1);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const pw = load<f64>(w + (<usize>parent << 3));
    if (pw >= weight) break;
    store<f64>(w + (<usize>i << 3), pw);
    store<i32>(s + (<usize>i << 2), load<i32>(s + (<usize>parent << 2)));
    i = parent;
  }
  store<f64>(w + (<usize>i << 3), weight);
  store<i32>(s + (<usize>i << 2), slot);
}

// ---------------------------------------------------------------------------------------------
// The block step.

/**
 * Runs the block's m points through tree t in order: a READY point is scored (added to its
 * sum) against the tree as it stands after the points before it, then a FED point is offered
 * to the sampler with weight log(-log(u)) - timeDecay * sequence (sequence counting from
 * `firstSequence`) and, when it is among the sampleSize lowest weights, replaces the heaviest
 * sampled point in the tree. Returns OK or a negative status (a broken invariant).
 *
 * Scoring draws no random numbers, and most points are not sampled (about 1 in 10 with the
 * default time decay) and leave the tree as it was. So scores are deferred until the next
 * point that changes the tree, and the points in between are scored together (scoreRange)
 * against the same tree: the same scores, in less time.
 */
export function runTree(t: i32, m: i32, firstSequence: f64, timeDecay: f64): i32 {
  const tree = trees + <usize>t * treeBytes;
  let sequence = firstSequence;
  let unscored: i32 = 0;
  for (let j: i32 = 0; j < m; j++) {
    if ((load<u8>(blockFlags + <usize>j) & FED) == 0) continue;
    let u = uniform(tree);
    while (u == 0) u = uniform(tree);
    const weight = Math.log(-Math.log(u)) - timeDecay * sequence;
    sequence += 1;
    const size = load<i32>(tree + SAMPLER_SIZE);
    if (size == C && !(weight < load<f64>(tree + WEIGHTS))) continue;
    // Point j changes the tree: first score it and the points before it on the tree as it is.
    scoreRange(tree, unscored, j + 1);
    unscored = j + 1;
    if (size == C) {
      const evicted = samplerEvictMax(tree);
      const status = remove(tree, evicted);
      if (status != OK) return status;
      release(evicted);
    }
    const held = insert(tree, block + <usize>j * P, load<i32>(blockSlots + (<usize>j << 2)));
    samplerAdd(tree, weight, held);
    const at = refCounts + (<usize>held << 2);
    store<i32>(at, load<i32>(at) + 1);
  }
  scoreRange(tree, unscored, m);
  return OK;
}
