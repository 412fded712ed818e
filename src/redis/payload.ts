import { createHash } from 'node:crypto';

/** A payload as kept in a dead letter: at most a size cap, plus what identifies the original. */
export interface CappedPayload {
  /** The payload, cut at a UTF-8 character boundary when longer than the cap. */
  payload: string;
  /** Full size of the original payload in UTF-8 bytes. */
  bytes: number;
  /** Hex SHA-256 of the original payload's UTF-8 bytes. */
  sha256: string;
  /** Whether `payload` is shorter than the original. */
  truncated: boolean;
}

/**
 * Caps a dead-letter payload at `maxBytes` UTF-8 bytes. A malformed record can be arbitrarily
 * large, and dead letters are kept for inspection, not replay: the first `maxBytes` show what
 * went wrong, the size and hash identify the original in the producer's logs or files.
 */
export function capPayload(payload: string, maxBytes: number): CappedPayload {
  const utf8 = Buffer.from(payload, 'utf8');
  const sha256 = createHash('sha256').update(utf8).digest('hex');
  if (utf8.length <= maxBytes) return { payload, bytes: utf8.length, sha256, truncated: false };
  // Step back over continuation bytes (10xxxxxx) so no character is split.
  let cut = maxBytes;
  while (cut > 0 && (utf8[cut]! & 0xc0) === 0x80) cut--;
  return { payload: utf8.subarray(0, cut).toString('utf8'), bytes: utf8.length, sha256, truncated: true };
}
