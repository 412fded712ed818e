/**
 * The AWS Lambda function: the Kinesis handler of `src/pipeline/`, wired from the environment.
 * `npm run build:lambda` bundles this file into `dist/lambda/index.mjs`, whose `handler` export
 * is the function's entry point; `deploy/template.yaml` declares the function.
 *
 * Everything is set up on the first invocation and kept for the container's lifetime (bundle,
 * Redis connections, endpoint clients); if setting up fails, the invocation fails (Lambda
 * retries the batch) and the next one tries again.
 */
import { join } from 'node:path';
import { redactUrl, redisUrlFromEnv } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { createFeatureSet, RedisWindowState } from '../features/index.js';
import { createLogger, LOG_LEVELS, type Logger, type LogLevel } from '../logging/index.js';
import {
  createKinesisHandler,
  type KinesisBatchResponse,
  type KinesisHandler,
  type KinesisStreamEvent,
} from '../pipeline/index.js';
import { createRemoteModels } from '../sagemaker/index.js';
import { ENDPOINT_FALLBACKS, type EndpointFallback, loadBundle, Scorer } from '../scoring/index.js';
import { RedisStore } from '../store/index.js';

/** The function's settings, read from its environment by {@link lambdaConfigFromEnv}. */
export interface LambdaConfig {
  /** Model bundle directory. Env `FRAUDSTREAM_MODELS`; default `models` beside the code (`$LAMBDA_TASK_ROOT/models`). */
  modelsDir: string;
  /** Env `REDIS_URL`, or the lab's `REDIS_HOST`, `REDIS_PORT`, `REDIS_PWD` (plus `REDIS_TLS`, `REDIS_USERNAME`). Required. */
  redisUrl: string;
  /** Env `FRAUDSTREAM_PREFIX`; default the store's `fraudstream:`. */
  prefix: string | undefined;
  /** Env `FRAUDSTREAM_CLASSIFIER_ENDPOINT`: a SageMaker endpoint name or URL; unset = in-process. */
  classifierEndpoint: string | undefined;
  /** Env `FRAUDSTREAM_ANOMALY_ENDPOINT`. */
  anomalyEndpoint: string | undefined;
  /** Env `FRAUDSTREAM_ENDPOINT_FALLBACK` (`local` or `retry`); default `local`. */
  endpointFallback: EndpointFallback;
  /** Env `FRAUDSTREAM_ENDPOINT_TIMEOUT_MS`; default the client's. */
  endpointTimeoutMs: number | undefined;
  /** Env `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`: a runtime URL for endpoint names. */
  sagemakerEndpointUrl: string | undefined;
  /** Env `FRAUDSTREAM_LOG_LEVEL`; default `info`. */
  logLevel: LogLevel;
}

/** Reads and validates the environment; throws {@link ConfigError} naming the variable at fault. */
export function lambdaConfigFromEnv(env: NodeJS.ProcessEnv = process.env): LambdaConfig {
  const redisUrl = redisUrlFromEnv(env);
  if (!redisUrl) throw new ConfigError('set REDIS_HOST (with REDIS_PORT and REDIS_PWD) or REDIS_URL');
  const fallback = env.FRAUDSTREAM_ENDPOINT_FALLBACK ?? 'local';
  if (!(ENDPOINT_FALLBACKS as readonly string[]).includes(fallback)) {
    throw new ConfigError(`FRAUDSTREAM_ENDPOINT_FALLBACK must be ${ENDPOINT_FALLBACKS.join(' or ')}`);
  }
  const level = env.FRAUDSTREAM_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError(`FRAUDSTREAM_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  }
  let endpointTimeoutMs: number | undefined;
  if (env.FRAUDSTREAM_ENDPOINT_TIMEOUT_MS) {
    endpointTimeoutMs = Number(env.FRAUDSTREAM_ENDPOINT_TIMEOUT_MS);
    if (!(Number.isInteger(endpointTimeoutMs) && endpointTimeoutMs > 0)) {
      throw new ConfigError('FRAUDSTREAM_ENDPOINT_TIMEOUT_MS must be a positive integer');
    }
  }
  return {
    modelsDir: env.FRAUDSTREAM_MODELS || join(env.LAMBDA_TASK_ROOT ?? process.cwd(), 'models'),
    redisUrl,
    prefix: env.FRAUDSTREAM_PREFIX || undefined,
    classifierEndpoint: env.FRAUDSTREAM_CLASSIFIER_ENDPOINT || undefined,
    anomalyEndpoint: env.FRAUDSTREAM_ANOMALY_ENDPOINT || undefined,
    endpointFallback: fallback as EndpointFallback,
    endpointTimeoutMs,
    sagemakerEndpointUrl: env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME || undefined,
    logLevel: level as LogLevel,
  };
}

/** A ready handler and what it holds open. */
export interface LambdaApp {
  handler: KinesisHandler;
  logger: Logger;
  close(): Promise<void>;
}

/** Loads the bundle, connects to Redis and the endpoints, and builds the Kinesis handler. */
export async function createLambdaApp(config: LambdaConfig, logger?: Logger): Promise<LambdaApp> {
  const log = logger ?? createLogger(config.logLevel);
  const bundle = await loadBundle(config.modelsDir);
  const prefix = config.prefix;
  const store = await RedisStore.connect({ url: config.redisUrl, ...(prefix && { prefix }) });
  let state: RedisWindowState | undefined;
  try {
    state = await RedisWindowState.connect({
      url: config.redisUrl,
      delayDays: bundle.manifest.delayDays,
      ...(prefix && { prefix: `${prefix}fs:` }),
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  const remote = createRemoteModels({
    ...(config.classifierEndpoint && { classifierEndpoint: config.classifierEndpoint }),
    ...(config.anomalyEndpoint && { anomalyEndpoint: config.anomalyEndpoint }),
    ...(config.sagemakerEndpointUrl && { endpointUrl: config.sagemakerEndpointUrl }),
    ...(config.endpointTimeoutMs !== undefined && { timeoutMs: config.endpointTimeoutMs }),
  });
  const scorer = new Scorer(bundle, {
    remote: remote.models,
    endpointFallback: config.endpointFallback,
    onRemoteFailure: (model, err) =>
      log.warn(
        { model, endpoint: err.endpoint, err: err.message, fallback: config.endpointFallback },
        'endpoint failed',
      ),
  });
  const handler = createKinesisHandler({
    featureSet: createFeatureSet(bundle.manifest.featureSet, { delayDays: bundle.manifest.delayDays, state }),
    scorer,
    store,
    logger: log,
  });
  log.info(
    {
      model: bundle.manifest.fingerprint,
      featureSet: bundle.manifest.featureSet,
      store: redactUrl(config.redisUrl),
      classifier: config.classifierEndpoint ?? 'in-process',
      anomaly: config.anomalyEndpoint ?? 'in-process',
    },
    'lambda ready',
  );
  return {
    handler,
    logger: log,
    async close() {
      remote.close();
      await state?.close?.();
      await store.close();
    },
  };
}

let app: Promise<LambdaApp> | undefined;

/**
 * The Lambda entry point: a Kinesis event in, the records to retry out (`batchItemFailures`,
 * for an event source mapping with `ReportBatchItemFailures`).
 */
export async function handler(event: KinesisStreamEvent): Promise<KinesisBatchResponse> {
  app ??= (async () => createLambdaApp(lambdaConfigFromEnv()))();
  let ready: LambdaApp;
  try {
    ready = await app;
  } catch (err) {
    // The whole batch fails and comes back; the next invocation sets up again.
    app = undefined;
    throw err;
  }
  const response = await ready.handler(event);
  // Lambda may freeze the process once we return: the log lines of this event go out first.
  await new Promise<void>((resolve) => ready.logger.flush(() => resolve()));
  return response;
}

/** Closes what the first invocation opened (for tests and local runs; Lambda never calls it). */
export async function closeLambda(): Promise<void> {
  const current = app;
  app = undefined;
  if (current) await (await current).close();
}
