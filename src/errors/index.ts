/**
 * Error classes of fraudstream. Code branches on the class (`instanceof`), never on message text.
 *
 * - {@link ParseError}: one record could not be turned into a transaction (field + reason).
 * - {@link PoisonRecordError}: a record that will never succeed; it goes to the dead-letter destination.
 * - {@link TransientStoreError}: the store or transport failed in a way worth retrying.
 * - {@link ConfigError}: options, flags or a config file are invalid; raised once at construction.
 * - {@link NotAvailableError}: a feature that exists in the CLI but not in this build or environment.
 * - {@link ListenError}: a server (the dashboard) could not listen on its host and port.
 * - {@link BadRequestError}: an HTTP request is malformed (answered with 400, field and reason).
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

/** A store or transport operation failed transiently (connection lost, timeout); retrying may succeed. */
export class TransientStoreError extends FraudstreamError {
  override name = 'TransientStoreError';
}

/** Invalid configuration: a flag, environment variable, config file entry or options object. */
export class ConfigError extends FraudstreamError {
  override name = 'ConfigError';
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
