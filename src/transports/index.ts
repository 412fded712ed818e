export type { FullPolicy, MemoryTransportOptions } from './memory.js';
export {
  DEFAULT_MEMORY_TRANSPORT_OPTIONS,
  MemoryTransport,
  resolveMemoryTransportOptions,
} from './memory.js';
export { LineWriter } from './stdout.js';
export type { DeliveredRecord, OutgoingRecord, ReadOptions, StreamReader, StreamWriter } from './types.js';
export { DEFAULT_READ_OPTIONS } from './types.js';
