import { ConfigError } from '../../errors/index.js';
import { Random } from '../../random/index.js';
import type { ForestKernel } from './kernel.js';
import { type ResolvedRcfOptions, resolveRcfOptions } from './options.js';
import { reachable, rebuildTree } from './tree.js';

/** Format tag of a saved forest. */
export const RCF_STATE_FORMAT = 'fraudstream.rcf';
/**
 * Version of the saved-forest layout; bumped on any incompatible change. Version 2 saved node
 * range sums, which version 3 computes from the boxes again (the WebAssembly kernel measures
 * them with the distances at no extra cost); version 1 and 2 states still load.
 */
export const RCF_STATE_VERSION = 3;

/** One saved tree. Arrays are base64 of little-endian typed arrays. */
export interface RcfTreeJson {
  /** Root reference: an internal node id, `~leaf` for a leaf root, or 2147483647 when empty. */
  readonly root: number;
  /** Internal node ids (Int32). */
  readonly nodes: string;
  /** Their left and right child references, interleaved (Int32). */
  readonly children: string;
  /** Their cut dimensions (Int32). */
  readonly cutDim: string;
  /** Their cut values (Float32). */
  readonly cutValue: string;
  /** Their masses (Int32). */
  readonly mass: string;
  /** Leaf ids (Int32). */
  readonly leaves: string;
  /** Their point slots (Int32). */
  readonly leafSlot: string;
  /** Their masses (Int32). */
  readonly leafMass: string;
}

/** One saved sampler: its heap in order. */
export interface RcfSamplerJson {
  /** Heap weights (Float64). */
  readonly weights: string;
  /** Point slots (Int32). */
  readonly slots: string;
}

/**
 * Saved state of a {@link RandomCutForest}: JSON-safe, exact (doubles travel as base64 bytes),
 * and complete, random generator included, so that a restored forest scores the rest of a
 * stream exactly as the original would. Bounding boxes are not saved; they are rebuilt from
 * the points.
 */
export interface RcfStateJson {
  readonly format: typeof RCF_STATE_FORMAT;
  readonly version: typeof RCF_STATE_VERSION;
  readonly options: ResolvedRcfOptions;
  /** `Random.getState()` of each tree's generator. */
  readonly rng: number[][];
  readonly pointsSeen: number;
  readonly treeUpdates: number;
  /** Current shingle, oldest first (Float32). */
  readonly shingle: string;
  /** Live point-store slots (Int32). */
  readonly pointSlots: string;
  /** Their values, `dimensions * shingleSize` each (Float32). */
  readonly pointValues: string;
  readonly trees: RcfTreeJson[];
  readonly samplers: RcfSamplerJson[];
}

interface Parts {
  readonly options: ResolvedRcfOptions;
  readonly seen: number;
  readonly treeUpdates: number;
  readonly shingle: Float32Array;
  readonly kernel: ForestKernel;
}

function b64(array: Int32Array | Float32Array | Float64Array): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

function bytes(field: string, value: unknown, width: number): ArrayBuffer {
  if (typeof value !== 'string') throw new ConfigError(`invalid RCF state: ${field} must be a base64 string`);
  const buf = Buffer.from(value, 'base64');
  if (buf.byteLength % width !== 0)
    throw new ConfigError(`invalid RCF state: ${field} has a truncated array`);
  // Copy into a fresh, aligned buffer.
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

function int32(field: string, value: unknown): Int32Array {
  return new Int32Array(bytes(field, value, 4));
}

function float64(field: string, value: unknown): Float64Array {
  return new Float64Array(bytes(field, value, 8));
}

function float32(field: string, value: unknown): Float32Array {
  return new Float32Array(bytes(field, value, 4));
}

/** Saves the parts of a forest (see {@link RcfStateJson}). */
export function encodeState(parts: Parts): RcfStateJson {
  const { kernel } = parts;
  const D = parts.shingle.length;
  const { stride, points, refCounts } = kernel;
  const live: number[] = [];
  refCounts.forEach((count, slot) => {
    if (count > 0) live.push(slot);
  });
  const pointValues = new Float32Array(live.length * D);
  live.forEach((slot, i) => {
    pointValues.set(points.subarray(slot * stride, slot * stride + D), i * D);
  });
  const trees = kernel.trees.map((tree): RcfTreeJson => {
    const { nodes, leaves } = reachable(tree);
    const children = new Int32Array(nodes.length * 2);
    nodes.forEach((n, i) => {
      children[2 * i] = tree.nodeInts[4 * n]!;
      children[2 * i + 1] = tree.nodeInts[4 * n + 1]!;
    });
    return {
      root: tree.root,
      nodes: b64(Int32Array.from(nodes)),
      children: b64(children),
      cutDim: b64(Int32Array.from(nodes, (n) => tree.nodeInts[4 * n + 2]!)),
      cutValue: b64(Float32Array.from(nodes, (n) => tree.nodeFloats[4 * n + 3]!)),
      mass: b64(Int32Array.from(nodes, (n) => tree.mass[n]!)),
      leaves: b64(Int32Array.from(leaves)),
      leafSlot: b64(Int32Array.from(leaves, (l) => tree.leafSlot[l]!)),
      leafMass: b64(Int32Array.from(leaves, (l) => tree.leafMass[l]!)),
    };
  });
  const samplers = kernel.trees.map(
    (tree): RcfSamplerJson => ({
      weights: b64(tree.weights.slice(0, tree.samplerSize)),
      slots: b64(tree.samplerSlots.slice(0, tree.samplerSize)),
    }),
  );
  return {
    format: RCF_STATE_FORMAT,
    version: RCF_STATE_VERSION,
    options: parts.options,
    // Random.getState() layout: four state words, then no cached normal deviate.
    rng: kernel.trees.map((tree) => [...tree.rngWords, 0, 0]),
    pointsSeen: parts.seen,
    treeUpdates: parts.treeUpdates,
    shingle: b64(parts.shingle),
    pointSlots: b64(Int32Array.from(live)),
    pointValues: b64(pointValues),
    trees,
    samplers,
  };
}

/** A checked saved state, ready to be poured into a freshly built forest. */
export interface DecodedState {
  readonly options: ResolvedRcfOptions;
  readonly seen: number;
  readonly treeUpdates: number;
  readonly shingle: Float32Array;
  /** Pours the points, trees, samplers and generators into a fresh forest's kernel. */
  restore(kernel: ForestKernel): void;
}

function fail(reason: string): never {
  throw new ConfigError(`invalid RCF state: ${reason}`);
}

function count(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail(`${field} must be a count`);
  return value;
}

/**
 * Checks a saved state's shape and decodes it.
 * @throws ConfigError if it is not a state written by {@link encodeState}.
 */
export function decodeState(json: unknown): DecodedState {
  if (typeof json !== 'object' || json === null) fail('not an object');
  const s = json as Record<string, unknown>;
  if (s.format !== RCF_STATE_FORMAT) fail(`format must be "${RCF_STATE_FORMAT}"`);
  if (s.version !== RCF_STATE_VERSION && s.version !== 2 && s.version !== 1)
    fail(`unsupported version ${String(s.version)}`);
  if (typeof s.options !== 'object' || s.options === null) fail('options missing');
  const options = resolveRcfOptions(s.options as ResolvedRcfOptions);
  const rngStates = s.rng;
  if (
    !Array.isArray(rngStates) ||
    rngStates.length !== options.numberOfTrees ||
    !rngStates.every((r) => Array.isArray(r) && r.length === 6 && r.every((v) => typeof v === 'number'))
  ) {
    fail('rng must hold one state of 6 numbers per tree');
  }
  const rngWords = (rngStates as number[][]).map((state, t) => {
    try {
      return Random.fromState(state).getState().slice(0, 4);
    } catch (error) {
      throw new ConfigError(`invalid RCF state: rng of tree ${t}`, { cause: error });
    }
  });
  const seen = count('pointsSeen', s.pointsSeen);
  const treeUpdates = count('treeUpdates', s.treeUpdates);
  const D = options.dimensions * options.shingleSize;
  const shingle = float32('shingle', s.shingle);
  if (shingle.length !== D) fail('shingle has the wrong length');
  const pointSlots = int32('pointSlots', s.pointSlots);
  const pointValues = float32('pointValues', s.pointValues);
  if (pointValues.length !== pointSlots.length * D) fail('pointValues does not match pointSlots');
  if (!Array.isArray(s.trees) || s.trees.length !== options.numberOfTrees) fail('one tree per numberOfTrees');
  if (!Array.isArray(s.samplers) || s.samplers.length !== options.numberOfTrees) fail('one sampler per tree');
  const trees = (s.trees as unknown[]).map((t, i) => {
    if (typeof t !== 'object' || t === null) fail(`trees[${i}] is not an object`);
    const tj = t as Record<string, unknown>;
    const root = tj.root;
    if (typeof root !== 'number' || !Number.isInteger(root)) fail(`trees[${i}].root must be an integer`);
    const saved = {
      nodes: int32(`trees[${i}].nodes`, tj.nodes),
      children: int32(`trees[${i}].children`, tj.children),
      cutDim: int32(`trees[${i}].cutDim`, tj.cutDim),
      cutValue: float32(`trees[${i}].cutValue`, tj.cutValue),
      mass: int32(`trees[${i}].mass`, tj.mass),
      leaves: int32(`trees[${i}].leaves`, tj.leaves),
      leafSlot: int32(`trees[${i}].leafSlot`, tj.leafSlot),
      leafMass: int32(`trees[${i}].leafMass`, tj.leafMass),
    };
    const n = saved.nodes.length;
    if (saved.children.length !== 2 * n || saved.cutDim.length !== n || saved.cutValue.length !== n) {
      fail(`trees[${i}] node arrays differ in length`);
    }
    if (saved.mass.length !== n || saved.leafSlot.length !== saved.leaves.length) {
      fail(`trees[${i}] node arrays differ in length`);
    }
    if (saved.leafMass.length !== saved.leaves.length) fail(`trees[${i}] leaf arrays differ in length`);
    return { root, ...saved };
  });
  const samplers = (s.samplers as unknown[]).map((x, i) => {
    if (typeof x !== 'object' || x === null) fail(`samplers[${i}] is not an object`);
    const sj = x as Record<string, unknown>;
    const weights = float64(`samplers[${i}].weights`, sj.weights);
    const slots = int32(`samplers[${i}].slots`, sj.slots);
    if (weights.length !== slots.length || weights.length > options.sampleSize) {
      fail(`samplers[${i}] has inconsistent sizes`);
    }
    return { weights, slots };
  });
  return {
    options,
    seen,
    treeUpdates,
    shingle,
    restore(kernel) {
      const { stride, points, refCounts } = kernel;
      const capacity = refCounts.length;
      for (let i = 0; i < pointSlots.length; i++) {
        const slot = pointSlots[i]!;
        if (slot < 0 || slot >= capacity) fail('point slot out of range');
        points.set(pointValues.subarray(i * D, i * D + D), slot * stride);
        refCounts[slot] = 0;
      }
      const isLive = new Uint8Array(capacity);
      for (const slot of pointSlots) isLive[slot] = 1;
      samplers.forEach((saved, i) => {
        const tree = kernel.trees[i]!;
        tree.weights.set(saved.weights);
        tree.samplerSlots.set(saved.slots);
        tree.samplerSize = saved.weights.length;
        for (const slot of saved.slots) {
          if (slot < 0 || slot >= capacity || isLive[slot] !== 1)
            fail(`samplers[${i}] refers to a missing point`);
          refCounts[slot]!++;
        }
      });
      kernel.rebuildFreeSlots();
      trees.forEach((saved, i) => {
        const tree = kernel.trees[i]!;
        tree.rngWords = rngWords[i]!;
        const nodeCapacity = tree.mass.length;
        for (let j = 0; j < saved.nodes.length; j++) {
          const n = saved.nodes[j]!;
          const dim = saved.cutDim[j]!;
          if (n < 0 || n >= nodeCapacity) fail(`trees[${i}] has a node id out of range`);
          if (dim < 0 || dim >= D) fail(`trees[${i}] has a cut dimension out of range`);
          tree.nodeInts[4 * n] = saved.children[2 * j]!;
          tree.nodeInts[4 * n + 1] = saved.children[2 * j + 1]!;
          tree.nodeInts[4 * n + 2] = dim;
          tree.nodeFloats[4 * n + 3] = saved.cutValue[j]!;
          tree.mass[n] = saved.mass[j]!;
        }
        for (let j = 0; j < saved.leaves.length; j++) {
          const leaf = saved.leaves[j]!;
          const slot = saved.leafSlot[j]!;
          if (leaf < 0 || leaf >= nodeCapacity) fail(`trees[${i}] has a leaf id out of range`);
          if (slot < 0 || slot >= capacity || isLive[slot] !== 1)
            fail(`trees[${i}] has a leaf without its point`);
          tree.leafSlot[leaf] = slot;
          tree.leafMass[leaf] = saved.leafMass[j]!;
        }
        tree.root = saved.root;
        if (!rebuildTree(kernel, i)) fail(`trees[${i}] is not a tree`);
        const reached = reachable(tree);
        if (reached.nodes.length !== saved.nodes.length || reached.leaves.length !== saved.leaves.length) {
          fail(`trees[${i}] has unreachable nodes`);
        }
        if (tree.totalMass !== tree.samplerSize) fail(`trees[${i}] mass does not match its sampler`);
      });
    },
  };
}
