import { FraudstreamError } from '../../errors/index.js';

/** Error names of the Kinesis API (and of the SDK's transport layer) worth retrying. */
const TRANSIENT_NAMES: ReadonlySet<string> = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'InternalFailureException',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'ThrottlingException',
  'KMSThrottlingException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** Node socket error codes of a lost or refused connection. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/**
 * Whether a Kinesis call failed in a way a later retry may fix: throttling, a server error, a
 * lost connection. The SDK has already retried such errors a few times before they reach us.
 */
export function isTransientKinesisError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & {
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
    code?: unknown;
  };
  if (e.$retryable) return true;
  if (TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

/**
 * Orders two Kinesis sequence numbers (decimal strings of up to 128 digits, no leading zeros):
 * negative, zero or positive like a comparator.
 */
export function compareSequenceNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `<shardId>/<sequenceNumber>`, the position of a Kinesis record. */
export function kinesisPosition(shardId: string, sequenceNumber: string): string {
  return `${shardId}/${sequenceNumber}`;
}

/** Splits a position made by {@link kinesisPosition}. */
export function splitKinesisPosition(position: string): [shardId: string, sequenceNumber: string] {
  const slash = position.lastIndexOf('/');
  if (slash <= 0 || slash === position.length - 1) {
    throw new FraudstreamError(`not a Kinesis record position: ${position}`);
  }
  return [position.slice(0, slash), position.slice(slash + 1)];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
