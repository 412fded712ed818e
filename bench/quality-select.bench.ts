/**
 * How the classifier's defaults were chosen: time-respecting validation that never sees a test
 * row. The Handbook's own model-selection layout (chapter 5), moved back by one training period:
 * boost on 2018-07-11..17, leave the 7-day label delay 07-18..24, validate on 07-25..31. Every
 * label used is known by 08-07, before the test week 08-08..14 starts, and the worlds are seeds
 * that `quality` does not report (100.. by default). Each candidate is trained by the very
 * procedure `trainBundle` uses (`trainClassifier`: early stopping on the latest 20% of the
 * rows, then a refit on all of them). Prints mean ± sd of AUC, AP and CP@100 per candidate, best AP first.
 *
 *   npm run bench -- quality-select [--seeds 100..102] [--features transactions]
 */
import type { Transaction } from '../src/events/index.js';
import { buildTrainingSet, createFeatureSet, DAY_MS, type FeatureSetName } from '../src/features/index.js';
import type { GbdtTrainOptions } from '../src/models/gbdt/index.js';
import { averagePrecision, cardPrecisionAtK, rocAuc } from '../src/models/metrics/index.js';
import {
  DEFAULT_CLASSIFIER_OPTIONS,
  formatMeanSd,
  meanSd,
  parseSeeds,
  trainClassifier,
} from '../src/scoring/index.js';
import { simulateDays } from '../src/sources/index.js';

const FIT_FROM = Date.UTC(2018, 6, 11);
const FIT_TO = Date.UTC(2018, 6, 18) - 1;
const VALID_FROM = Date.UTC(2018, 6, 25);
const VALID_TO = Date.UTC(2018, 7, 1) - 1;

/** The grid: the Handbook's baseline, then shallower/slower/regularised/weighted variants. */
function candidates(): Partial<GbdtTrainOptions>[] {
  const out: Partial<GbdtTrainOptions>[] = [];
  for (const maxDepth of [4, 6]) {
    for (const learningRate of [0.1, 0.3]) {
      for (const minChildWeight of [1, 5]) {
        out.push({ nTrees: 200, maxDepth, learningRate, minChildWeight, scalePosWeight: 1, lambda: 1 });
      }
    }
  }
  out.push({ nTrees: 200, maxDepth: 6, learningRate: 0.1, minChildWeight: 1, scalePosWeight: 4, lambda: 1 });
  out.push({ nTrees: 200, maxDepth: 6, learningRate: 0.1, minChildWeight: 1, scalePosWeight: 1, lambda: 10 });
  return out;
}

function describe(c: Partial<GbdtTrainOptions>): string {
  return `depth ${c.maxDepth} eta ${c.learningRate} mcw ${c.minChildWeight} spw ${c.scalePosWeight} λ ${c.lambda}${c.subsample !== undefined ? ` sub ${c.subsample}` : ''}`;
}

export async function main(args: string[]): Promise<void> {
  const at = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const seeds = parseSeeds(at('seeds') ?? '100..102');
  const featureSet = (at('features') ?? 'transactions') as FeatureSetName;
  const nCustomers = Number(at('customers') ?? 5000);
  const nTerminals = Number(at('terminals') ?? 10000);
  const grid = candidates();
  console.log(
    `quality-select: fit 2018-07-11..17, delay 07-18..24, validate 07-25..31 (no test row); seeds ${seeds.join(',')}; ${featureSet}; ${grid.length} candidates + current defaults (${describe(DEFAULT_CLASSIFIER_OPTIONS)})`,
  );
  grid.unshift({ ...DEFAULT_CLASSIFIER_OPTIONS });
  const scores = grid.map(() => ({
    auc: [] as number[],
    ap: [] as number[],
    cp: [] as number[],
    trees: [] as number[],
  }));
  for (const seed of seeds) {
    const world = function* (): Generator<Transaction> {
      for (const day of simulateDays({ seed, nCustomers, nTerminals, nDays: 122 })) yield* day.transactions;
    };
    const set = await buildTrainingSet({
      transactions: world(),
      featureSet: createFeatureSet(featureSet),
      fromMs: FIT_FROM,
      toMs: VALID_TO,
      delayDays: 7,
    });
    const { nCols } = set;
    let fitEnd = 0;
    while (fitEnd < set.nRows && set.timestampsMs[fitEnd]! <= FIT_TO) fitEnd++;
    let validStart = fitEnd;
    while (validStart < set.nRows && set.timestampsMs[validStart]! < VALID_FROM) validStart++;
    const fit = {
      ...set,
      x: set.x.subarray(0, fitEnd * nCols),
      nRows: fitEnd,
      labels: set.labels.subarray(0, fitEnd),
    };
    const valid = {
      data: set.x.subarray(validStart * nCols),
      nRows: set.nRows - validStart,
      nCols,
    };
    const labels = set.labels.subarray(validStart);
    for (let c = 0; c < grid.length; c++) {
      const { gbdt } = trainClassifier(fit, Math.floor(fitEnd * 0.8), { seed: 42, ...grid[c] });
      const p = gbdt.predictProba(valid);
      scores[c]!.auc.push(rocAuc(p, labels));
      scores[c]!.ap.push(averagePrecision(p, labels));
      scores[c]!.cp.push(
        cardPrecisionAtK(
          Array.from(labels, (label, i) => ({
            day: Math.floor(set.timestampsMs[validStart + i]! / DAY_MS),
            cardId: set.cardIds[validStart + i]!,
            label: label as 0 | 1,
            score: p[i]!,
          })),
          100,
        ),
      );
      scores[c]!.trees.push(gbdt.nTrees);
    }
    console.log(`  seed ${seed}: ${fitEnd} fit rows, ${set.nRows - validStart} validation rows`);
  }
  const order = grid.map((_, c) => c).sort((a, b) => meanSd(scores[b]!.ap).mean - meanSd(scores[a]!.ap).mean);
  for (const c of order) {
    const s = scores[c]!;
    console.log(
      `  ${c === 0 ? '(current) ' : ''}${describe(grid[c]!).padEnd(40)} AUC ${formatMeanSd(s.auc)}  AP ${formatMeanSd(s.ap)}  CP@100 ${formatMeanSd(s.cp)}  trees ${meanSd(s.trees).mean.toFixed(0)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
