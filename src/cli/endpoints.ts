/**
 * Flags that put remote SageMaker endpoints in place of the bundle's in-process models, shared by
 * `consume` and `score`.
 */
import { type Command, Option } from 'commander';
import type { Logger } from '../logging/index.js';
import { createRemoteModels, DEFAULT_SAGEMAKER_ENDPOINT_OPTIONS } from '../sagemaker/index.js';
import { ENDPOINT_FALLBACKS, type EndpointFallback, type ScorerOptions } from '../scoring/index.js';
import { intArg } from './args.js';

export interface EndpointFlags {
  classifierEndpoint?: string;
  anomalyEndpoint?: string;
  sagemakerEndpointUrl?: string;
  endpointTimeoutMs?: number;
  endpointConcurrency?: number;
  endpointFallback: EndpointFallback;
}

/** Adds the endpoint flags to a command. */
export function addEndpointOptions(command: Command): Command {
  const d = DEFAULT_SAGEMAKER_ENDPOINT_OPTIONS;
  return command
    .option(
      '--classifier-endpoint <name|url>',
      'score with this SageMaker endpoint (name) or serve-model (http://HOST:PORT) instead of the in-process classifier',
    )
    .option(
      '--anomaly-endpoint <name|url>',
      'score with this SageMaker endpoint (name) or serve-model (http://HOST:PORT) instead of the in-process forest',
    )
    .option(
      '--sagemaker-endpoint-url <url>',
      'SageMaker runtime URL for endpoint names (a local server, a VPC endpoint); env AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME',
    )
    .option(
      '--endpoint-timeout-ms <n>',
      `longest wait for one endpoint call (default ${d.timeoutMs})`,
      intArg,
    )
    .option(
      '--endpoint-concurrency <n>',
      `endpoint calls in flight at once, per endpoint (default ${d.concurrency})`,
      intArg,
    )
    .addOption(
      new Option(
        '--endpoint-fallback <what>',
        'when an endpoint fails: local = that batch uses the in-process model (reason endpoint-unavailable); retry = the batch waits and is retried',
      )
        .choices(ENDPOINT_FALLBACKS)
        .default('local'),
    );
}

/**
 * Scorer options for the endpoint flags, and a `close()` for the clients; `undefined` options
 * when no endpoint is named (both models in-process). Failures are logged as warnings.
 */
export function remoteScorerOptions(
  flags: EndpointFlags,
  log: Logger,
): { options: ScorerOptions; close: () => void } {
  if (!flags.classifierEndpoint && !flags.anomalyEndpoint) return { options: {}, close: () => {} };
  const endpointUrl = flags.sagemakerEndpointUrl ?? process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME;
  const { models, close } = createRemoteModels({
    ...(flags.classifierEndpoint && { classifierEndpoint: flags.classifierEndpoint }),
    ...(flags.anomalyEndpoint && { anomalyEndpoint: flags.anomalyEndpoint }),
    ...(endpointUrl && { endpointUrl }),
    ...(flags.endpointTimeoutMs !== undefined && { timeoutMs: flags.endpointTimeoutMs }),
    ...(flags.endpointConcurrency !== undefined && { concurrency: flags.endpointConcurrency }),
  });
  return {
    options: {
      remote: models,
      endpointFallback: flags.endpointFallback,
      onRemoteFailure: (model, err) =>
        log.warn(
          { model, endpoint: err.endpoint, err: err.message, fallback: flags.endpointFallback },
          'endpoint failed',
        ),
    },
    close,
  };
}
