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
   * Identifier as sent by the producer. Not always unique: the reference lab sends the literal
   * `random_id` for every record, so lab records are keyed by id and transport position
   * (see {@link recordKey}).
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
 * The 30 {@link CREDITCARD_COLUMNS} as a features object, from their values in column order.
 * Written as one object literal because V8 builds that in one step, several times faster than
 * adding 30 computed keys one by one (it matters at 100k+ records per second).
 */
export function creditcardFeatures(v: ArrayLike<number>): Record<string, number> {
  return {
    Time: v[0]!,
    V1: v[1]!,
    V2: v[2]!,
    V3: v[3]!,
    V4: v[4]!,
    V5: v[5]!,
    V6: v[6]!,
    V7: v[7]!,
    V8: v[8]!,
    V9: v[9]!,
    V10: v[10]!,
    V11: v[11]!,
    V12: v[12]!,
    V13: v[13]!,
    V14: v[14]!,
    V15: v[15]!,
    V16: v[16]!,
    V17: v[17]!,
    V18: v[18]!,
    V19: v[19]!,
    V20: v[20]!,
    V21: v[21]!,
    V22: v[22]!,
    V23: v[23]!,
    V24: v[24]!,
    V25: v[25]!,
    V26: v[26]!,
    V27: v[27]!,
    V28: v[28]!,
    Amount: v[29]!,
  };
}

/**
 * How the pipeline forms a record's unique key, on which documents, series points and counters
 * are idempotent:
 *
 * - `'id'`: the transaction id alone, so a transaction produced twice (a producer retry, a
 *   replayed file) is stored once and counted as a duplicate. Right when ids are unique.
 * - `'id@position'`: the id qualified by the transport position (stream entry id, Kinesis
 *   `shard/sequence`, line), so only a redelivery of the same entry is a duplicate. Right when
 *   ids repeat: the reference lab sends the literal `random_id` for every record.
 * - `'auto'`: `'id'` for the formats whose ids identify a transaction (native JSON, Sparkov's
 *   `trans_num` hash), `'id@position'` for lab envelopes and for empty ids.
 */
export const RECORD_KEY_MODES = ['auto', 'id', 'id@position'] as const;
export type RecordKeyMode = (typeof RECORD_KEY_MODES)[number];

/** Native and Sparkov records by id, lab envelopes by id and position (see {@link RECORD_KEY_MODES}). */
export const DEFAULT_RECORD_KEY_MODE: RecordKeyMode = 'auto';

/**
 * The unique key of a record in the pipeline: its own id, qualified by its transport position
 * where ids cannot be trusted to be unique (see {@link RecordKeyMode}).
 */
export function recordKey(
  tx: Pick<Transaction, 'id' | 'format'>,
  position: string,
  mode: RecordKeyMode = DEFAULT_RECORD_KEY_MODE,
): string {
  if (mode === 'id' || (mode === 'auto' && tx.format !== 'lab' && tx.id.length > 0)) return tx.id;
  return `${tx.id}@${position}`;
}

/** Checks a record key mode given as text (a flag or config value). */
export function isRecordKeyMode(value: unknown): value is RecordKeyMode {
  return (RECORD_KEY_MODES as readonly unknown[]).includes(value);
}
