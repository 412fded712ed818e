import type { Transaction } from '../../src/events/index.js';
import { DAY_MS } from '../../src/features/index.js';
import { type TrainedBundle, trainBundle } from '../../src/scoring/index.js';
import { simulateDays } from '../../src/sources/index.js';

/** A small simulated world: enough frauds to train on in a few seconds. */
export const SMALL_WORLD = { seed: 3, nCustomers: 600, nTerminals: 1_200, startDate: '2018-04-01' } as const;
export const SMALL_WORLD_START_MS = Date.UTC(2018, 3, 1);

/** All transactions of the first `days` days of the small world, in time order. */
export function smallWorld(days: number): Transaction[] {
  const out: Transaction[] = [];
  for (const day of simulateDays({ ...SMALL_WORLD, nDays: days })) out.push(...day.transactions);
  return out;
}

/** A bundle trained on days [trainFromDay, trainToDay] of the small world, with small fast models. */
export async function trainSmallBundle(
  days = 50,
  trainFromDay = 31,
  trainToDay = 49,
): Promise<TrainedBundle> {
  return trainBundle({
    name: 'test',
    sourceName: 'simulator',
    transactions: smallWorld(days),
    featureSet: 'transactions',
    trainFromMs: SMALL_WORLD_START_MS + trainFromDay * DAY_MS,
    trainToMs: SMALL_WORLD_START_MS + (trainToDay + 1) * DAY_MS - 1,
    gbdt: { nTrees: 40, maxDepth: 4 },
    rcf: { numberOfTrees: 10, sampleSize: 64 },
    seed: 1,
  });
}
