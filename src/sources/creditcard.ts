/** The Kaggle/ULB credit-card file (`Time,V1..V28,Amount,Class`), streamed, with the lab's hold-out split. */
import { ConfigError, ParseError } from '../errors/index.js';
import {
  CREDITCARD_CSV_COLUMNS,
  CREDITCARD_START_TIME_MS,
  parseCreditcardCsvLine,
  splitCsvLine,
} from '../events/index.js';
import { Random } from '../random/index.js';
import { atLine, readLines } from './lines.js';
import { requireNumber, requirePath, stripUndefined } from './options.js';
import type { Source, SourceRecord } from './types.js';

/** Which rows of the file a source yields. */
export const CREDITCARD_SPLITS = ['all', 'train', 'test'] as const;
export type CreditcardSplit = (typeof CREDITCARD_SPLITS)[number];

/** Options of {@link createCreditcardSource}. */
export interface CreditcardSourceOptions {
  /** The CSV file, with header `Time,V1..V28,Amount,Class` (quoted names accepted). */
  path: string;
  /**
   * `'test'`: the deterministic hold-out sample of about {@link testFraction} of the rows;
   * `'train'`: every other row; `'all'`: every row.
   * @default 'all'
   */
  split?: CreditcardSplit;
  /** Seed of the hold-out sample (the lab uses 42). @default 42 */
  seed?: number;
  /** Share of rows in the hold-out sample. @default 0.1 */
  testFraction?: number;
  /** Epoch milliseconds of `Time = 0`. @default CREDITCARD_START_TIME_MS (2013-09-01T00:00:00Z) */
  startTimeMs?: number;
}

/** Defaults of {@link CreditcardSourceOptions}. */
export const DEFAULT_CREDITCARD_SOURCE_OPTIONS = {
  split: 'all',
  seed: 42,
  testFraction: 0.1,
  startTimeMs: CREDITCARD_START_TIME_MS,
} as const satisfies Omit<CreditcardSourceOptions, 'path'>;

/** {@link CreditcardSourceOptions} with every default filled in. */
export type ResolvedCreditcardSourceOptions = Required<CreditcardSourceOptions>;

/** Validates {@link CreditcardSourceOptions} and fills in defaults; throws {@link ConfigError}. */
export function resolveCreditcardSourceOptions(
  options: CreditcardSourceOptions,
): ResolvedCreditcardSourceOptions {
  const path = requirePath('creditcard', 'path', options?.path);
  const resolved: ResolvedCreditcardSourceOptions = {
    ...DEFAULT_CREDITCARD_SOURCE_OPTIONS,
    ...stripUndefined(options),
    path,
  };
  if (!CREDITCARD_SPLITS.includes(resolved.split)) {
    throw new ConfigError(
      `creditcard source: split must be one of ${CREDITCARD_SPLITS.join(', ')}, got ${String(resolved.split)}`,
    );
  }
  if (!Number.isInteger(resolved.seed))
    throw new ConfigError(`creditcard source: seed must be an integer, got ${resolved.seed}`);
  requireNumber('creditcard', 'testFraction', resolved.testFraction, 0, 1);
  requireNumber('creditcard', 'startTimeMs', resolved.startTimeMs, 0, 4_102_444_800_000);
  return resolved;
}

/**
 * Decides per row whether it is in the hold-out sample, from a seeded hash of its index, so
 * the split needs no memory and no second pass. It is a deterministic sample of about
 * `testFraction` of the rows for a given seed; it is NOT the same rows that the lab's
 * `train_test_split(test_size=0.1, random_state=42)` picks (that shuffle needs the whole file).
 */
export function createHoldoutSelector(seed: number, testFraction: number): (rowIndex: number) => boolean {
  const random = new Random(seed);
  const key1 = random.nextUint32();
  const key2 = random.nextUint32();
  return (rowIndex: number): boolean => {
    // murmur3 finaliser over the index mixed with two seed-derived keys: well spread for consecutive indices.
    let h = (Math.imul(rowIndex ^ key1, 0x9e3779b1) + key2) | 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    return (h >>> 0) / 4294967296 < testFraction;
  };
}

/**
 * Streams the Kaggle/ULB credit-card CSV (284,807 rows) with constant memory. Each data row
 * becomes a transaction with id `cc-<rowIndex>` (0-based over all data rows, whichever split),
 * time `startTimeMs + Time * 1000`, the 30 numeric columns as features and `Class` as label.
 *
 * The header is checked first: a wrong one throws {@link ParseError} naming the file and the
 * expected columns. The file is the user's own data, so a malformed row fails loudly too: it
 * throws a {@link ParseError} whose message names the file and line. Blank lines are skipped.
 */
export function createCreditcardSource(options: CreditcardSourceOptions): Source {
  const { path, split, seed, testFraction, startTimeMs } = resolveCreditcardSourceOptions(options);
  const inTest = createHoldoutSelector(seed, testFraction);
  return {
    name: `creditcard:${path}`,
    async *records(): AsyncGenerator<SourceRecord, void, undefined> {
      let headerSeen = false;
      let rowIndex = 0;
      for await (const { text, line } of readLines(path)) {
        if (!headerSeen) {
          checkHeader(path, text);
          headerSeen = true;
          continue;
        }
        if (text.length === 0) continue;
        const index = rowIndex++;
        if (split !== 'all' && inTest(index) !== (split === 'test')) continue;
        const transaction = parseCreditcardCsvLine(text, { id: `cc-${index}`, startTimeMs });
        if (transaction instanceof ParseError) throw atLine(transaction, path, line);
        yield { kind: 'transaction', transaction };
      }
      if (!headerSeen) throw new ParseError('header', `${path} is empty; expected a header ${EXPECTED}`);
    },
  };
}

const EXPECTED = CREDITCARD_CSV_COLUMNS.join(',');

function checkHeader(path: string, line: string): void {
  const text = line.charCodeAt(0) === 0xfeff ? line.slice(1) : line;
  const names = splitCsvLine(text);
  if (
    names?.length === CREDITCARD_CSV_COLUMNS.length &&
    names.every((n, i) => n.trim() === CREDITCARD_CSV_COLUMNS[i])
  ) {
    return;
  }
  const got = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  throw new ParseError('header', `${path}: expected columns ${EXPECTED}, got ${JSON.stringify(got)}`);
}
