import { isIP } from 'node:net';
import { type FastifyInstance, type FastifyReply, type FastifyRequest, fastify } from 'fastify';
import { ConfigError, ListenError, ParseError } from '../errors/index.js';
import { type Logger, silentLogger } from '../logging/index.js';
import { toSageMakerResponse } from '../models/rcf/index.js';
import { type ModelBundle, type ModelKind, standardize } from '../scoring/index.js';
import { CSV, type DecodedRows, decodeCsvRows, decodeJsonRows, encodeCsvScores, JSON_TYPE } from './codec.js';

/** Options of {@link startModelServer}. */
export interface ModelServerOptions {
  /** The bundle whose model is served. Required. */
  bundle: ModelBundle;
  /** Which of its models. Required. */
  model: ModelKind;
  /**
   * Interface to listen on. A SageMaker container listens on `0.0.0.0`.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Port; 0 = any free port. SageMaker sends its requests to 8080.
   * @default 8080
   */
  port?: number;
  /**
   * Anomaly model only: the forest learns each request's rows after scoring them, as the
   * in-process scorer does. Off by default, like SageMaker's RCF endpoint, which only scores:
   * then every replica answers alike and a restart changes nothing. With learning on, the state
   * lives in this process only (lost on restart) and one client should send the stream in order.
   * @default false
   */
  learn?: boolean;
  /**
   * Largest request body; SageMaker's own limit is 6 MB.
   * @default 6291456
   */
  bodyLimitBytes?: number;
  /** @default a silent logger */
  logger?: Logger;
}

export const DEFAULT_MODEL_SERVER_OPTIONS = {
  host: '127.0.0.1',
  port: 8080,
  learn: false,
  bodyLimitBytes: 6 * 1024 * 1024,
} as const;

export type ResolvedModelServerOptions = Required<Omit<ModelServerOptions, 'logger'>> &
  Pick<ModelServerOptions, 'logger'>;

/** Merges defaults and validates; throws {@link ConfigError}. */
export function resolveModelServerOptions(options: ModelServerOptions): ResolvedModelServerOptions {
  const o = { ...DEFAULT_MODEL_SERVER_OPTIONS, ...options };
  if (o.model !== 'classifier' && o.model !== 'anomaly') {
    throw new ConfigError(`model must be classifier or anomaly, got ${JSON.stringify(o.model)}`);
  }
  if (o.learn && o.model !== 'anomaly') throw new ConfigError('learn applies to the anomaly model only');
  if (!(Number.isInteger(o.port) && o.port >= 0 && o.port <= 65_535)) {
    throw new ConfigError(`port must be an integer from 0 to 65535, got ${o.port}`);
  }
  if (!(Number.isInteger(o.bodyLimitBytes) && o.bodyLimitBytes > 0)) {
    throw new ConfigError(`bodyLimitBytes must be a positive integer, got ${o.bodyLimitBytes}`);
  }
  return o;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
};

/** A running model server. */
export interface ModelServerHandle {
  /** `http://HOST:PORT` (the real port when started with port 0). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves one model of a bundle under the SageMaker inference container contract
 * (`GET /ping`, `POST /invocations`; bodies in `codec.ts`), and under the SageMaker runtime
 * API's path `POST /endpoints/NAME/invocations` (any NAME), so the AWS SDK's `InvokeEndpoint`,
 * pointed here with an endpoint URL, talks to it as to a real endpoint.
 */
export async function startModelServer(options: ModelServerOptions): Promise<ModelServerHandle> {
  const o = resolveModelServerOptions(options);
  const app = buildModelServer(o);
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
        : isIP(o.host) === 6
          ? `[${o.host}]`
          : o.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}

/** The fastify app of {@link startModelServer}, not listening; `app.inject` tests it without a socket. */
export function buildModelServer(options: ModelServerOptions): FastifyInstance {
  const o = resolveModelServerOptions(options);
  const log = o.logger ?? silentLogger();
  const { manifest, gbdt, rcf } = o.bundle;
  const d = manifest.featureNames.length;
  const app = fastify({ logger: false, bodyLimit: o.bodyLimitBytes, forceCloseConnections: 'idle' });
  app.addContentTypeParser(CSV, { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.setErrorHandler(async (err, _request, reply) => {
    if (err instanceof ParseError)
      return reply.code(400).send({ error: 'Bad Request', message: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      // fastify's own refusals: a body over the limit (413), a media type without a parser (415), bad JSON (400).
      const error = STATUS_TEXT[status] ?? 'Bad Request';
      return reply.code(status).send({ error, message: (err as Error).message });
    }
    log.error({ err: (err as Error).message }, 'invocation failed');
    return reply
      .code(500)
      .send({ error: 'Internal Server Error', message: 'the model could not score the request' });
  });

  app.get('/ping', async () => ({ status: 'ok', model: o.model, version: manifest.fingerprint }));

  const invoke = async (request: FastifyRequest, reply: FastifyReply) => {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    let rows: DecodedRows;
    if (type === CSV) rows = decodeCsvRows(request.body as string, d);
    else if (type === JSON_TYPE) rows = decodeJsonRows(request.body, d);
    else {
      return reply.code(415).send({
        error: 'Unsupported Media Type',
        message: `send ${CSV} or ${JSON_TYPE}, got ${JSON.stringify(type)}`,
      });
    }
    if (rows.n === 0) throw new ParseError('body', 'no rows');
    const scores = score(rows);
    const answer = accepts(request.headers.accept, o.model === 'classifier' ? CSV : JSON_TYPE);
    reply.header('x-fraudstream-model-version', manifest.fingerprint);
    if (answer === CSV) return reply.type(CSV).send(encodeCsvScores(scores));
    const body =
      o.model === 'anomaly'
        ? toSageMakerResponse(scores)
        : { predictions: Array.from(scores, (score) => ({ score })) };
    return reply.type(JSON_TYPE).send(body);
  };
  app.post('/invocations', invoke);
  app.post('/endpoints/:name/invocations', invoke);

  function score({ data, n }: DecodedRows): Float64Array {
    const out = new Float64Array(n);
    if (o.model === 'classifier') {
      // As the in-process scorer does: the trees compare float32 values.
      gbdt.predictProba({ data: Float32Array.from(data), nRows: n, nCols: d }, out);
      return out;
    }
    const z = standardize(data, n, manifest.rcf.scaling, new Float64Array(n * d));
    rcf.scoreBatch(z, n, out);
    if (o.learn) rcf.updateBatch(z, n);
    return out;
  }

  return app;
}

/** The response type: the first of CSV or JSON the Accept header names, else the model's default. */
function accepts(header: string | undefined, fallback: string): string {
  for (const part of (header ?? '').split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    if (type === CSV || type === JSON_TYPE) return type;
  }
  return fallback;
}
