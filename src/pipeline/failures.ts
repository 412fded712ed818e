/**
 * Telling a broken store from a bad record. A batch that fails is either the store's fault (it
 * is down, out of memory, refuses a script or a module command: every record would fail the
 * same way) or one record's fault (it cannot be serialized or stored). The first must cost
 * nothing: the batch is held and retried. The second must cost only that record: the batch is
 * bisected (as AWS Lambda's BisectBatchOnFunctionError does) until the record is alone.
 */
import { ClosedError, RemoteModelError, StoreError } from '../errors/index.js';

/**
 * Whether `error` means the store, feature state or transport failed as a whole. Decided on the
 * class: {@link StoreError} (and its `TransientStoreError`), a transport used after close, a
 * remote model endpoint that failed ({@link RemoteModelError}), and
 * Node.js system errors (`ECONNREFUSED`, `ETIMEDOUT`…). Any other error is taken as caused by a
 * record, and the batch is bisected to find it.
 */
export function isStoreFailure(error: unknown): boolean {
  // A remote model endpoint that fails (under the `retry` fallback) is a dependency down, like the store.
  if (error instanceof StoreError || error instanceof ClosedError || error instanceof RemoteModelError)
    return true;
  const system = error as NodeJS.ErrnoException | undefined;
  return typeof system?.syscall === 'string' && typeof system.code === 'string';
}

/** A record that failed on its own, by index in the bisected array. */
export interface RecordFailure {
  index: number;
  error: unknown;
}

/**
 * Runs `attempt` over `items` (one call in the normal case). When it throws an error that is not
 * a store failure, the range is halved and each half attempted in order, down to single items;
 * the items that still fail alone are returned. A store failure is rethrown at once: the caller
 * retries the whole range later (attempts must be idempotent, as store writes and window-state
 * updates are). When every item of a range of two or more fails alone, no record is to blame:
 * that is thrown as a {@link StoreError}, so a store that fails every call with an unclassified
 * error still holds the batch instead of dead-lettering all of it.
 */
export async function bisect<T>(
  items: readonly T[],
  attempt: (part: readonly T[], offset: number) => Promise<void>,
): Promise<RecordFailure[]> {
  const failures: RecordFailure[] = [];
  const run = async (from: number, to: number): Promise<void> => {
    try {
      await attempt(from === 0 && to === items.length ? items : items.slice(from, to), from);
    } catch (error) {
      if (isStoreFailure(error)) throw error;
      if (to - from === 1) {
        failures.push({ index: from, error });
        return;
      }
      const mid = (from + to) >>> 1;
      await run(from, mid);
      await run(mid, to);
    }
  };
  if (items.length === 0) return failures;
  await run(0, items.length);
  if (items.length > 1 && failures.length === items.length) {
    const first = failures[0]!.error;
    throw new StoreError(
      `every record of the batch failed on its own, so the store is at fault: ${first instanceof Error ? first.message : String(first)}`,
      { cause: first },
    );
  }
  return failures;
}

/** `Name: message` of an error, on one line and bounded (it goes into logs, metrics and dead letters). */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const line = text.replace(/\s+/g, ' ');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
