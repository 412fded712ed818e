import { ConfigError } from '../../errors/index.js';
import { KERNEL_WASM_BASE64 } from './kernel-binary.js';

/**
 * The WebAssembly side of a forest (source: assembly/kernel.ts, where the memory layout and the
 * maths are documented). Each forest owns one instance and its memory; this class lays it out,
 * and exposes it as typed-array views so that saving, restoring and attribution can read the
 * trees from JavaScript. The memory never grows after construction, so the views stay valid.
 */

/** Block flag: score this point. */
export const READY = 1;
/** Block flag: offer this point to the samplers. */
export const FED = 2;
/** "No node": the root of an empty tree. */
export const NO_NODE = 0x7fffffff;

/** The part of the WebAssembly JavaScript API used here (Node 20's types do not declare it). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface KernelExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  init(dimensions: number, sampleSize: number, trees: number, storeCapacity: number, block: number): number;
  pinBlock(m: number): number;
  unpinBlock(m: number): void;
  rebuildFreeSlots(): void;
  fillBox(tree: number, node: number): void;
  runTree(t: number, m: number, firstSequence: number, timeDecay: number): number;
}

/** Order of the fields `init` writes into its layout description. */
const LAYOUT_FIELDS = [
  'pointBytes',
  'treeBytes',
  'trees',
  'points',
  'refCounts',
  'block',
  'blockSlots',
  'blockFlags',
  'blockSums',
  'log2Table',
  'nodes',
  'boxes',
  'weights',
  'mass',
  'parent',
  'leafSlot',
  'leafMass',
  'leafParent',
  'samplerSlots',
  'freeNodes',
  'freeLeaves',
  'ranges',
] as const;

type Layout = Record<(typeof LAYOUT_FIELDS)[number], number>;

/** Header of a tree, as int32 words: see assembly/kernel.ts. */
const HEADER_ROOT = 0;
const HEADER_FREE_NODES = 1;
const HEADER_FREE_LEAVES = 2;
const HEADER_SAMPLER_SIZE = 3;
const HEADER_RNG = 4;

let compiled: object | undefined;

/** The compiled module, shared by all forests (each has its own instance and memory). */
function kernelModule(): object {
  compiled ??= new wasm.Module(Buffer.from(KERNEL_WASM_BASE64, 'base64'));
  return compiled;
}

/** Views of one tree's arrays in the kernel memory. */
export class TreeMemory {
  /** Address of the tree, the handle the kernel takes. */
  readonly address: number;
  /** Header words: root, free node count, free leaf count, sampler size, rng state. */
  private readonly header: Int32Array;
  /** Node records [left, right, cutDim, cutValue] as int32 (cutValue as float32 below). */
  readonly nodeInts: Int32Array;
  readonly nodeFloats: Float32Array;
  /** Node boxes: node n's low corner at `n * 2 * stride`, high corner `stride` floats later. */
  readonly boxes: Float32Array;
  readonly mass: Int32Array;
  readonly parent: Int32Array;
  readonly leafSlot: Int32Array;
  readonly leafMass: Int32Array;
  readonly leafParent: Int32Array;
  readonly freeNodes: Int32Array;
  readonly freeLeaves: Int32Array;
  /** Sampler heap (max weight first) and the point slots it holds. */
  readonly weights: Float64Array;
  readonly samplerSlots: Int32Array;

  constructor(buffer: ArrayBuffer, address: number, layout: Layout, capacity: number, stride: number) {
    this.address = address;
    const i32 = (offset: number, n: number): Int32Array => new Int32Array(buffer, address + offset, n);
    this.header = i32(0, 8);
    this.nodeInts = i32(layout.nodes, 4 * capacity);
    this.nodeFloats = new Float32Array(buffer, address + layout.nodes, 4 * capacity);
    this.boxes = new Float32Array(buffer, address + layout.boxes, 2 * stride * capacity);
    this.weights = new Float64Array(buffer, address + layout.weights, capacity);
    this.mass = i32(layout.mass, capacity);
    this.parent = i32(layout.parent, capacity);
    this.leafSlot = i32(layout.leafSlot, capacity);
    this.leafMass = i32(layout.leafMass, capacity);
    this.leafParent = i32(layout.leafParent, capacity);
    this.freeNodes = i32(layout.freeNodes, capacity);
    this.freeLeaves = i32(layout.freeLeaves, capacity);
    this.samplerSlots = i32(layout.samplerSlots, capacity);
  }

  get root(): number {
    return this.header[HEADER_ROOT]!;
  }

  set root(ref: number) {
    this.header[HEADER_ROOT] = ref;
  }

  get samplerSize(): number {
    return this.header[HEADER_SAMPLER_SIZE]!;
  }

  set samplerSize(n: number) {
    this.header[HEADER_SAMPLER_SIZE] = n;
  }

  /** Points in the tree, duplicates included. */
  get totalMass(): number {
    const r = this.root;
    if (r === NO_NODE) return 0;
    return r < 0 ? this.leafMass[~r]! : this.mass[r]!;
  }

  /** The generator's four state words, as `Random.getState()` gives them. */
  get rngWords(): number[] {
    return Array.from(this.header.subarray(HEADER_RNG, HEADER_RNG + 4), (w) => w >>> 0);
  }

  set rngWords(words: readonly number[]) {
    for (let i = 0; i < 4; i++) this.header[HEADER_RNG + i] = words[i]! | 0;
  }

  setFreeLists(nodes: readonly number[], leaves: readonly number[]): void {
    this.freeNodes.set(nodes);
    this.freeLeaves.set(leaves);
    this.header[HEADER_FREE_NODES] = nodes.length;
    this.header[HEADER_FREE_LEAVES] = leaves.length;
  }
}

/** One forest's kernel instance, its memory and views of it. */
export class ForestKernel {
  /** Floats per point in the store and in the block (dimensions rounded up to 4; the rest are 0). */
  readonly stride: number;
  readonly trees: TreeMemory[];
  /** Point store values (`slot * stride`) and reference counts. */
  readonly points: Float32Array;
  readonly refCounts: Int32Array;
  /** The block in flight: points (`j * stride`), flags, score sums, point-store slots. */
  readonly blockPoints: Float32Array;
  readonly blockFlags: Uint8Array;
  readonly blockSums: Float64Array;
  private readonly exports: KernelExports;

  /**
   * @throws ConfigError if the forest does not fit in a WebAssembly memory (4 GiB).
   */
  constructor(
    dimensions: number,
    sampleSize: number,
    treeCount: number,
    storeCapacity: number,
    block: number,
  ) {
    const instance = new wasm.Instance(kernelModule(), {});
    this.exports = instance.exports as unknown as KernelExports;
    const stride = 4 * Math.ceil(dimensions / 4);
    const bytes = treeCount * sampleSize * (stride * 8 + 60) + (storeCapacity + block) * (stride * 4 + 16);
    if (bytes >= 2 ** 32 - 2 ** 26) {
      throw new ConfigError(
        `RCF forest needs about ${Math.round(bytes / 2 ** 20)} MiB, more than a WebAssembly memory holds (4 GiB): ` +
          'reduce dimensions, shingleSize, sampleSize or numberOfTrees',
      );
    }
    const at = this.exports.init(dimensions, sampleSize, treeCount, storeCapacity, block);
    if (at === 0) throw new ConfigError('RCF forest: the WebAssembly memory could not grow to fit it');
    const buffer = this.exports.memory.buffer;
    const words = new Uint32Array(buffer, at, LAYOUT_FIELDS.length);
    const layout = Object.fromEntries(LAYOUT_FIELDS.map((name, i) => [name, words[i]!])) as Layout;
    this.stride = layout.pointBytes / 4;
    if (this.stride !== stride) throw new Error('RCF kernel: unexpected point layout');
    this.points = new Float32Array(buffer, layout.points, storeCapacity * stride);
    this.refCounts = new Int32Array(buffer, layout.refCounts, storeCapacity);
    this.blockPoints = new Float32Array(buffer, layout.block, block * stride);
    this.blockFlags = new Uint8Array(buffer, layout.blockFlags, block);
    this.blockSums = new Float64Array(buffer, layout.blockSums, block);
    const log2 = new Float64Array(buffer, layout.log2Table, sampleSize + 2);
    for (let i = 0; i < log2.length; i++) log2[i] = Math.log2(i);
    this.trees = Array.from(
      { length: treeCount },
      (_, t) => new TreeMemory(buffer, layout.trees + t * layout.treeBytes, layout, sampleSize, stride),
    );
  }

  /** Pins the block's FED points in the point store (the block holds one reference each). */
  pinBlock(m: number): void {
    if (this.exports.pinBlock(m) !== 0)
      throw new Error('RCF point store is full (internal invariant broken)');
  }

  /** Releases the block's references taken by {@link pinBlock}. */
  unpinBlock(m: number): void {
    this.exports.unpinBlock(m);
  }

  /** Scores and learns the block's first `m` points in tree `t` (see assembly/kernel.ts runTree). */
  runTree(t: number, m: number, firstSequence: number, timeDecay: number): void {
    const status = this.exports.runTree(t, m, firstSequence, timeDecay);
    if (status !== 0)
      throw new Error(`RCF tree ${t}: sampled point missing from the tree (internal invariant broken)`);
  }

  /** Recomputes free point slots from the reference counts. */
  rebuildFreeSlots(): void {
    this.exports.rebuildFreeSlots();
  }

  /** Sets node `n`'s box of tree `t` to the union of its children's. */
  fillBox(t: number, n: number): void {
    this.exports.fillBox(this.trees[t]!.address, n);
  }
}
