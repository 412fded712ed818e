import type { Transaction } from '../events/index.js';

/**
 * One item of a source: a parsed transaction, or a raw payload passed on unparsed (recorded
 * traffic, malformed lines included, reaches consumers exactly as it was sent).
 */
export type SourceRecord =
  | { kind: 'transaction'; transaction: Transaction }
  | {
      kind: 'raw';
      /** The line as it was recorded, without its line terminator. */
      payload: string;
      /** 1-based line number in the file. */
      line: number;
    };

/**
 * Where transactions come from. `records()` starts a fresh pass each time it is called;
 * sources stream with constant memory and are deterministic for the same options.
 */
export interface Source {
  /** Name for logs, e.g. `creditcard:data/creditcard.csv`. */
  readonly name: string;
  records(): AsyncIterable<SourceRecord>;
}
