export type { CreditcardRowContext } from './creditcard.js';
export { CREDITCARD_CSV_COLUMNS, CREDITCARD_START_TIME_MS, parseCreditcardCsvLine } from './creditcard.js';
export { splitCsvLine } from './csv.js';
export type { LabEnvelopeOptions } from './lab.js';
export { parseLabEnvelope, toLabEnvelope } from './lab.js';
export { NATIVE_FIELDS, parseNativeTransaction, toNativeJson } from './native.js';
export { detectPayloadFormat, parsePayload } from './payload.js';
export {
  parseSparkovCsvLine,
  parseSparkovRecord,
  SPARKOV_COLUMNS,
  SPARKOV_FEATURE_COLUMNS,
  SPARKOV_REQUIRED_COLUMNS,
} from './sparkov.js';
export type { Channel, Feedback, Label, PayloadFormat, RecordKeyMode, Transaction } from './transaction.js';
export {
  CREDITCARD_COLUMNS,
  creditcardFeatures,
  DEFAULT_RECORD_KEY_MODE,
  isRecordKeyMode,
  PAYLOAD_FORMATS,
  RECORD_KEY_MODES,
  recordKey,
} from './transaction.js';
export type { ParseLimits } from './validation.js';
export {
  DEFAULT_PARSE_LIMITS,
  formatPythonFloat,
  MAX_AMOUNT,
  MAX_EXTRA_CHARS,
  MAX_EXTRA_DEPTH,
  MAX_PAYLOAD_BYTES,
  MAX_TIMESTAMP_MS,
  MIN_TIMESTAMP_MS,
  parseUtcDateTime,
  resolveParseLimits,
} from './validation.js';
