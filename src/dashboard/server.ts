import type { ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { type FastifyInstance, type FastifyReply, fastify } from 'fastify';
import { FraudstreamError, ListenError } from '../errors/index.js';
import { type Logger, silentLogger } from '../logging/index.js';
import {
  COUNTER_INTERVALS_MS,
  SCORE_SERIES,
  type ScoreSeriesName,
  type SeriesAggregation,
} from '../store/index.js';
import { loadAssets } from './assets.js';
import { type DashboardOptions, type ResolvedDashboardOptions, resolveDashboardOptions } from './options.js';
import { renderPage } from './page.js';
import { choiceParam, InvalidQueryError, intParam, type Query } from './query.js';
import { type DashboardSnapshot, readSnapshot, SCORE_SERIES_LABELS, summarizePipeline } from './snapshot.js';
import './route-docs.js';
import { registerTransactionReads } from './transactions.js';

/** A running dashboard. */
export interface DashboardHandle {
  /** Where the page is, e.g. `http://127.0.0.1:8080/` (the real port when started with port 0). */
  readonly url: string;
  /** Replaces the facts shown in the series-info panel (e.g. the model version once trained). */
  setInfo(info: Readonly<Record<string, string>>): void;
  /** Ends every open event stream and stops the server. Safe to call twice. */
  close(): Promise<void>;
}

const AGGREGATIONS: readonly SeriesAggregation[] = ['avg', 'max', 'count', 'sum'];
const MAX_MINUTES = 60;
const MAX_LIMIT = 1_000;
/** How long a disconnected page waits before reconnecting to `/events`, in ms. */
const RECONNECT_MS = 2_000;

// The page loads only its own files and talks only to its own server.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/**
 * Starts the live web dashboard over a {@link Store}: the page at `/`, a JSON API under `/api/`,
 * and `/events`, a server-sent event stream that pushes a {@link DashboardSnapshot} every
 * `pushIntervalMs` to each open page. It only reads from the store.
 */
export async function startDashboard(options: DashboardOptions): Promise<DashboardHandle> {
  const o = resolveDashboardOptions(options);
  let info = o.info;
  const app = buildApp(o, () => info);
  try {
    await app.listen({ port: o.port, host: o.host });
  } catch (err) {
    await app.close();
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    throw new ListenError(o.host, o.port, code, { cause: err });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(o.host)}:${port}/`,
    setInfo(next) {
      info = { ...next };
    },
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}

/** The fastify app of the dashboard, not yet listening; `app.inject` tests it without a socket. */
function buildApp(
  o: ResolvedDashboardOptions,
  info: () => Readonly<Record<string, string>>,
): FastifyInstance {
  const log = o.logger ?? silentLogger();
  const app = fastify({ logger: false, forceCloseConnections: 'idle' });
  guardServer(app, o.host);
  app.setErrorHandler(async (err, _request, reply) => {
    if (err instanceof InvalidQueryError) {
      return reply.code(400).send({ error: 'Bad Request', message: err.message });
    }
    // Store failures: say so without passing on the error text (it may name hosts or keys).
    log.error({ err: (err as Error).message }, 'dashboard request failed');
    return reply.code(503).send({ error: 'Service Unavailable', message: 'the store could not be read' });
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .send({ error: 'Not Found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
  registerDashboard(app, o, info);
  return app;
}

/**
 * What every server of this process adds in front of its routes: on loopback, an answer only to
 * requests addressed to a loopback name, and the page's security headers on every response.
 */
export function guardServer(app: FastifyInstance, host: string): void {
  if (isLoopback(host)) {
    // A page on another site can point a DNS name at 127.0.0.1 (DNS rebinding) and read this
    // server as its own origin; a loopback server only answers requests addressed to loopback.
    app.addHook('onRequest', async (request, reply) => {
      if (!isLoopbackHostHeader(request.headers.host)) {
        return reply
          .code(403)
          .send({ error: 'Forbidden', message: 'this server only answers loopback hosts' });
      }
      return undefined;
    });
  }
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });
}

/**
 * Registers the dashboard's routes (page, assets, `/events`, the read API under `/api/`,
 * `/metrics`) on a fastify instance, so another server (`fraudstream serve`) can host the
 * dashboard beside its own routes. The instance's error handler must answer
 * {@link InvalidQueryError} with 400; any other error of these routes is a store failure.
 */
export function registerDashboard(
  app: FastifyInstance,
  o: ResolvedDashboardOptions,
  info: () => Readonly<Record<string, string>>,
): void {
  const log = o.logger ?? silentLogger();
  const { store } = o;
  const assets = loadAssets();
  const page = renderPage(o.title);
  const events = new EventBroadcaster(o, () => snapshot(), log);

  const snapshot = (): Promise<DashboardSnapshot> =>
    readSnapshot(store, {
      windowMs: o.windowMs,
      alertLimit: o.alertLimit,
      info: info(),
      drift: o.drift?.() ?? null,
      pipeline: o.pipeline?.(),
    });
  const minutesOf = (query: Query): number =>
    intParam(query, 'minutes', 1, MAX_MINUTES, Math.round(o.windowMs / 60_000));

  // Before the server stops accepting: open event streams never end by themselves, and the
  // server's close waits for every connection.
  app.addHook('preClose', async () => events.close());

  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(page),
  );

  app.get<{ Params: { name: string } }>(
    '/assets/:name',
    { schema: { hide: true } },
    async (request, reply) => {
      const asset = assets.get(request.params.name);
      if (!asset) return reply.callNotFound();
      return reply.type(asset.contentType).header('cache-control', 'no-cache').send(asset.body);
    },
  );

  app.get(
    '/api/snapshot',
    { schema: { summary: 'Everything the dashboard page shows, once', tags: ['dashboard'] } },
    async () => snapshot(),
  );

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics (text format)', tags: ['operations'] } },
    async (_request, reply) => {
      const { metrics } = o;
      if (!metrics) {
        return reply
          .code(404)
          .send({ error: 'Not Found', message: 'no metrics are collected by this process' });
      }
      return reply.type(metrics.contentType).send(await metrics.text());
    },
  );

  app.get(
    '/api/summary',
    { schema: { summary: 'Totals, rates, window figures, series info and drift', tags: ['dashboard'] } },
    async () => {
      const s = await snapshot();
      return {
        atMs: s.atMs,
        windowMs: s.windowMs,
        totals: s.totals,
        transactionsPerSecond: s.transactionsPerSecond,
        window: s.window,
        latestFraudulent: s.latestFraudulent,
        series: s.series,
        drift: s.drift,
        info: s.info,
        pipeline: s.pipeline,
      };
    },
  );

  app.get<{ Querystring: Query }>(
    '/api/counters',
    { schema: { summary: 'Counter buckets of the store', tags: ['dashboard'] } },
    async (request) => {
      const intervalMs = choiceParam(request.query, 'interval', COUNTER_INTERVALS_MS, 10_000);
      const minutes = minutesOf(request.query);
      const toMs = Date.now();
      const fromMs = toMs - minutes * 60_000;
      return { intervalMs, fromMs, toMs, buckets: await store.counters(intervalMs, fromMs, toMs) };
    },
  );

  app.get<{ Params: { name: string }; Querystring: Query }>(
    '/api/series/:name',
    { schema: { summary: 'A score series, aggregated', tags: ['dashboard'] } },
    async (request, reply) => {
      const name = request.params.name;
      if (!(SCORE_SERIES as readonly string[]).includes(name)) {
        return reply.code(404).send({
          error: 'Not Found',
          message: `no series "${name}"; series are ${SCORE_SERIES.join(', ')}`,
        });
      }
      const bucketMs = intParam(request.query, 'bucket', 1_000, 3_600_000, 10_000);
      const type = choiceParam(request.query, 'type', AGGREGATIONS, 'avg');
      const minutes = minutesOf(request.query);
      const toMs = Date.now();
      const fromMs = toMs - minutes * 60_000;
      // Always aggregated: a raw range of `fraud-ts` holds every transaction of the period.
      const points = await store.scoreSeries(name as ScoreSeriesName, fromMs, toMs, { bucketMs, type });
      return { name, labels: SCORE_SERIES_LABELS, bucketMs, type, fromMs, toMs, points };
    },
  );

  app.get<{ Querystring: Query }>(
    '/api/alerts',
    { schema: { summary: 'Newest alerts first', tags: ['dashboard'] } },
    async (request) => ({
      alerts: await store.recentAlerts(intParam(request.query, 'limit', 1, MAX_LIMIT, o.alertLimit)),
    }),
  );

  app.get<{ Querystring: Query }>(
    '/api/dead-letters',
    { schema: { summary: 'Dead-letter count and the newest dead letters', tags: ['dashboard'] } },
    async (request) => {
      const limit = intParam(request.query, 'limit', 1, MAX_LIMIT, 20);
      const [count, items] = await Promise.all([store.countDeadLetters(), store.recentDeadLetters(limit)]);
      return { count, deadLetters: items };
    },
  );

  registerTransactionReads(app, store);

  app.get('/events', { schema: { hide: true } }, (_request, reply) => {
    if (!events.accepts()) {
      void reply.code(503).send({ error: 'Service Unavailable', message: 'too many open event streams' });
      return;
    }
    reply.hijack();
    events.add(reply);
  });
}

/**
 * The `/events` streams: one snapshot read per interval, however many pages are open, sent to
 * each as a `message` event (a `store-error` event when the store cannot be read). The timer
 * runs only while a page is connected.
 */
class EventBroadcaster {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private closed = false;

  constructor(
    private readonly o: ResolvedDashboardOptions,
    private readonly read: () => Promise<DashboardSnapshot>,
    private readonly log: Logger,
  ) {}

  accepts(): boolean {
    return !this.closed && this.clients.size < this.o.maxClients;
  }

  add(reply: FastifyReply): void {
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // The socket goes with the stream: nothing keeps the server's close waiting afterwards.
      connection: 'close',
      ...SECURITY_HEADERS,
    });
    res.write(`retry: ${RECONNECT_MS}\n\n`);
    this.clients.add(res);
    res.once('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stopTimer();
    });
    // A new page gets a snapshot now rather than after the next tick.
    void this.push([res]);
    this.timer ??= setInterval(() => void this.push([...this.clients]), this.o.pushIntervalMs).unref();
  }

  close(): void {
    this.closed = true;
    this.stopTimer();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async push(targets: ServerResponse[]): Promise<void> {
    // One read at a time: a slow store skips ticks instead of piling reads up.
    if (this.reading || targets.length === 0) return;
    this.reading = true;
    let frame: string;
    try {
      frame = `data: ${JSON.stringify(await this.read())}\n\n`;
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'dashboard snapshot failed');
      // The consumer's stall is worth showing most when the store cannot even be read.
      const pipeline = summarizePipeline(this.o.pipeline?.(), Date.now());
      frame = `event: store-error\ndata: ${JSON.stringify({ message: errorLabel(err), pipeline })}\n\n`;
    } finally {
      this.reading = false;
    }
    for (const res of targets) {
      // A page that does not keep up misses snapshots rather than buffering them here.
      if (this.clients.has(res) && !res.writableNeedDrain) res.write(frame);
    }
  }
}

/** A short, secret-free description of a store failure for the page. */
function errorLabel(err: unknown): string {
  return err instanceof FraudstreamError ? err.name : 'the store could not be read';
}

/** Whether a listening host is this machine's loopback. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Whether a Host header (`name[:port]`, `[v6]:port`) names this machine's loopback. */
function isLoopbackHostHeader(header: string | undefined): boolean {
  if (!header) return false;
  const name = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d+$/, '');
  return isLoopback(name.toLowerCase());
}

/** The host part of the printed URL: unspecified addresses become loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIP(host) === 6 ? `[${host}]` : host;
}
