#!/usr/bin/env node
import { FraudstreamError } from '../errors/index.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  // Expected failures (bad flags, bad files, unreachable services) get one clear line, not a stack.
  if (err instanceof FraudstreamError) {
    process.stderr.write(`fraudstream: ${err.message}\n`);
    process.exit(2);
  }
  const io = err as NodeJS.ErrnoException;
  if (io?.syscall && io.code) {
    const what = io.path ? `${io.path}: ` : '';
    process.stderr.write(
      `fraudstream: ${what}${io.code === 'ENOENT' ? 'no such file or directory' : io.message}\n`,
    );
    process.exit(2);
  }
  throw err;
}
