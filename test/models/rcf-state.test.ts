import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { RandomCutForest } from '../../src/models/rcf/index.js';
import { Random } from '../../src/random/index.js';

function rows(n: number, dimensions: number, seed: number): Float64Array {
  const rng = new Random(seed);
  const out = new Float64Array(n * dimensions);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() + (i % 97 === 0 ? 5 : 0);
  return out;
}

describe('Random state', () => {
  it('resumes the same stream, the cached normal deviate included', () => {
    const a = new Random(99);
    a.normal(); // leaves a spare deviate cached
    const b = Random.fromState(JSON.parse(JSON.stringify(a.getState())));
    expect([a.normal(), a.next(), a.normal(), a.nextUint32()]).toEqual([
      b.normal(),
      b.next(),
      b.normal(),
      b.nextUint32(),
    ]);
    expect(() => Random.fromState([0, 0, 0, 0, 0, 0])).toThrow(RangeError);
    expect(() => Random.fromState([1, 2, 3])).toThrow(RangeError);
  });
});

describe('RandomCutForest save and restore', () => {
  it('continues exactly as the original after a JSON round trip', () => {
    const D = 3;
    const options = { dimensions: D, numberOfTrees: 10, sampleSize: 64, shingleSize: 2, seed: 4 };
    const original = new RandomCutForest(options);
    const history = rows(900, D, 1);
    original.updateBatch(history, 900);
    const saved = JSON.stringify(original.toJSON());
    const restored = RandomCutForest.fromJSON(JSON.parse(saved));
    expect(restored.pointsSeen).toBe(original.pointsSeen);
    expect(restored.options).toEqual(original.options);
    // The rest of the stream, with evictions and new cuts, must score identically.
    const rest = rows(700, D, 2);
    const expected = original.scoreAndUpdateBatch(rest, 700);
    const actual = new Float64Array(700);
    for (let i = 0; i < 700; i++) actual[i] = restored.scoreAndUpdate(rest.subarray(i * D, (i + 1) * D));
    expect(Array.from(actual)).toEqual(Array.from(expected));
    const probe = [0.5, -3, 2, 0.1, 0.2, 0.3];
    expect(restored.attribution(probe.slice(0, 3))).toEqual(original.attribution(probe.slice(0, 3)));
  });

  it('restores an empty forest and one before outputAfter', () => {
    const empty = new RandomCutForest({ dimensions: 2, numberOfTrees: 3, sampleSize: 16 });
    const again = RandomCutForest.fromJSON(JSON.parse(JSON.stringify(empty)));
    const data = rows(10, 2, 3);
    expect(Array.from(again.scoreAndUpdateBatch(data, 10))).toEqual(
      Array.from(empty.scoreAndUpdateBatch(data, 10)),
    );
  });

  it('rejects states that are not a saved forest', () => {
    const forest = new RandomCutForest({ dimensions: 2, numberOfTrees: 2, sampleSize: 16 });
    forest.updateBatch(rows(50, 2, 5), 50);
    const good = forest.toJSON();
    expect(() => RandomCutForest.fromJSON(null)).toThrow(ConfigError);
    expect(() => RandomCutForest.fromJSON({ ...good, format: 'other' })).toThrow(ConfigError);
    expect(() => RandomCutForest.fromJSON({ ...good, version: 99 })).toThrow(ConfigError);
    expect(() => RandomCutForest.fromJSON({ ...good, trees: good.trees.slice(1) })).toThrow(ConfigError);
    expect(() => RandomCutForest.fromJSON({ ...good, rng: [[0, 0, 0, 0, 0, 0], good.rng[1]] })).toThrow(
      ConfigError,
    );
    const tree = good.trees[0]!;
    const brokenTree = { ...tree, children: Buffer.from(new Int32Array([0, 0])).toString('base64') };
    expect(() => RandomCutForest.fromJSON({ ...good, trees: [brokenTree, good.trees[1]] })).toThrow(
      ConfigError,
    );
    expect(() => RandomCutForest.fromJSON({ ...good, options: { ...good.options, dimensions: 0 } })).toThrow(
      ConfigError,
    );
  });
});

/** A saved forest's node range sums, tree by tree. */
function savedRangeSums(state: ReturnType<RandomCutForest['toJSON']>): Float64Array[] {
  return state.trees.map((t) => {
    const buf = Buffer.from(t.rangeSum, 'base64');
    return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  });
}

/** The same state as a version 1 file, which had no range sums: they are rebuilt from the boxes. */
function asVersion1(state: ReturnType<RandomCutForest['toJSON']>): unknown {
  return {
    ...state,
    version: 1,
    trees: state.trees.map(({ rangeSum: _dropped, ...tree }) => tree),
  };
}

describe('RandomCutForest range sums', () => {
  it('loads a version 1 state and scores as the original up to rounding', () => {
    const D = 4;
    const forest = new RandomCutForest({ dimensions: D, numberOfTrees: 10, sampleSize: 64, seed: 8 });
    forest.updateBatch(rows(2000, D, 9), 2000);
    const old = RandomCutForest.fromJSON(JSON.parse(JSON.stringify(asVersion1(forest.toJSON()))));
    const probe = rows(50, D, 10);
    const expected = forest.scoreBatch(probe, 50);
    const actual = old.scoreBatch(probe, 50);
    for (let i = 0; i < 50; i++) expect(actual[i]!).toBeCloseTo(expected[i]!, 9);
    expect(() =>
      RandomCutForest.fromJSON({ ...forest.toJSON(), trees: asVersion1(forest.toJSON()) }),
    ).toThrow(ConfigError);
  });

  it('stay equal to the sums over the boxes while values from 1 to 1e12 come and go', () => {
    // Range sums are updated incrementally as boxes grow and shrink, and saved; a version 1
    // load rebuilds them from the boxes, which is the reference here.
    const D = 3;
    const forest = new RandomCutForest({
      dimensions: D,
      numberOfTrees: 5,
      sampleSize: 32,
      timeDecay: 0.02,
      seed: 12,
    });
    const rng = new Random(13);
    const data = new Float64Array(3000 * D);
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() * 10 ** (12 * rng.next() ** 4);
    forest.updateBatch(data, 3000);
    const state = forest.toJSON();
    const rebuilt = RandomCutForest.fromJSON(asVersion1(state)).toJSON();
    const kept = savedRangeSums(state);
    const fresh = savedRangeSums(rebuilt);
    let nodes = 0;
    kept.forEach((sums, t) => {
      expect(sums.length).toBe(fresh[t]!.length);
      sums.forEach((v, j) => {
        expect(Math.abs(v - fresh[t]![j]!)).toBeLessThanOrEqual(1e-9 * fresh[t]![j]!);
        nodes++;
      });
    });
    expect(nodes).toBeGreaterThan(100);
  });
});
