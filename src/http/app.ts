/**
 * `fraudstream serve`: the synchronous scoring API on fastify, and the live dashboard on the
 * same server. Routes:
 *
 * - `POST /api/score`, `POST /api/feedback` (writes: the bearer key when one is configured);
 * - `GET /api/transactions/{key}`, `GET /api/transactions?…` (the dashboard's store reads);
 * - `GET /healthz`, `GET /readyz`, `GET /api/openapi.json`, `GET /metrics`;
 * - the dashboard: `/`, `/events`, `/api/summary`, `/api/snapshot`, … (unless turned off).
 */
import { type FastifyInstance, type FastifyReply, type FastifyRequest, fastify } from 'fastify';
import {
  guardServer,
  InvalidQueryError,
  registerDashboard,
  registerTransactionReads,
  resolveDashboardOptions,
} from '../dashboard/index.js';
import {
  BadRequestError,
  ConfigError,
  FraudstreamError,
  ListenError,
  NotAvailableError,
  TransientStoreError,
} from '../errors/index.js';
import { silentLogger } from '../logging/index.js';
import { ApiKeyCheck } from './auth.js';
import { OpenApiCollector, type OpenApiInfo } from './openapi.js';
import { type ResolvedServeOptions, resolveServeOptions, type ServeOptions } from './options.js';
import { parseFeedbackRequest, parseScoreRequest, resolveFeedback, scoreResult } from './requests.js';
import {
  badRequestSchema,
  errorSchema,
  feedbackBodySchema,
  scoreBodySchema,
  scoreResponseSchema,
} from './schemas.js';

/** How long `/readyz` waits for the store before answering not ready, in ms. */
const READY_TIMEOUT_MS = 1_000;

/** A running server. */
export interface ServerHandle {
  /** e.g. `http://127.0.0.1:8080/` (the real port when started with port 0). */
  readonly url: string;
  /** Replaces the facts of the dashboard's series-info panel. */
  setInfo(info: Readonly<Record<string, string>>): void;
  /** Stops accepting, ends event streams, waits for requests in flight. Safe to call twice. */
  close(): Promise<void>;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Whether a route is an API write, which needs the key when one is configured. */
function isApiWrite(method: string, url: string): boolean {
  return WRITE_METHODS.has(method.toUpperCase()) && url.startsWith('/api/');
}

/** Starts the server; a port in use or not permitted gives a {@link ListenError}. */
export async function startServer(options: ServeOptions, openApi?: OpenApiInfo): Promise<ServerHandle> {
  const o = resolveServeOptions(options);
  let info = o.info;
  const app = buildServeApp(o, () => info, openApi);
  try {
    await app.listen({ port: o.port, host: o.host });
  } catch (err) {
    await app.close();
    throw new ListenError(o.host, o.port, (err as NodeJS.ErrnoException).code ?? 'unknown', { cause: err });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const host =
    o.host === '0.0.0.0'
      ? '127.0.0.1'
      : o.host === '::'
        ? '[::1]'
        : o.host.includes(':')
          ? `[${o.host}]`
          : o.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}/`,
    setInfo(next) {
      info = { ...next };
    },
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}

/**
 * The fastify app, not listening yet (`app.inject` tests it without a socket). Options are
 * resolved here when not already.
 */
export function buildServeApp(
  options: ServeOptions | ResolvedServeOptions,
  info: () => Readonly<Record<string, string>> = () => options.info ?? {},
  openApi: OpenApiInfo = { title: 'fraudstream', version: 'unknown' },
): FastifyInstance {
  const o = resolveServeOptions(options);
  const log = o.logger ?? silentLogger();
  const { store, scorer } = o;
  const app = fastify({
    logger: false,
    forceCloseConnections: 'idle',
    bodyLimit: o.bodyLimitBytes,
  });
  // Response schemas document the answers; bodies are serialised as they are.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  const collector = new OpenApiCollector();
  collector.attach(app);
  guardServer(app, o.host);

  const keyCheck = o.apiKey === undefined ? undefined : new ApiKeyCheck(o.apiKey);
  if (keyCheck) {
    app.addHook('onRequest', async (request, reply) => {
      const url = request.url.split('?')[0]!;
      if (!isApiWrite(request.method, url) || keyCheck.accepts(request.headers.authorization))
        return undefined;
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'Unauthorized', message: 'this route needs Authorization: Bearer <API key>' });
    });
  }

  app.setErrorHandler(async (err: Error & { statusCode?: number; validation?: unknown }, request, reply) =>
    answerError(err, request, reply, log.error.bind(log)),
  );
  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .send({ error: 'Not Found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  app.post(
    '/api/score',
    {
      schema: {
        summary: 'Score one transaction or up to 1,000, synchronously',
        description:
          'Native or lab format. Features come from the same window state as the stream consumer; results are persisted like streamed ones unless dryRun.',
        tags: ['scoring'],
        body: scoreBodySchema,
        response: { 200: scoreResponseSchema, 400: badRequestSchema, 413: errorSchema },
      },
      // The body schema documents the formats; the stream's parsers check them (field + reason).
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const receivedAtMs = Date.now();
      const { transactions, dryRun } = parseScoreRequest(request.body);
      const { results, persisted } = await scorer.score(transactions, { dryRun, receivedAtMs });
      return { dryRun, persisted, results: results.map(scoreResult) };
    },
  );

  app.post(
    '/api/feedback',
    {
      schema: {
        summary: 'Labels (fraud or not) that update terminal risk',
        description:
          'Applied to the feature state as the stream’s delayed labels are: terminal risk counts a fraud label from the time it became known ("at").',
        tags: ['scoring'],
        body: feedbackBodySchema,
        response: {
          200: { type: 'object', properties: { received: { type: 'integer' } } },
          400: badRequestSchema,
        },
      },
      validatorCompiler: () => () => true,
    },
    async (request) => {
      const items = parseFeedbackRequest(request.body, Date.now());
      const feedback = await resolveFeedback(items, (key) => store.getTransaction(key));
      await scorer.feedback(feedback);
      return { received: feedback.length };
    },
  );

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'The process is up',
        tags: ['operations'],
        response: { 200: { type: 'object', properties: { status: { const: 'ok' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'The store answers and a model bundle is loaded',
        tags: ['operations'],
        response: {
          200: readySchema,
          503: readySchema,
        },
      },
    },
    async (_request, reply) => {
      const storeOk = await reachable(() => store.countTransactions());
      let model: string | null = null;
      try {
        model = scorer.modelVersion;
      } catch {
        model = null;
      }
      const ready = storeOk && model !== null;
      return reply.code(ready ? 200 : 503).send({ ready, store: storeOk ? 'ok' : 'unreachable', model });
    },
  );

  app.get(
    '/api/openapi.json',
    { schema: { summary: 'This document (OpenAPI 3.1)', tags: ['operations'] } },
    async () => collector.document(openApi, isApiWrite),
  );

  if (o.dashboard) {
    registerDashboard(
      app,
      resolveDashboardOptions({
        store,
        host: o.host,
        title: 'fraudstream serve',
        ...(o.metrics && { metrics: o.metrics }),
        ...(o.drift && { drift: o.drift }),
        ...(o.logger && { logger: o.logger }),
      }),
      info,
    );
  } else {
    registerTransactionReads(app, store);
    app.get(
      '/metrics',
      { schema: { summary: 'Prometheus metrics (text format)', tags: ['operations'] } },
      async (_request, reply) => {
        if (!o.metrics)
          return reply.code(404).send({ error: 'Not Found', message: 'no metrics are collected' });
        return reply.type(o.metrics.contentType).send(await o.metrics.text());
      },
    );
  }
  return app;
}

const readySchema = {
  type: 'object',
  properties: {
    ready: { type: 'boolean' },
    store: { enum: ['ok', 'unreachable'] },
    model: { type: ['string', 'null'], description: 'version of the bundle in use' },
  },
} as const;

async function reachable(probe: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([probe().then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Every error as JSON with a status that says whose fault it is; store errors without their text. */
function answerError(
  err: Error & { statusCode?: number; validation?: unknown; code?: string },
  _request: FastifyRequest,
  reply: FastifyReply,
  logError: (obj: object, msg: string) => void,
): FastifyReply {
  if (err instanceof BadRequestError) {
    return reply.code(400).send({
      error: 'Bad Request',
      message: err.message,
      field: err.field,
      reason: err.reason,
      issues: err.issues,
    });
  }
  if (err instanceof InvalidQueryError) {
    return reply
      .code(400)
      .send({ error: 'Bad Request', message: err.message, field: err.parameter, reason: err.reason });
  }
  if (Array.isArray(err.validation)) {
    const first = err.validation[0] as {
      instancePath?: string;
      message?: string;
      params?: Record<string, unknown>;
    };
    const missing = first?.params?.missingProperty;
    const path = (first?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
    const field = [path, typeof missing === 'string' ? missing : ''].filter(Boolean).join('.') || 'request';
    const reason = first?.message ?? 'is not valid';
    return reply.code(400).send({ error: 'Bad Request', message: `${field}: ${reason}`, field, reason });
  }
  if (err instanceof NotAvailableError) {
    return reply.code(501).send({ error: 'Not Implemented', message: err.message });
  }
  if (err instanceof ConfigError) {
    return reply.code(400).send({ error: 'Bad Request', message: err.message });
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // fastify's own: malformed JSON (400), body too large (413), unsupported media type (415).
    const field = err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'content-type' : 'body';
    return reply
      .code(err.statusCode)
      .send({ error: reasonPhrase(err.statusCode), message: err.message, field, reason: err.message });
  }
  if (err instanceof TransientStoreError || err instanceof FraudstreamError) {
    logError({ err: err.message }, 'request failed: store');
    return reply.code(503).send({ error: 'Service Unavailable', message: 'the store could not be reached' });
  }
  logError({ err: err.message, name: err.name }, 'request failed');
  return reply.code(500).send({ error: 'Internal Server Error', message: 'the request failed' });
}

function reasonPhrase(status: number): string {
  const phrases: Record<number, string> = {
    400: 'Bad Request',
    404: 'Not Found',
    405: 'Method Not Allowed',
    413: 'Payload Too Large',
    415: 'Unsupported Media Type',
  };
  return phrases[status] ?? 'Bad Request';
}
