import {
  InvokeEndpointCommand,
  SageMakerRuntimeClient,
  type SageMakerRuntimeClientConfig,
} from '@aws-sdk/client-sagemaker-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfigError, FraudstreamError, RemoteModelError } from '../errors/index.js';
import type { ModelKind, RemoteModel, RemoteModels } from '../scoring/index.js';
import { CSV, decodeScores, encodeCsvRows, JSON_TYPE } from './codec.js';

/** Static AWS credentials (for a local server any non-empty values do). */
export interface SageMakerStaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Options of {@link SageMakerEndpointModel}. */
export interface SageMakerEndpointOptions {
  /**
   * A SageMaker endpoint name (`fraud-detection-endpoint`), called through the SageMaker
   * runtime API of {@link region} (or {@link endpointUrl}); or an `http(s)://HOST:PORT` URL of a
   * `fraudstream serve-model` (or any server answering `POST /endpoints/NAME/invocations`), whose
   * path may name the endpoint (`…/endpoints/NAME`; default `fraudstream-<model>`). Required.
   */
  endpoint: string;
  /** Which model the endpoint serves: sets the `Accept` header and names failure reasons. Required. */
  model: ModelKind;
  /**
   * AWS region of the SageMaker runtime.
   * @default process.env.AWS_REGION, else 'us-east-1'
   */
  region?: string;
  /**
   * Runtime API URL instead of the region's, e.g. `http://127.0.0.1:8080` for a local server.
   * @default undefined (the region's AWS endpoint)
   */
  endpointUrl?: string;
  /**
   * Static credentials, handed to the SDK only and never logged.
   * @default the SDK's default provider chain for names; placeholder credentials for URLs (a
   * container server does not authenticate: SageMaker does that in front of it)
   */
  credentials?: SageMakerStaticCredentials;
  /**
   * Longest wait for one call, retries included, in ms; then the call fails with `RemoteModelError`.
   * @default 2000
   */
  timeoutMs?: number;
  /**
   * Calls in flight at once to this endpoint, over every batch being scored.
   * @default 4
   */
  concurrency?: number;
  /**
   * Rows per call: a consumer batch is one call unless it is larger (SageMaker caps a request at 6 MB).
   * @default 1000
   */
  maxRowsPerCall?: number;
  /**
   * Attempts of one call by the SDK (1 = no retry).
   * @default 2
   */
  maxAttempts?: number;
  /**
   * A client to use instead of creating one (tests, custom middleware); not destroyed by `close()`.
   * @default undefined
   */
  client?: SageMakerRuntimeClient;
}

export const DEFAULT_SAGEMAKER_ENDPOINT_OPTIONS = {
  region: 'us-east-1',
  timeoutMs: 2_000,
  concurrency: 4,
  maxRowsPerCall: 1_000,
  maxAttempts: 2,
} as const;

/** {@link SageMakerEndpointOptions} after defaults and validation (without credentials). */
export interface ResolvedSageMakerEndpointOptions {
  endpointName: string;
  model: ModelKind;
  region: string;
  endpointUrl: string | undefined;
  /** True when the endpoint was given as a URL. */
  direct: boolean;
  timeoutMs: number;
  concurrency: number;
  maxRowsPerCall: number;
  maxAttempts: number;
}

/** SageMaker endpoint names: 1-63 characters, letters, digits and single hyphens. */
const ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

function httpUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${what} must be a URL or an endpoint name, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${what} must be an http(s) URL`);
  }
  return url;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** Merges defaults and validates; throws {@link ConfigError}. */
export function resolveSageMakerEndpointOptions(
  options: SageMakerEndpointOptions,
): ResolvedSageMakerEndpointOptions {
  const d = DEFAULT_SAGEMAKER_ENDPOINT_OPTIONS;
  const { endpoint, model } = options;
  if (model !== 'classifier' && model !== 'anomaly') {
    throw new ConfigError(`model must be classifier or anomaly, got ${JSON.stringify(model)}`);
  }
  if (typeof endpoint !== 'string' || endpoint.length === 0) {
    throw new ConfigError(`the ${model} endpoint needs a name or URL`);
  }
  let endpointName = endpoint;
  let endpointUrl = options.endpointUrl;
  const direct = /^https?:\/\//i.test(endpoint);
  if (direct) {
    const url = httpUrl(endpoint, `the ${model} endpoint`);
    endpointUrl = url.origin;
    endpointName = /\/endpoints\/([^/]+)/.exec(url.pathname)?.[1] ?? `fraudstream-${model}`;
  } else if (endpointUrl !== undefined) {
    httpUrl(endpointUrl, 'the SageMaker endpoint URL');
  }
  if (!ENDPOINT_NAME.test(endpointName)) {
    throw new ConfigError(
      `SageMaker endpoint names are 1-63 letters, digits and hyphens, got ${JSON.stringify(endpointName)}`,
    );
  }
  const region = options.region ?? (process.env.AWS_REGION || d.region);
  const credentials = options.credentials;
  if (credentials !== undefined && (!credentials.accessKeyId || !credentials.secretAccessKey)) {
    throw new ConfigError('credentials need a non-empty accessKeyId and secretAccessKey');
  }
  return {
    endpointName,
    model,
    region,
    endpointUrl,
    direct,
    timeoutMs: positiveInteger('timeoutMs', options.timeoutMs ?? d.timeoutMs),
    concurrency: positiveInteger('concurrency', options.concurrency ?? d.concurrency),
    maxRowsPerCall: positiveInteger('maxRowsPerCall', options.maxRowsPerCall ?? d.maxRowsPerCall),
    maxAttempts: positiveInteger('maxAttempts', options.maxAttempts ?? d.maxAttempts),
  };
}

/** Placeholder credentials for a container server called directly: it checks no signature. */
const DIRECT_CREDENTIALS = { accessKeyId: 'fraudstream', secretAccessKey: 'unsigned' } as const;

/**
 * A model behind a SageMaker endpoint, called with `InvokeEndpoint` (AWS SDK v3): one CSV
 * request per batch (split only above {@link SageMakerEndpointOptions.maxRowsPerCall} rows), at
 * most {@link SageMakerEndpointOptions.concurrency} calls in flight, each bounded by a timeout.
 * Any failure — HTTP error, timeout, an answer with the wrong number of scores — rejects with
 * {@link RemoteModelError}; the scorer's endpoint fallback decides what follows.
 */
export class SageMakerEndpointModel implements RemoteModel {
  readonly options: ResolvedSageMakerEndpointOptions;
  readonly client: SageMakerRuntimeClient;
  private readonly ownsClient: boolean;
  private readonly slots: Semaphore;

  constructor(options: SageMakerEndpointOptions) {
    this.options = resolveSageMakerEndpointOptions(options);
    const o = this.options;
    this.ownsClient = options.client === undefined;
    if (options.client) {
      this.client = options.client;
    } else {
      const config: SageMakerRuntimeClientConfig = {
        region: o.region,
        maxAttempts: o.maxAttempts,
        // HTTP/1.1 with a socket timeout as a backstop to the per-call abort signal.
        requestHandler: new NodeHttpHandler({ requestTimeout: o.timeoutMs, connectionTimeout: o.timeoutMs }),
      };
      if (o.endpointUrl !== undefined) config.endpoint = o.endpointUrl;
      const credentials = options.credentials ?? (o.direct ? DIRECT_CREDENTIALS : undefined);
      if (credentials !== undefined) config.credentials = { ...credentials };
      this.client = new SageMakerRuntimeClient(config);
    }
    this.slots = new Semaphore(o.concurrency);
  }

  get name(): string {
    return this.options.endpointName;
  }

  score(features: Float64Array | Float32Array, n: number, nFeatures: number): Promise<Float64Array> {
    const { maxRowsPerCall } = this.options;
    // Every request body is built now, before the first await: the caller may reuse `features`.
    const bodies: { from: number; rows: number; body: Uint8Array }[] = [];
    for (let from = 0; from < n; from += maxRowsPerCall) {
      const rows = Math.min(maxRowsPerCall, n - from);
      const slice = features.subarray(from * nFeatures, (from + rows) * nFeatures);
      bodies.push({ from, rows, body: Buffer.from(encodeCsvRows(slice, rows, nFeatures), 'utf8') });
    }
    const out = new Float64Array(n);
    return Promise.all(
      bodies.map(async ({ from, rows, body }) => {
        const scores = await this.invoke(body);
        if (scores.length !== rows) {
          throw new RemoteModelError(this.name, `answered ${scores.length} scores for ${rows} rows`);
        }
        out.set(scores, from);
      }),
    ).then(() => out);
  }

  /** Destroys the client if this model created it. */
  close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  private async invoke(body: Uint8Array): Promise<Float64Array> {
    const release = await this.slots.acquire();
    const { timeoutMs, model } = this.options;
    try {
      const response = await this.client.send(
        new InvokeEndpointCommand({
          EndpointName: this.name,
          ContentType: CSV,
          // The XGBoost container answers CSV by default, the RCF container JSON.
          Accept: model === 'classifier' ? CSV : JSON_TYPE,
          Body: body,
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      const text = response.Body ? new TextDecoder().decode(response.Body) : '';
      return decodeScores(text, response.ContentType);
    } catch (err) {
      if (err instanceof RemoteModelError) throw err;
      const timedOut = err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError');
      const why = timedOut
        ? `no answer within ${timeoutMs} ms`
        : err instanceof FraudstreamError
          ? `unreadable answer (${err.message})`
          : `${err instanceof Error ? err.name : 'error'}: ${err instanceof Error ? err.message : String(err)}`;
      throw new RemoteModelError(this.name, why, { cause: err });
    } finally {
      release();
    }
  }
}

/** A counting semaphore: at most `size` holders at once, the others wait in order. */
class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/** Endpoints for {@link createRemoteModels}; a model left out runs in-process. */
export interface RemoteEndpointsOptions extends Omit<SageMakerEndpointOptions, 'endpoint' | 'model'> {
  /** Name or URL of the classifier's endpoint. */
  classifierEndpoint?: string;
  /** Name or URL of the forest's endpoint. */
  anomalyEndpoint?: string;
}

/** The remote models a scorer should use, and a `close()` that destroys their clients. */
export function createRemoteModels(options: RemoteEndpointsOptions): {
  models: RemoteModels;
  close: () => void;
} {
  const { classifierEndpoint, anomalyEndpoint, ...common } = options;
  const models: RemoteModels = {};
  const created: SageMakerEndpointModel[] = [];
  if (classifierEndpoint) {
    models.classifier = new SageMakerEndpointModel({
      ...common,
      endpoint: classifierEndpoint,
      model: 'classifier',
    });
    created.push(models.classifier as SageMakerEndpointModel);
  }
  if (anomalyEndpoint) {
    models.anomaly = new SageMakerEndpointModel({ ...common, endpoint: anomalyEndpoint, model: 'anomaly' });
    created.push(models.anomaly as SageMakerEndpointModel);
  }
  return {
    models,
    close: () => {
      for (const m of created) m.close();
    },
  };
}
