import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks `Authorization: Bearer <key>` headers against one key in constant time: both sides are
 * hashed first (SHA-256), so the comparison neither leaks the key's length nor where the first
 * differing byte is. The key itself is kept only as its hash.
 */
export class ApiKeyCheck {
  private readonly expected: Buffer;

  constructor(key: string) {
    this.expected = digest(key);
  }

  /** Whether an `Authorization` header carries the key. */
  accepts(header: string | undefined): boolean {
    const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    // Hash something on every path, so a missing header costs what a wrong key costs.
    const given = digest(match?.[1] ?? '');
    return timingSafeEqual(given, this.expected) && match !== null;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
