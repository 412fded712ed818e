/**
 * Test harness for tests that need Kinesis: starts kinesalite (a Kinesis API server, in memory)
 * in this process on a free port of 127.0.0.1, and stops it. Every suite gets its own server,
 * so tests never touch a real AWS account or another suite's streams.
 */

import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/** A running kinesalite started by {@link startKinesalite}. */
export interface KinesaliteHandle {
  /** `http://127.0.0.1:<port>`, for the transport's `endpoint` option. */
  endpoint: string;
  /** Closes the server, dropping open keep-alive connections. */
  stop(): Promise<void>;
}

/** Static fake credentials: kinesalite checks that requests are signed, not by whom. */
export const KINESALITE_CREDENTIALS = { accessKeyId: 'kinesalite', secretAccessKey: 'kinesalite' } as const;

type KinesaliteFactory = (options: {
  createStreamMs: number;
  deleteStreamMs: number;
  updateStreamMs: number;
  shardLimit: number;
}) => Server;

/** Starts kinesalite with near-instant stream creation and room for 100 shards. */
export async function startKinesalite(): Promise<KinesaliteHandle> {
  // kinesalite is CommonJS without types.
  const kinesalite = createRequire(import.meta.url)('kinesalite') as KinesaliteFactory;
  const server = kinesalite({ createStreamMs: 5, deleteStreamMs: 5, updateStreamMs: 5, shardLimit: 100 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Port 0: the kernel picks a free port, so there is no race with other suites.
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop() {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
