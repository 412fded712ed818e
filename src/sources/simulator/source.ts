import type { Transaction } from '../../events/index.js';
import type { SimulatorOptions } from './options.js';
import { resolveSimulatorOptions } from './options.js';
import { simulateDays } from './simulate.js';

/**
 * The record and source shapes of `src/sources/types.ts`, restated structurally until that
 * module exists so that this folder does not depend on an unfinished file.
 */
export type SimulatorRecord = { kind: 'transaction'; transaction: Transaction };

/** A source of simulated transactions, structurally a `Source` of `src/sources`. */
export interface SimulatorSource {
  readonly name: 'simulator';
  /** Every transaction of the simulation in time order; each call starts the simulation afresh. */
  records(): AsyncIterable<SimulatorRecord>;
}

/**
 * A source named `simulator` that streams {@link simulateDays} transaction by transaction.
 * Options are validated here, so a bad configuration fails at construction.
 */
export function createSimulatorSource(options: SimulatorOptions = {}): SimulatorSource {
  const resolved = resolveSimulatorOptions(options);
  const frozen: SimulatorOptions = {
    nCustomers: resolved.nCustomers,
    nTerminals: resolved.nTerminals,
    nDays: resolved.nDays,
    startDate: resolved.startDate,
    radius: resolved.radius,
    seed: resolved.seed,
  };
  return {
    name: 'simulator',
    async *records(): AsyncGenerator<SimulatorRecord, void, undefined> {
      for (const day of simulateDays(frozen)) {
        for (const transaction of day.transactions) yield { kind: 'transaction', transaction };
      }
    },
  };
}
