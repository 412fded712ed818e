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

/**
 * The same state as an earlier version wrote it: version 2 also saved node range sums (ignored
 * on load now that they are measured from the boxes), version 1 had none.
 */
function asVersion(state: ReturnType<RandomCutForest['toJSON']>, version: 1 | 2): unknown {
  if (version === 1) return { ...state, version };
  return {
    ...state,
    version,
    trees: state.trees.map((tree) => ({
      ...tree,
      rangeSum: Buffer.from(new Float64Array(Buffer.from(tree.nodes, 'base64').length / 4).fill(1)).toString(
        'base64',
      ),
    })),
  };
}

describe('RandomCutForest earlier state versions', () => {
  it('loads version 1 and 2 states and continues as the original', () => {
    const D = 4;
    const forest = new RandomCutForest({ dimensions: D, numberOfTrees: 10, sampleSize: 64, seed: 8 });
    forest.updateBatch(rows(2000, D, 9), 2000);
    const state = forest.toJSON();
    expect(state.version).toBe(3);
    const rest = rows(500, D, 10);
    const expected = RandomCutForest.fromJSON(state).scoreAndUpdateBatch(rest, 500);
    for (const version of [1, 2] as const) {
      const old = RandomCutForest.fromJSON(JSON.parse(JSON.stringify(asVersion(state, version))));
      expect(Array.from(old.scoreAndUpdateBatch(rest, 500))).toEqual(Array.from(expected));
    }
  });
});
