import type { Command } from 'commander';
import { ConfigError, ParseError } from '../errors/index.js';
import { parsePayload, type Transaction } from '../events/index.js';
import type { FeatureSetName } from '../features/index.js';
import {
  createCreditcardSource,
  createJsonlSource,
  createSimulatorSource,
  createSparkovSource,
  createSyntheticCreditcardSource,
  type Source,
} from '../sources/index.js';
import { intArg } from './args.js';

/** Rows of the Kaggle/ULB credit-card file, the synthetic generator's default length. */
export const SYNTHETIC_CREDITCARD_ROWS = 284_807;

/** The source names every command that reads transactions accepts. */
export const SOURCE_SPECS = [
  'simulator',
  'synthetic-creditcard',
  'creditcard:PATH',
  'sparkov:PATH',
  'jsonl:PATH',
] as const;

export interface SourceSpecOptions {
  /** Seed of generated sources (which simulated world, which synthetic rows, which hold-out). */
  seed?: number;
  /** Kaggle file split: the lab's 10% shuffled hold-out (`test`), the rest (`train`) or `all`. */
  split?: 'all' | 'train' | 'test';
  /** Sparkov resume position file (like the lab's `last_line.txt`). */
  resumeFile?: string;
  /** Simulator days, for commands that need a shorter history than the Handbook's 183. */
  days?: number;
  /** Simulator start date (YYYY-MM-DD). */
  startDate?: string;
  /** Simulator customers and terminals (the Handbook's 5,000 / 10,000 by default). */
  customers?: number;
  terminals?: number;
  /** Rows for unbounded generators. */
  count?: number;
}

/** `--customers` and `--terminals`, for every command that can read the simulator. */
export function addSimulatorSizeOptions(command: Command): Command {
  return command
    .option('--customers <n>', 'simulator: customers (default 5000, as the Handbook)', intArg)
    .option('--terminals <n>', 'simulator: terminals (default 10000, as the Handbook)', intArg);
}

/** Opens a source from its command-line spec, e.g. `simulator` or `creditcard:data/creditcard.csv`. */
export function openSource(spec: string, options: SourceSpecOptions = {}): Source {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const path = colon < 0 ? '' : spec.slice(colon + 1);
  const needPath = (): string => {
    if (!path) throw new ConfigError(`source ${kind} needs a file: ${kind}:PATH`);
    return path;
  };
  switch (kind) {
    case 'simulator':
      return createSimulatorSource({
        ...(options.seed !== undefined && { seed: options.seed }),
        ...(options.days !== undefined && { nDays: options.days }),
        ...(options.startDate !== undefined && { startDate: options.startDate }),
        ...(options.customers !== undefined && { nCustomers: options.customers }),
        ...(options.terminals !== undefined && { nTerminals: options.terminals }),
      });
    case 'synthetic-creditcard':
      // As many rows as the real Kaggle file unless told otherwise: commands that read a source
      // to its end (train, evaluate, score) must not meet an endless generator.
      return createSyntheticCreditcardSource({
        seed: options.seed ?? 42,
        count: options.count ?? SYNTHETIC_CREDITCARD_ROWS,
      });
    case 'creditcard':
      return createCreditcardSource({
        path: needPath(),
        split: options.split ?? 'all',
        ...(options.seed !== undefined && { seed: options.seed }),
      });
    case 'sparkov':
      return createSparkovSource({
        path: needPath(),
        ...(options.resumeFile !== undefined && { resumeFile: options.resumeFile }),
      });
    case 'jsonl':
      return createJsonlSource({ path: needPath() });
    default:
      throw new ConfigError(`unknown source "${spec}"; expected one of ${SOURCE_SPECS.join(', ')}`);
  }
}

/** Counts of what {@link transactionsOf} skipped. */
export interface SkippedRecords {
  malformed: number;
  firstReason?: string;
}

/**
 * The transactions of a source, for commands that learn or score: recorded payloads
 * (`jsonl:PATH`) are parsed with format detection per line; malformed ones are counted in
 * `skipped` and left out (scoring commands dead-letter them instead).
 */
export async function* transactionsOf(
  source: Source,
  skipped: SkippedRecords = { malformed: 0 },
): AsyncGenerator<Transaction> {
  for await (const record of source.records()) {
    if (record.kind === 'transaction') {
      yield record.transaction;
      continue;
    }
    const parsed = parsePayload(record.payload);
    if (parsed instanceof ParseError) {
      skipped.malformed++;
      skipped.firstReason ??= `line ${record.line}: ${parsed.message}`;
      continue;
    }
    yield parsed;
  }
}

/** The feature set that suits a source when the user names none: the lab's for Kaggle-schema data. */
export function defaultFeatureSetFor(spec: string): FeatureSetName {
  return spec.startsWith('creditcard') || spec.startsWith('synthetic-creditcard')
    ? 'creditcard'
    : 'transactions';
}

/** `YYYY-MM-DD` (or a full ISO time) to epoch ms; with `endOfDay`, a bare date means its last millisecond. */
export function parseDateFlag(value: string, flag: string, endOfDay = false): number {
  const bare = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const ms = Date.parse(bare ? `${value}T00:00:00Z` : value);
  if (!Number.isFinite(ms)) throw new ConfigError(`${flag}: expected a date like 2018-07-25, got "${value}"`);
  return bare && endOfDay ? ms + 86_400_000 - 1 : ms;
}
