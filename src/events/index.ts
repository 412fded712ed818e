export type { Channel, Feedback, Label, PayloadFormat, Transaction } from './transaction.js';
export { CREDITCARD_COLUMNS, PAYLOAD_FORMATS, recordKey } from './transaction.js';
