import type { Forest, Matrix } from './forest.js';

/** A generated kernel: adds the leaf sums of its trees to `out[start..end)` for rows of `x`. */
type ChunkKernel = (x: Float32Array, nCols: number, start: number, end: number, out: Float64Array) => void;

/**
 * Upper bound of internal nodes per generated function. V8's optimising compiler skips functions
 * whose bytecode exceeds ~60 KB (`--max-optimized-bytecode-size`): at 6,000 splits per chunk the
 * kernels ran 10x slower (3,000 already did with feature locals). Since features are read into
 * locals once per row per chunk, bigger chunks amortise those reads over more trees: on 100 trees
 * of depth 6, 15 features, same process and machine, rows/s relative to 400 were 200: 0.89,
 * 600: 1.02, 800: 1.03, 1,000: 1.06, 1,600: 0.96, 3,000: 0.09. 1,000 keeps a 3x margin to the cliff.
 */
const MAX_SPLITS_PER_CHUNK = 1000;

/** Rows per block: small enough that a block's rows stay in L1 while every chunk walks over them. */
const BLOCK_ROWS = 128;

/**
 * Model-specific JavaScript generated once at load time. Each tree becomes a nested conditional
 * expression with thresholds inlined as literals, so a prediction is a chain of compare-and-branch
 * on constants with no loads from node arrays and no loop-carried node index. Trees are grouped
 * into chunks (one function each) and rows into blocks of {@link BLOCK_ROWS}; the chunk loop runs
 * inside the block loop so a block's rows stay in L1 for every chunk.
 *
 * Prediction is bound by branch mispredictions (the path through a tree is data-dependent), so
 * the bottom of each tree is evaluated without branches: a split whose children are both leaves
 * becomes `lv[k + +(goRight)]` (leaf pair in a table), and a split whose children are both such
 * pairs computes its three comparisons and picks one of four leaves with integer bit masks.
 * Measured on 100 trees of depth 6, 15 features, under the same load (CPU time, rows/s): generic
 * node-array loop ~240k, branchless complete-tree arrays ~300k (565k with 4 rows interleaved),
 * nested conditionals ~660k, + branchless leaf pairs ~780k, + branchless depth-2 bottoms ~880k
 * (branchless depth-3 bottoms were slower again). The masks use `0 - g` (never `-g`, whose `-0`
 * would push V8 off integer arithmetic). Each kernel reads the features its trees use into
 * `const` locals once per row (`f3 = x[o + 3]`) instead of indexing `x` at every split: one
 * bounds-checked load and float32-to-double conversion per feature instead of one per split
 * visited; measured +13% (~950k to ~1.08M rows/s on an idle machine, same process A/B).
 *
 * Missing values cost nothing extra: "go right" is written `v >= t` for a default-left split
 * (false for NaN) and `!(v < t)` for a default-right split (true for NaN). Inputs are
 * `Float32Array`s, so values are already float32 and the comparison is XGBoost's.
 */
export class CompiledForest {
  private readonly chunks: ChunkKernel[];
  private readonly baseMargin: number;
  private readonly nFeatures: number;
  private readonly rowScratch: Float32Array;
  private readonly outScratch = new Float64Array(1);

  constructor(forest: Forest) {
    this.baseMargin = forest.baseMargin;
    this.nFeatures = forest.nFeatures;
    this.rowScratch = new Float32Array(forest.nFeatures);
    this.chunks = [];
    const nTrees = forest.treeOffsets.length - 1;
    let t = 0;
    const leafTable: number[] = [];
    while (t < nTrees) {
      const bodies: string[] = [];
      const used = new Set<number>();
      let splits = 0;
      while (t < nTrees) {
        const start = forest.treeOffsets[t]!;
        const stop = forest.treeOffsets[t + 1]!;
        const treeSplits = (stop - start - 1) / 2;
        if (bodies.length > 0 && splits + treeSplits > MAX_SPLITS_PER_CHUNK) break;
        bodies.push(`s += ${treeExpression(forest, start, leafTable)};`);
        // Only the features this chunk splits on become locals: no dead loads.
        for (let i = start; i < stop; i++) if (forest.feature[i]! >= 0) used.add(forest.feature[i]!);
        splits += treeSplits;
        t++;
      }
      const source = [
        '"use strict";',
        'for (let r = start, o = start * nCols; r < end; r++, o += nCols) {',
        '  let s = 0;',
        ...[...used].sort((p, q) => p - q).map((f) => `  const f${f} = x[o + ${f}];`),
        '  let g0 = 0, g1 = 0, g2 = 0;',
        ...bodies.map((b) => `  ${b}`),
        '  out[r] += s;',
        '}',
      ].join('\n');
      const factory = new Function('lv', `return function (x, nCols, start, end, out) {\n${source}\n};`);
      this.chunks.push(factory(Float64Array.from(leafTable)) as ChunkKernel);
      leafTable.length = 0;
    }
  }

  /** Margins of every row of `x` into `out` (length ≥ `x.nRows`). */
  predictMargin(x: Matrix, out: Float64Array): void {
    const chunks = this.chunks;
    const nChunks = chunks.length;
    const data = x.data;
    const nCols = x.nCols;
    const n = x.nRows;
    out.fill(this.baseMargin, 0, n);
    for (let start = 0; start < n; start += BLOCK_ROWS) {
      const end = Math.min(n, start + BLOCK_ROWS);
      for (let c = 0; c < nChunks; c++) chunks[c]!(data, nCols, start, end, out);
    }
  }

  /** Margin of one row; values are rounded to float32 first, as XGBoost does. */
  predictRowMargin(row: ArrayLike<number>, offset: number): number {
    const scratch = this.rowScratch;
    for (let f = 0; f < this.nFeatures; f++) scratch[f] = row[offset + f]!;
    const out = this.outScratch;
    out[0] = this.baseMargin;
    const chunks = this.chunks;
    for (let c = 0; c < chunks.length; c++) chunks[c]!(scratch, this.nFeatures, 0, 1, out);
    return out[0]!;
  }
}

/**
 * Expression of the subtree rooted at `node`; leaf values of branchless bottoms are appended to
 * `table` (read as `lv` by the kernel), other leaf values are inlined.
 */
function treeExpression(forest: Forest, node: number, table: number[]): string {
  const { feature, left: lefts, right: rights, value } = forest;
  if (feature[node]! < 0) return literal(value[node]!);
  const left = lefts[node]!;
  const right = rights[node]!;
  if (isLeafPair(forest, left) && isLeafPair(forest, right)) {
    const k = table.length;
    table.push(value[lefts[left]!]!, value[rights[left]!]!, value[lefts[right]!]!, value[rights[right]!]!);
    // g0 picks the side; g1 becomes the chosen side's bit: g1 ^ ((g1 ^ g2) & mask(g0)).
    return (
      `(g0 = +(${goRight(forest, node)}), g1 = +(${goRight(forest, left)}), g2 = +(${goRight(forest, right)}), ` +
      `lv[${k} + ((g0 << 1) | (g1 ^ ((g1 ^ g2) & (0 - g0))))])`
    );
  }
  if (feature[left]! < 0 && feature[right]! < 0) {
    const k = table.length;
    table.push(value[left]!, value[right]!);
    return `lv[${k} + +(${goRight(forest, node)})]`;
  }
  const v = `f${feature[node]!}`;
  const t = literal(forest.threshold[node]!);
  const goLeft = forest.defaultLeft[node] === 1 ? `!(${v} >= ${t})` : `${v} < ${t}`;
  return `(${goLeft} ? ${treeExpression(forest, left, table)} : ${treeExpression(forest, right, table)})`;
}

/** A split whose two children are leaves. */
function isLeafPair(forest: Forest, node: number): boolean {
  const f = forest.feature;
  return f[node]! >= 0 && f[forest.left[node]!]! < 0 && f[forest.right[node]!]! < 0;
}

/** Boolean expression "the row goes right at `node`", NaN following the default direction. */
function goRight(forest: Forest, node: number): string {
  const v = `f${forest.feature[node]!}`;
  const t = literal(forest.threshold[node]!);
  return forest.defaultLeft[node] === 1 ? `${v} >= ${t}` : `!(${v} < ${t})`;
}

/** A number literal that parses back to exactly the same double (shortest round-trip form). */
function literal(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  if (value === Number.NEGATIVE_INFINITY) return '(-Infinity)';
  if (Object.is(value, -0)) return '(-0)';
  return value < 0 ? `(${String(value)})` : String(value);
}
