import type { Decision, ScoredTransaction } from '../../src/store/index.js';
import { scored } from '../store/store-conformance.js';

/** A scored transaction for dashboard tests, with optional ids and reasons (to try the page's escaping). */
export function record(
  i: number,
  processedAtMs: number,
  decision: Decision,
  fraudScore: number,
  overrides: { transactionId?: string; reason?: string } = {},
): ScoredTransaction {
  const r = scored(i, processedAtMs, decision, fraudScore);
  return {
    ...r,
    transaction: { ...r.transaction, id: overrides.transactionId ?? r.transaction.id },
    reasons: overrides.reason ? [{ name: overrides.reason, contribution: 0.4, source: 'rule' }] : r.reasons,
  };
}

/** One event of a server-sent event stream. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Reads server-sent events from a fetch response body, one at a time. Frames are separated by
 * a blank line; `event:` names the event (default `message`), `data:` lines carry its text.
 */
export class SseReader {
  private buffer = '';
  private readonly decoder = new TextDecoder();
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  /** The next event with data, or undefined when the stream ended. */
  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const frame = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) return { event, data: data.join('\n') };
        continue;
      }
      const { done, value } = await this.reader.read();
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Reads events until `accept` returns true for one; fails if the stream ends first. */
  async until(accept: (event: SseEvent) => boolean): Promise<SseEvent> {
    for (;;) {
      const event = await this.next();
      if (!event) throw new Error('the event stream ended');
      if (accept(event)) return event;
    }
  }

  async cancel(): Promise<void> {
    await this.reader.cancel();
  }
}
