/**
 * Live progress on standard error: a line rewritten in place on a terminal, nothing but the
 * final summary otherwise (so logs and pipes stay clean). Standard output is left to data.
 */
export interface ProgressLine {
  /** Shows `text` as the current state (throttled by the caller). */
  update(text: string): void;
  /** Replaces the live line by a final line that stays. */
  done(text: string): void;
}

export function progressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  const live = stream.isTTY === true;
  let shown = false;
  return {
    update(text) {
      if (!live) return;
      stream.write(`\r\x1b[2K${text}`);
      shown = true;
    },
    done(text) {
      if (live && shown) stream.write('\r\x1b[2K');
      stream.write(`${text}\n`);
    },
  };
}

/** A text progress bar, e.g. `[#####-----] 50%`. */
export function bar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}

/** 12345.6 → "12,346". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Records per second from a count and elapsed milliseconds. */
export function ratePerSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}
