/**
 * Structured JSON logs (pino) on standard error. Per-batch summaries at `info`; per-record stage
 * lines at `debug` that mirror the reference lab's CloudWatch markers (`persistTransactionalData`,
 * `makeInferences`, `persistMLScores`). Connection strings pass through `redactUrl` first and no
 * option holding a secret is ever logged.
 */
import { destination, type Logger, pino } from 'pino';

export type { Logger };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A logger writing JSON lines to standard error (standard output stays free for data). */
export function createLogger(level: LogLevel = 'info', name = 'fraudstream'): Logger {
  return pino(
    {
      name,
      level,
      // Belt and braces: whatever reaches a log line under these keys is masked.
      redact: {
        paths: ['password', '*.password', 'url', '*.url', 'authorization', '*.secretAccessKey'],
        censor: '***',
      },
    },
    destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
