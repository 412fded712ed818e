import type { Writable } from 'node:stream';
import type { OutgoingRecord, StreamWriter } from './types.js';

/**
 * Writes one payload per line (JSON lines) to a byte stream, normally standard output, for
 * piping into files or other tools. Honours the stream's backpressure.
 */
export class LineWriter implements StreamWriter {
  constructor(private readonly out: Writable = process.stdout) {}

  async publish(records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    let text = '';
    for (const r of records) text += `${r.payload}\n`;
    if (!this.out.write(text)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = (): void => {
          this.out.off('error', onError);
          resolve();
        };
        const onError = (err: Error): void => {
          this.out.off('drain', onDrain);
          reject(err);
        };
        this.out.once('drain', onDrain);
        this.out.once('error', onError);
      });
    }
  }

  async close(): Promise<void> {}
}
