import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { Transaction } from '../../src/events/index.js';
import type { Source, SourceRecord } from '../../src/sources/index.js';

/** A temporary directory for this test file, removed when its tests are done. */
export function tempDir(prefix: string): (name: string) => string {
  const dir = mkdtempSync(join(tmpdir(), `fraudstream-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return (name: string) => join(dir, name);
}

export async function collect(source: Source, limit = Number.POSITIVE_INFINITY): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const record of source.records()) {
    out.push(record);
    if (out.length >= limit) break;
  }
  return out;
}

export function transactions(records: SourceRecord[]): Transaction[] {
  return records.map((r) => {
    if (r.kind !== 'transaction') throw new Error(`expected a transaction, got ${r.kind}`);
    return r.transaction;
  });
}
