/** Rows of the Kaggle/ULB credit-card CSV (`Time,V1..V28,Amount,Class`). */
import { ParseError } from '../errors/index.js';
import { splitCsvLine } from './csv.js';
import { CREDITCARD_COLUMNS, creditcardFeatures, type Transaction } from './transaction.js';
import { checkAmount, labelFrom, parseDecimal, quote, unexpected } from './validation.js';

/** Header of the Kaggle/ULB file: the 30 {@link CREDITCARD_COLUMNS} and `Class`. */
export const CREDITCARD_CSV_COLUMNS = [...CREDITCARD_COLUMNS, 'Class'] as readonly string[];

/** Start of the two days the Kaggle file covers, used as its `Time = 0` (the file itself has no dates). */
export const CREDITCARD_START_TIME_MS = Date.UTC(2013, 8, 1);

/** Options of {@link parseCreditcardCsvLine}: what the row itself does not say. */
export interface CreditcardRowContext {
  /** Transaction id to give the row, e.g. `cc-<rowIndex>`. */
  id: string;
  /** Epoch milliseconds of `Time = 0`; the event time is this plus `Time` seconds. */
  startTimeMs: number;
}

const COLUMN_COUNT = CREDITCARD_CSV_COLUMNS.length;

/** Values of the record being parsed; reused because parsing is synchronous and one record at a time. */
const scratch = new Float64Array(30);

/**
 * Parses one data line of the Kaggle/ULB file (quoted values such as `"0"` accepted). Never
 * throws. The transaction has channel `'unknown'`, empty card and terminal, the 30 numeric
 * columns as features, `Class` as the label and format `'lab'` (the same schema the lab
 * envelope carries, so it serialises to one unchanged).
 */
export function parseCreditcardCsvLine(
  line: string,
  context: CreditcardRowContext,
): Transaction | ParseError {
  try {
    const fields = splitCsvLine(line);
    if (fields === undefined) return new ParseError('line', `malformed CSV quoting in ${quote(line)}`);
    if (fields.length !== COLUMN_COUNT) {
      return new ParseError('line', `expected ${COLUMN_COUNT} fields, got ${fields.length}`);
    }
    for (let i = 0; i < COLUMN_COUNT - 1; i++) {
      const text = fields[i]!;
      const value = parseDecimal(text);
      if (Number.isNaN(value)) {
        return new ParseError(CREDITCARD_COLUMNS[i]!, `expected a finite number, got ${quote(text)}`);
      }
      scratch[i] = value;
    }
    const amount = checkAmount(scratch[29]!, 'Amount', fields[COLUMN_COUNT - 2]);
    if (amount instanceof ParseError) return amount;
    const classText = fields[COLUMN_COUNT - 1]!;
    const label = labelFrom(classText);
    if (label === undefined) return new ParseError('Class', `expected 0 or 1, got ${quote(classText)}`);
    const timestampMs = context.startTimeMs + scratch[0]! * 1000;
    if (!Number.isFinite(timestampMs))
      return new ParseError('Time', `event time out of range, got ${quote(fields[0])}`);
    return {
      id: context.id,
      timestampMs,
      cardId: '',
      terminalId: '',
      amount,
      channel: 'unknown',
      features: creditcardFeatures(scratch),
      label,
      format: 'lab',
    };
  } catch (error) {
    return unexpected(error);
  }
}
