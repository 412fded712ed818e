import type { Source, SourceRecord } from '../types.js';
import type { SimulatorOptions } from './options.js';
import { resolveSimulatorOptions } from './options.js';
import { simulateDays } from './simulate.js';

/**
 * A source named `simulator` that streams {@link simulateDays} transaction by transaction, in
 * time order; each call of `records()` starts the simulation afresh and gives the same records.
 * Options are validated here, so a bad configuration fails at construction.
 */
export function createSimulatorSource(options: SimulatorOptions = {}): Source {
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
    async *records(): AsyncGenerator<SourceRecord, void, undefined> {
      for (const day of simulateDays(frozen)) {
        for (const transaction of day.transactions) yield { kind: 'transaction', transaction };
      }
    },
  };
}
