import { Random } from '../../random/index.js';
import { FED, ForestKernel, READY } from './kernel.js';
import { type RcfOptions, type ResolvedRcfOptions, resolveRcfOptions } from './options.js';
import { decodeState, encodeState, type RcfStateJson } from './state.js';
import { attribution } from './tree.js';

/**
 * Directional attribution of an anomaly score (AWS `DiVector`): `high[d]` is the part of the
 * score due to the point lying above the data in dimension d, `low[d]` below it, and
 * `total = Σ high + Σ low` is the score. With shingling there is one entry per shingled value
 * (oldest point first).
 */
export interface DiVector {
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly total: number;
}

/**
 * Points handled per block by the batch methods. Within a block the kernel works tree by tree,
 * so one tree's arrays stay in cache while it scores and learns every point of the block.
 */
const BLOCK = 1024;

/** What a block run does with its points. */
type Mode = 'score' | 'update' | 'scoreAndUpdate';

/**
 * Streaming Random Cut Forest anomaly detector (Guha et al. 2016; the maths of AWS's
 * random-cut-forest-by-aws). Each tree keeps a time-decayed sample of the stream and a random
 * cut tree over it; the anomaly score of a point is the average over trees of AWS's standard
 * score, about 1 for typical points and larger for points that would be isolated near the root.
 *
 * Deterministic: the same options (seed included) and the same stream give the same scores,
 * whether points come one by one or in batches of any size, and a forest restored with
 * {@link RandomCutForest.fromJSON} continues exactly as the saved one would. Point values are
 * rounded to 32-bit floats on entry, as AWS RCF stores them; inputs equal after rounding are the
 * same point.
 *
 * @example
 * const rcf = new RandomCutForest({ dimensions: 30 });
 * for (const x of stream) console.log(rcf.scoreAndUpdate(x));
 */
export class RandomCutForest {
  /** Values per input point (before shingling). */
  readonly dimensions: number;
  /** Resolved options, defaults applied. */
  readonly options: ResolvedRcfOptions;
  private readonly treeDimensions: number;
  /**
   * The trees, their samplers and generators, the shared point store and the block in flight,
   * in WebAssembly memory (see kernel.ts and assembly/kernel.ts).
   */
  private readonly kernel: ForestKernel;
  /** Points given to `update`. */
  private seen = 0;
  /** Points given to the trees (shingles once the first is full). */
  private treeUpdates = 0;
  /** Last `shingleSize` input points (ring buffer whose oldest entry is at `shingleStart`). */
  private readonly shingle: Float32Array;
  private shingleStart = 0;
  /** One view per block point into the kernel's block (`treeDimensions` floats each). */
  private readonly blockViews: Float32Array[];
  /** Output of the one-point methods, reused to keep them allocation-free. */
  private readonly single = new Float64Array(1);

  /**
   * @throws ConfigError on invalid options, or if the forest does not fit in a WebAssembly
   * memory (4 GiB: dimensions × shingleSize × sampleSize × numberOfTrees too large).
   */
  constructor(options: RcfOptions) {
    this.options = resolveRcfOptions(options);
    const { dimensions, shingleSize, numberOfTrees, sampleSize, seed } = this.options;
    this.dimensions = dimensions;
    const TD = dimensions * shingleSize;
    this.treeDimensions = TD;
    // The store holds every sampled point of every tree, plus the points of one block in flight.
    this.kernel = new ForestKernel(TD, sampleSize, numberOfTrees, numberOfTrees * sampleSize + BLOCK, BLOCK);
    // One generator per tree, so trees evolve independently and can be run tree by tree.
    const master = new Random(seed);
    for (const tree of this.kernel.trees) tree.rngWords = master.fork().getState();
    this.shingle = new Float32Array(TD);
    const { blockPoints, stride } = this.kernel;
    this.blockViews = Array.from({ length: BLOCK }, (_, j) =>
      blockPoints.subarray(j * stride, j * stride + TD),
    );
  }

  /** Points given to {@link update} so far. */
  get pointsSeen(): number {
    return this.seen;
  }

  /** True once scores are produced (the trees have received `outputAfter` points). */
  get isReady(): boolean {
    return this.treeUpdates >= this.options.outputAfter;
  }

  /**
   * Anomaly score of `point` without learning it: 0 until {@link isReady}, then the mean over
   * trees of the AWS anomaly score (about 1 for inliers of a stationary stream, higher for
   * anomalies). With shingling, the point is scored as the newest value of the current shingle.
   * @throws RangeError if `point` has the wrong length or a value that is not a finite 32-bit float.
   */
  score(point: ArrayLike<number>): number {
    this.checkPoint(point);
    return this.run('score', point, 1, this.single)[0]!;
  }

  /**
   * Learns `point`: it enters each tree's sampler with a time-decayed random weight and, when
   * sampled, the tree (the sampler's heaviest point is evicted first when it is full).
   * @throws RangeError as {@link score}.
   */
  update(point: ArrayLike<number>): void {
    this.checkPoint(point);
    this.run('update', point, 1, this.single);
  }

  /** {@link score} then {@link update} of the same point: the usual streaming step. */
  scoreAndUpdate(point: ArrayLike<number>): number {
    this.checkPoint(point);
    return this.run('scoreAndUpdate', point, 1, this.single)[0]!;
  }

  /**
   * Scores `n` points stored row-major in `points` (`n * dimensions` values), each as
   * {@link score} would, without learning them. Returns `out` (allocated when not given).
   * @throws RangeError on a size mismatch or a bad value (before anything is scored).
   */
  scoreBatch(points: ArrayLike<number>, n: number, out?: Float64Array): Float64Array {
    this.checkBatch(points, n, out);
    return this.run('score', points, n, out);
  }

  /** Learns `n` row-major points in order, exactly as `n` calls of {@link update}. */
  updateBatch(points: ArrayLike<number>, n: number): void {
    this.checkBatch(points, n, undefined);
    this.run('update', points, n, undefined);
  }

  /**
   * Scores then learns each of `n` row-major points in order, exactly as `n` calls of
   * {@link scoreAndUpdate} (same scores, same final state), but faster.
   */
  scoreAndUpdateBatch(points: ArrayLike<number>, n: number, out?: Float64Array): Float64Array {
    this.checkBatch(points, n, out);
    return this.run('scoreAndUpdate', points, n, out);
  }

  /**
   * Per-dimension attribution of {@link score}: `total` equals `score(point)` up to rounding,
   * and the dimension that makes the point unusual gets the largest share. All zero before
   * {@link isReady}.
   */
  attribution(point: ArrayLike<number>): DiVector {
    this.checkPoint(point);
    const high = new Float64Array(this.treeDimensions);
    const low = new Float64Array(this.treeDimensions);
    if (!this.isReady) return { high, low, total: 0 };
    const x = this.blockViews[0]!;
    this.shingleWith(point, 0, x);
    const { trees, points, stride } = this.kernel;
    const weight = 1 / trees.length;
    for (const tree of trees) attribution(tree, points, stride, x, high, low, weight);
    let total = 0;
    for (let d = 0; d < high.length; d++) total += high[d]! + low[d]!;
    return { high, low, total };
  }

  /** The complete state as a JSON-safe object; {@link fromJSON} restores it exactly. */
  toJSON(): RcfStateJson {
    const shingle = new Float32Array(this.treeDimensions);
    this.orderedShingleInto(shingle);
    return encodeState({
      options: this.options,
      seen: this.seen,
      treeUpdates: this.treeUpdates,
      shingle,
      kernel: this.kernel,
    });
  }

  /**
   * Restores a forest saved with {@link toJSON} (also after `JSON.stringify`/`JSON.parse`).
   * @throws ConfigError if `json` is not a valid saved state.
   */
  static fromJSON(json: unknown): RandomCutForest {
    const decoded = decodeState(json);
    const forest = new RandomCutForest(decoded.options);
    decoded.restore(forest.kernel);
    forest.seen = decoded.seen;
    forest.treeUpdates = decoded.treeUpdates;
    forest.shingle.set(decoded.shingle);
    forest.shingleStart = 0;
    return forest;
  }

  /** Runs `n` validated points through the trees, block by block. */
  private run(mode: Mode, points: ArrayLike<number>, n: number, out: Float64Array | undefined): Float64Array {
    const result = out ?? new Float64Array(n);
    for (let start = 0; start < n; start += BLOCK) {
      this.runBlock(mode, points, start, Math.min(BLOCK, n - start), result);
    }
    return result;
  }

  private runBlock(mode: Mode, points: ArrayLike<number>, start: number, m: number, out: Float64Array): void {
    const D = this.dimensions;
    const { shingleSize, outputAfter, timeDecay, numberOfTrees } = this.options;
    const { blockViews: views, kernel } = this;
    const { blockFlags: flags, blockSums: sums } = kernel;
    const scoring = mode !== 'update';
    const learning = mode !== 'score';
    const firstUpdate = this.treeUpdates;
    let fedCount = 0;
    // Shingle the block and decide, point by point, what each one does. A point scored and
    // learned is scored against the forest as it was before it, i.e. after the block's earlier
    // points: running tree by tree below gives exactly the point-by-point results.
    for (let j = 0; j < m; j++) {
      const offset = (start + j) * D;
      sums[j] = 0;
      if (!learning) {
        this.shingleWith(points, offset, views[j]!);
        flags[j] = this.treeUpdates >= outputAfter ? READY : 0;
        continue;
      }
      let flag = scoring && firstUpdate + fedCount >= outputAfter ? READY : 0;
      this.pushShingle(points, offset);
      this.seen++;
      if (this.seen >= shingleSize) {
        this.orderedShingleInto(views[j]!);
        flag |= FED;
        fedCount++;
      }
      flags[j] = flag;
    }
    // The block pins its own points so that no tree frees them while others still need them.
    if (fedCount > 0) kernel.pinBlock(m);
    for (let t = 0; t < numberOfTrees; t++) kernel.runTree(t, m, firstUpdate, timeDecay);
    if (fedCount > 0) kernel.unpinBlock(m);
    for (let j = 0; j < m; j++) out[start + j] = (flags[j]! & READY) !== 0 ? sums[j]! / numberOfTrees : 0;
    this.treeUpdates = firstUpdate + fedCount;
  }

  /** Validates one point given alone: exact length, values that fit a 32-bit float. */
  private checkPoint(point: ArrayLike<number>): void {
    if (point.length !== this.dimensions) {
      throw new RangeError(`RCF point must have ${this.dimensions} values, got ${point.length}`);
    }
    this.checkValues(point, 0, this.dimensions);
  }

  private checkValues(points: ArrayLike<number>, offset: number, count: number): void {
    for (let i = 0; i < count; i++) {
      // Points are kept as 32-bit floats (as in AWS RCF), so the value must fit one.
      if (!Number.isFinite(Math.fround(points[offset + i]!))) {
        throw new RangeError(
          `RCF point value ${offset + i} is not a finite 32-bit float: ${points[offset + i]}`,
        );
      }
    }
  }

  private checkBatch(points: ArrayLike<number>, n: number, out: Float64Array | undefined): void {
    if (!Number.isInteger(n) || n < 0 || points.length < n * this.dimensions) {
      throw new RangeError(
        `RCF batch: ${n} points of ${this.dimensions} values need ${n * this.dimensions} values`,
      );
    }
    if (out !== undefined && out.length < n)
      throw new RangeError(`RCF batch: output has room for ${out.length} < ${n}`);
    this.checkValues(points, 0, n * this.dimensions);
  }

  private pushShingle(point: ArrayLike<number>, offset: number): void {
    const D = this.dimensions;
    const start = this.shingleStart * D;
    for (let d = 0; d < D; d++) this.shingle[start + d] = point[offset + d]!;
    this.shingleStart = (this.shingleStart + 1) % this.options.shingleSize;
  }

  /** Writes the current shingle, oldest point first, into `out`. */
  private orderedShingleInto(out: Float32Array): void {
    const D = this.dimensions;
    const S = this.options.shingleSize;
    for (let i = 0; i < S; i++) {
      const from = ((this.shingleStart + i) % S) * D;
      out.set(this.shingle.subarray(from, from + D), i * D);
    }
  }

  /** Writes into `out` the shingle the trees would see if `point` arrived now. */
  private shingleWith(point: ArrayLike<number>, offset: number, out: Float32Array): void {
    const D = this.dimensions;
    const S = this.options.shingleSize;
    for (let i = 1; i < S; i++) {
      const from = ((this.shingleStart + i) % S) * D;
      for (let d = 0; d < D; d++) out[(i - 1) * D + d] = this.shingle[from + d]!;
    }
    const last = (S - 1) * D;
    for (let d = 0; d < D; d++) out[last + d] = point[offset + d]!;
  }
}
