import { Command, Option } from 'commander';
import { redactUrl } from '../config/index.js';
import { type Pacing, type ProduceFormat, type ProduceSummary, produce } from '../producer/index.js';
import { LineWriter, MemoryTransport, type StreamWriter } from '../transports/index.js';
import { intArg, positiveArg, seedOption } from './args.js';
import { type KinesisFlags, openStreamWriter, type RedisFlags } from './connections.js';
import { formatCount, progressLine, ratePerSecond } from './progress.js';
import { addSimulatorSizeOptions, openSource } from './sources.js';

interface ProduceFlags extends RedisFlags, KinesisFlags {
  customers?: number;
  terminals?: number;
  source: string;
  to: string;
  format: ProduceFormat;
  rate?: number;
  pacing?: 'lab';
  max?: boolean;
  count?: number;
  seed?: number;
  split: 'all' | 'train' | 'test';
  resumeFile?: string;
  days?: number;
  now?: boolean;
}

export function produceCommand(): Command {
  const command = new Command('produce')
    .description('Send transactions from a source into a stream (or stdout as JSON lines).')
    .requiredOption(
      '--source <spec>',
      'simulator | synthetic-creditcard | creditcard:PATH | sparkov:PATH | jsonl:PATH',
    )
    .option('--to <dest>', 'stdout | memory | redis://HOST:PORT | kinesis://STREAM', 'stdout')
    .addOption(
      new Option('--format <format>', 'wire format of transactions (jsonl: sources are passed on unchanged)')
        .choices(['auto', 'lab', 'native'])
        .default('auto'),
    )
    .addOption(
      new Option('--rate <n>', 'records per second').argParser(positiveArg).conflicts(['pacing', 'max']),
    )
    .addOption(
      new Option(
        '--pacing <kind>',
        "lab: sleep Poisson(1)+U(0,1) s between records, as the lab's producer2.py",
      )
        .choices(['lab'])
        .conflicts(['max']),
    )
    .option('--max', 'as fast as possible (the default when no rate or pacing is given)')
    .option('--count <n>', 'stop after n records', intArg)
    .addOption(seedOption())
    .addOption(
      new Option('--split <part>', 'creditcard: the lab 10% hold-out (test), the rest (train), or all')
        .choices(['all', 'train', 'test'])
        .default('all'),
    )
    .option('--resume-file <path>', "sparkov: position file to resume from, like the lab's last_line.txt")
    .option('--days <n>', 'simulator: number of days to simulate', intArg)
    .option('--now', "stamp transactions with the send time, as the lab's producer does")
    .option('--shards <n>', 'redis: stream keys to spread cards over', intArg)
    .option('--stream <name>', 'redis: stream base name (default fraudstream:tx)')
    .option('--kinesis-endpoint <url>', 'kinesis: endpoint (kinesalite, LocalStack); env KINESIS_ENDPOINT')
    .option('--create-stream', 'kinesis: create the stream if missing (with --shards shards)')
    .option('--redis-cluster', 'redis: the URL is a seed node of a Redis Cluster')
    .action(async (flags: ProduceFlags) => {
      await runProduce(flags);
    });
  return addSimulatorSizeOptions(command);
}

async function runProduce(flags: ProduceFlags): Promise<void> {
  const source = openSource(flags.source, {
    ...(flags.customers !== undefined && { customers: flags.customers }),
    ...(flags.terminals !== undefined && { terminals: flags.terminals }),
    ...(flags.seed !== undefined && { seed: flags.seed }),
    ...(flags.count !== undefined && { count: flags.count }),
    split: flags.split,
    ...(flags.resumeFile !== undefined && { resumeFile: flags.resumeFile }),
    ...(flags.days !== undefined && { days: flags.days }),
  });
  const pacing: Pacing =
    flags.rate !== undefined
      ? { kind: 'rate', perSecond: flags.rate }
      : flags.pacing === 'lab'
        ? { kind: 'lab' }
        : { kind: 'max' };
  const { writer, finish } = openLocalDestination(flags.to) ?? (await openRemote(flags));
  // `--to` may carry a password (redis://:secret@host); it is printed redacted.
  const destination = redactUrl(flags.to);
  const line = progressLine();
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let summary: ProduceSummary;
  try {
    summary = await produce(source, writer, {
      format: flags.format,
      pacing,
      ...(flags.count !== undefined && { count: flags.count }),
      ...(flags.seed !== undefined && { seed: flags.seed }),
      stampNow: flags.now === true,
      signal: abort.signal,
      onProgress: (p) =>
        line.update(
          `produce ${source.name} -> ${destination}: sent ${formatCount(p.sent)} (${formatCount(ratePerSecond(p.sent, p.elapsedMs))}/s), errors ${formatCount(p.errors)}`,
        ),
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await writer.close();
    await finish();
  }
  const reasons = Object.entries(summary.errorReasons)
    .map(([reason, n]) => `${n}x ${reason}`)
    .join('; ');
  line.done(
    `produced ${formatCount(summary.sent)} records from ${source.name} to ${destination} in ${(summary.elapsedMs / 1000).toFixed(2)} s (${formatCount(ratePerSecond(summary.sent, summary.elapsedMs))}/s), errors ${formatCount(summary.errors)}${reasons ? `: ${reasons}` : ''}`,
  );
}

async function openRemote(
  flags: ProduceFlags,
): Promise<{ writer: StreamWriter; finish: () => Promise<void> }> {
  const { writer, close } = await openStreamWriter(flags.to, flags);
  return { writer, finish: close };
}

/** A writer for the in-process destinations of `--to`, and what to do once producing is over. */
function openLocalDestination(to: string): { writer: StreamWriter; finish: () => Promise<void> } | undefined {
  if (to === 'stdout' || to === '-')
    return { writer: new LineWriter(process.stdout), finish: async () => {} };
  if (to === 'memory') {
    // Nothing else lives in this process to read it, so a reader drains and acknowledges: this
    // exercises the in-process path and measures the producer on its own.
    const transport = new MemoryTransport();
    const reader = transport.reader();
    const draining = (async () => {
      for await (const batch of reader) await reader.ack(batch);
    })();
    return {
      writer: transport.writer(),
      finish: async () => {
        transport.end();
        await draining;
      },
    };
  }
  return undefined;
}
