import { beforeAll, describe, expect, it } from 'vitest';
import { createFeatureSet } from '../../src/features/index.js';
import { RandomCutForest } from '../../src/models/rcf/index.js';
import { type ModelBundle, Scorer, type TrainedBundle } from '../../src/scoring/index.js';
import { smallWorld, trainSmallBundle } from './fixtures.js';

let trained: TrainedBundle;
let rows: Float64Array;
let d: number;

/** A bundle whose forest is a fresh copy, so scorers do not share learning. */
function copy(): ModelBundle {
  return { ...trained, rcf: RandomCutForest.fromJSON(JSON.parse(JSON.stringify(trained.rcf.toJSON()))) };
}

beforeAll(async () => {
  trained = await trainSmallBundle(50, 31, 49);
  d = trained.manifest.featureNames.length;
  const world = smallWorld(52);
  const all = new Float64Array(world.length * d);
  await createFeatureSet('transactions').extract(world, all);
  rows = all.slice((world.length - 400) * d);
});

describe('Scorer learn policy', () => {
  it('learns from all rows by default, none with { learn: false }, and only masked rows with a mask', () => {
    const first = rows.subarray(0, 200 * d);
    const next = rows.subarray(200 * d, 400 * d);
    const mask = Uint8Array.from({ length: 200 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const picked = new Float64Array(mask.reduce((a, b) => a + b, 0) * d);
    let m = 0;
    for (let i = 0; i < 200; i++) if (mask[i] === 1) picked.set(first.subarray(i * d, (i + 1) * d), d * m++);

    const scoresAfter = (scorer: Scorer): number[] =>
      Array.from(scorer.scoreBatch(next, 200, undefined, { learn: false }).anomalyScore.subarray(0, 200));
    const untouched = new Scorer(copy());
    const dry = new Scorer(copy());
    dry.scoreBatch(first, 200, undefined, { learn: false });
    const masked = new Scorer(copy());
    masked.scoreBatch(first, 200, undefined, mask);
    const onlyPicked = new Scorer(copy());
    onlyPicked.scoreBatch(picked, m);
    const all = new Scorer(copy());
    all.scoreBatch(first, 200);

    expect(scoresAfter(dry)).toEqual(scoresAfter(untouched));
    expect(scoresAfter(masked)).toEqual(scoresAfter(onlyPicked));
    expect(scoresAfter(masked)).not.toEqual(scoresAfter(untouched));
    expect(scoresAfter(all)).not.toEqual(scoresAfter(masked));
  });
});
