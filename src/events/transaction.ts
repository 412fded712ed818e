/**
 * The canonical transaction: every source and every wire format is turned into this shape
 * before features are computed. Times are event times in epoch milliseconds (UTC).
 */

/** Where a transaction was made. Lab envelopes use `Web`, `Mobile`, `Store`; other values are kept as given. */
export type Channel = 'web' | 'mobile' | 'store' | 'unknown' | (string & {});

/** The wire format a transaction arrived in. */
export const PAYLOAD_FORMATS = ['lab', 'native', 'sparkov'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

/** 0 = genuine, 1 = fraud. */
export type Label = 0 | 1;

export interface Transaction {
  /**
   * Identifier as sent by the producer. Not trusted to be unique: the reference lab sends the
   * literal `random_id` for every record, so the consumer keys documents by transport position
   * when ids repeat (see {@link recordKey}).
   */
  id: string;
  /** Event time, epoch milliseconds UTC. */
  timestampMs: number;
  /** Card (customer) identifier; `''` when the format has none (the lab envelope). */
  cardId: string;
  /** Terminal or merchant identifier; `''` when the format has none. */
  terminalId: string;
  /** Amount in the currency unit of the source, >= 0. */
  amount: number;
  /** Channel of the transaction; `'unknown'` when not given. */
  channel: Channel;
  /**
   * Numeric inputs carried by the record itself, by name: for the lab envelope and the
   * Kaggle file `Time`, `V1`..`V28` (and `Amount`, equal to {@link amount}).
   */
  features?: Record<string, number>;
  /** Known label, when the source has one (history, simulator). Never used as a feature of its own record. */
  label?: Label;
  /** Fields the parser did not recognise, kept as received (unknown fields are not fatal). */
  extra?: Record<string, unknown>;
  /** Format the record was parsed from. */
  format: PayloadFormat;
}

/** A label arriving after the fact (chargeback, investigation), used to update terminal risk. */
export interface Feedback {
  transactionId: string;
  /** Card and terminal of the labelled transaction, so state can be updated without a lookup. */
  cardId: string;
  terminalId: string;
  /** Event time of the labelled transaction, epoch ms. */
  transactionTimestampMs: number;
  label: Label;
  /** When the label became known, epoch ms. */
  atMs: number;
}

/** The 30 numeric columns of the Kaggle/ULB credit-card file and the lab envelope's `data`, in order. */
export const CREDITCARD_COLUMNS = [
  'Time',
  ...Array.from({ length: 28 }, (_, i) => `V${i + 1}`),
  'Amount',
] as readonly string[];

/**
 * The unique key of a record in the pipeline: its own id, qualified by its transport position
 * (stream entry id, Kinesis sequence number, line number) because ids can repeat.
 */
export function recordKey(tx: Pick<Transaction, 'id'>, position: string): string {
  return `${tx.id}@${position}`;
}
