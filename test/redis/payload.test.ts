import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { capPayload } from '../../src/redis/index.js';

const sha = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

describe('capPayload', () => {
  it('keeps a payload within the cap whole, with its size and hash', () => {
    expect(capPayload('{"a":1}', 7)).toEqual({
      payload: '{"a":1}',
      bytes: 7,
      sha256: sha('{"a":1}'),
      truncated: false,
    });
  });

  it('cuts a longer payload at a UTF-8 character boundary and describes the original', () => {
    // 'a' 1 byte, 'é' 2, '東' 3: 10 bytes; cuts at 5 and at 7 or 8 would split a '東'.
    const payload = 'aé東東x';
    const capped = capPayload(payload, 5);
    expect(capped).toEqual({ payload: 'aé', bytes: 10, sha256: sha(payload), truncated: true });
    expect(capPayload(payload, 6).payload).toBe('aé東');
    expect(capPayload(payload, 8).payload).toBe('aé東');
    expect(capPayload(payload, 9).payload).toBe('aé東東');
    expect(capPayload('東', 1).payload).toBe('');
  });
});
