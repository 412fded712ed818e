import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { MemoryCardHistoryState, resolveCardHistoryOptions } from '../../src/features/index.js';
import { describeCardHistoryConformance } from './card-history-conformance.js';

describeCardHistoryConformance('MemoryCardHistoryState', (options) => new MemoryCardHistoryState(options));

describe('MemoryCardHistoryState', () => {
  it('rejects a bad horizon and a short output buffer with ConfigError', async () => {
    expect(() => resolveCardHistoryOptions({ horizonDays: 0 })).toThrow(ConfigError);
    expect(() => resolveCardHistoryOptions({ horizonDays: Number.NaN })).toThrow(ConfigError);
    const e = { key: 'a', cardId: 'c', terminalId: 't', timestampMs: 0, amount: 1 };
    await expect(new MemoryCardHistoryState().updateAndRead([e], new Float64Array(6))).rejects.toThrow(
      ConfigError,
    );
  });
});
