/**
 * Error classes of fraudstream. Code branches on the class (`instanceof`), never on message text.
 *
 * - {@link ParseError}: one record could not be turned into a transaction (field + reason).
 * - {@link PoisonRecordError}: a record that will never succeed; it goes to the dead-letter destination.
 * - {@link StoreError}: the store, feature state or transport failed as a whole (a server error
 *   reply such as `ERR`, `OOM`, `NOSCRIPT`, a module error); no single record is the cause.
 * - {@link TransientStoreError}: a {@link StoreError} that is expected to pass (connection lost, timeout).
 * - {@link RecordError}: one record made the store fail; the pipeline isolates and dead-letters it.
 * - {@link EventTimeError}: a record's event time is too far ahead of the stream's; it is dead-lettered.
 * - {@link StallError}: the store kept failing longer than the consumer may wait.
 * - {@link ConfigError}: options, flags or a config file are invalid; raised once at construction.
 * - {@link BundleError}: a model bundle is unreadable, corrupted, or incompatible with the running state.
 * - {@link NotAvailableError}: a feature that exists in the CLI but not in this build or environment.
 * - {@link ListenError}: a server (the dashboard) could not listen on its host and port.
 * - {@link BadRequestError}: an HTTP request is malformed (answered with 400, field and reason).
 * - {@link RemoteModelError}: a remote model endpoint failed or timed out.
 */

/** Base class of every error fraudstream throws on purpose. */
export class FraudstreamError extends Error {
  override name = 'FraudstreamError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A payload could not be parsed into a transaction. Carries the offending field and a short reason. */
export class ParseError extends FraudstreamError {
  override name = 'ParseError';
  /** Dotted name of the field at fault, or `'payload'` for the record as a whole. */
  readonly field: string;
  /** One-line human-readable reason, e.g. `expected a finite number, got "abc"`. */
  readonly reason: string;
  constructor(field: string, reason: string, options?: { cause?: unknown }) {
    super(`${field}: ${reason}`, options);
    this.field = field;
    this.reason = reason;
  }
}

/** A record that cannot ever be processed; the pipeline dead-letters it with its raw payload. */
export class PoisonRecordError extends FraudstreamError {
  override name = 'PoisonRecordError';
  /** The raw payload exactly as it was received. */
  readonly payload: string;
  constructor(message: string, payload: string, options?: { cause?: unknown }) {
    super(message, options);
    this.payload = payload;
  }
}

/**
 * The store, the feature state or the transport failed and no single record is the cause: the
 * server answered an error (`ERR`, `OOM`, `NOSCRIPT`, a module's error) or could not be reached.
 * The consumer holds the batch, unacknowledged, and retries it; it never dead-letters for this.
 */
export class StoreError extends FraudstreamError {
  override name = 'StoreError';
}

/** A store or transport operation failed transiently (connection lost, timeout); retrying may succeed. */
export class TransientStoreError extends StoreError {
  override name = 'TransientStoreError';
}

/**
 * One record cannot be stored (e.g. its document cannot be serialized). Stores throw it for the
 * record at fault; the consumer also classifies any error that is not a {@link StoreError} this
 * way and bisects the batch to find the record.
 */
export class RecordError extends FraudstreamError {
  override name = 'RecordError';
}

/** A record's event time is further ahead of the stream's high-water mark than the tolerance allows. */
export class EventTimeError extends ParseError {
  override name = 'EventTimeError';
  /** The record's event time, epoch ms. */
  readonly timestampMs: number;
  /** What it was compared with: the stream's high-water mark or the wall clock, whichever is later, epoch ms. */
  readonly referenceMs: number;
  /** The tolerance, in ms. */
  readonly maxFutureSkewMs: number;
  constructor(timestampMs: number, referenceMs: number, maxFutureSkewMs: number) {
    super(
      'timestamp',
      `${isoOrNumber(timestampMs)} is more than ${maxFutureSkewMs} ms ahead of the stream (high-water mark or clock ${isoOrNumber(referenceMs)})`,
    );
    this.timestampMs = timestampMs;
    this.referenceMs = referenceMs;
    this.maxFutureSkewMs = maxFutureSkewMs;
  }
}

/** The store (or feature state, or transport) kept failing longer than the consumer's `maxStallMs`. */
export class StallError extends FraudstreamError {
  override name = 'StallError';
  /** How long the consumer had been stalled, in ms. */
  readonly stalledMs: number;
  constructor(stalledMs: number, options?: { cause?: unknown }) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`the store has been failing for ${Math.round(stalledMs / 1000)} s${cause}`, options);
    this.stalledMs = stalledMs;
  }
}

/** Invalid configuration: a flag, environment variable, config file entry or options object. */
export class ConfigError extends FraudstreamError {
  override name = 'ConfigError';
}

/**
 * A model bundle cannot be used: unreadable, malformed, a model file whose SHA-256 differs from
 * the manifest's (corrupted or changed after training), or — on a hot reload — incompatible with
 * the running feature state. A {@link ConfigError}, so callers that stop on bad configuration
 * stop on it too.
 */
export class BundleError extends ConfigError {
  override name = 'BundleError';
  /** The bundle directory. */
  readonly dir: string;
  constructor(dir: string, message: string, options?: { cause?: unknown }) {
    super(`model bundle ${dir}: ${message}`, options);
    this.dir = dir;
  }
}

/** A requested capability is not available (not built yet, or missing from the environment). */
export class NotAvailableError extends FraudstreamError {
  override name = 'NotAvailableError';
}

/** A transport was used after `close()`. */
export class ClosedError extends FraudstreamError {
  override name = 'ClosedError';
}

/** A bounded buffer is full and the caller asked not to wait. */
export class BackpressureError extends FraudstreamError {
  override name = 'BackpressureError';
}

/** A server could not listen on its address: the port is taken, or binding it is not permitted. */
export class ListenError extends FraudstreamError {
  override name = 'ListenError';
  readonly host: string;
  readonly port: number;
  /** The system error code, e.g. `EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`. */
  readonly code: string;
  constructor(host: string, port: number, code: string, options?: { cause?: unknown }) {
    const why =
      code === 'EADDRINUSE' ? 'is in use' : code === 'EACCES' ? 'is not permitted' : `failed (${code})`;
    super(`listening on ${host}:${port} ${why}`, options);
    this.host = host;
    this.port = port;
    this.code = code;
  }
}

/**
 * A remote model (a SageMaker endpoint or `fraudstream serve-model`) failed, timed out or answered
 * something unreadable. Retrying may succeed; the scorer's endpoint fallback decides what happens.
 */
export class RemoteModelError extends FraudstreamError {
  override name = 'RemoteModelError';
  /** The endpoint's name (never a URL with credentials). */
  readonly endpoint: string;
  constructor(endpoint: string, message: string, options?: { cause?: unknown }) {
    super(`endpoint ${endpoint}: ${message}`, options);
    this.endpoint = endpoint;
  }
}

/** One thing wrong with a request: where and why. */
export interface RequestIssue {
  /** Path of the offending field, e.g. `transactions[3].amount`, or `body`. */
  field: string;
  reason: string;
}

/** An HTTP request that cannot be served as sent (answered with 400, nothing done). */
export class BadRequestError extends FraudstreamError {
  override name = 'BadRequestError';
  /** Every problem found, the first one also in {@link field} and {@link reason}. */
  readonly issues: readonly RequestIssue[];
  readonly field: string;
  readonly reason: string;
  constructor(issues: readonly RequestIssue[]) {
    const first = issues[0] ?? { field: 'body', reason: 'is not valid' };
    super(`${first.field}: ${first.reason}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`);
    this.issues = issues;
    this.field = first.field;
    this.reason = first.reason;
  }
}

function isoOrNumber(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}
