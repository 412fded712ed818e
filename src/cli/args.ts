/**
 * Argument parsers and options shared by the command files. They live apart from `program.ts`,
 * which imports every command, so that no command file has to import the program back.
 */
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_RECORD_KEY_MODE, RECORD_KEY_MODES } from '../events/index.js';

/** Parses a non-negative integer flag. */
export function intArg(value: string): number {
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

/** Parses a positive number flag. */
export function positiveArg(value: string): number {
  const n = Number(value.replaceAll('_', ''));
  if (!(Number.isFinite(n) && n > 0))
    throw new InvalidArgumentError(`expected a positive number, got "${value}"`);
  return n;
}

/** `--seed`, shared by every command that generates or samples. */
export function seedOption(): Option {
  return new Option('--seed <n>', 'seed: selects the simulated world, synthetic rows and hold-out').argParser(
    intArg,
  );
}

/** `--record-key`, shared by the commands that persist scored records (see `RecordKeyMode`). */
export function recordKeyOption(): Option {
  return new Option(
    '--record-key <mode>',
    'how stored records are keyed: id (a transaction sent twice is stored once), id@position (ids may repeat), auto (native and Sparkov by id, lab envelopes by id@position)',
  )
    .choices(RECORD_KEY_MODES)
    .default(DEFAULT_RECORD_KEY_MODE);
}
