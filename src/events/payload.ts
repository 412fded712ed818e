/** Format detection: one entry point for payloads whose format is known only per record. */
import { ParseError } from '../errors/index.js';
import { labFromObject } from './lab.js';
import { nativeFromObject } from './native.js';
import { parseSparkovCsvLine, sparkovFromObject } from './sparkov.js';
import type { PayloadFormat, Transaction } from './transaction.js';
import {
  type ParseLimits,
  parseJsonObject,
  payloadText,
  resolveParseLimits,
  unexpected,
} from './validation.js';

/** Which format a parsed JSON object is in: `data` + `metadata` → lab, `trans_num` or `cc_num` → Sparkov, else native. */
export function detectPayloadFormat(obj: Record<string, unknown>): PayloadFormat {
  if (obj.data !== undefined && obj.metadata !== undefined) return 'lab';
  if (obj.trans_num !== undefined || obj.cc_num !== undefined) return 'sparkov';
  return 'native';
}

/**
 * Parses a payload in any supported format, detected per payload (see
 * {@link detectPayloadFormat}) unless `hint` fixes it. With hint `'sparkov'`, a payload that
 * does not start with `{` is read as a CSV line. One `JSON.parse` per payload; never throws.
 * A payload past one of the structural `limits` (size, unknown fields' depth and size) gives a
 * {@link ParseError} too.
 */
export function parsePayload(
  payload: string | Uint8Array,
  hint?: PayloadFormat,
  limits?: ParseLimits,
): Transaction | ParseError {
  try {
    const resolved = resolveParseLimits(limits);
    const text = payloadText(payload, resolved.maxPayloadBytes);
    if (text instanceof ParseError) return text;
    if (hint === 'sparkov' && text.trimStart()[0] !== '{')
      return parseSparkovCsvLine(text, undefined, resolved);
    const obj = parseJsonObject(text);
    if (obj instanceof ParseError) return obj;
    switch (hint ?? detectPayloadFormat(obj)) {
      case 'lab':
        return labFromObject(obj, resolved);
      case 'sparkov':
        return sparkovFromObject(obj, text, resolved);
      default:
        return nativeFromObject(obj, text, resolved);
    }
  } catch (error) {
    return unexpected(error);
  }
}
