import { Command, Option } from 'commander';
import { createLogger, type LogLevel } from '../logging/index.js';
import { startModelServer } from '../sagemaker/index.js';
import { loadBundle, MODEL_KINDS, type ModelKind } from '../scoring/index.js';
import { portArg } from './dashboard.js';
import { untilStopSignal } from './signals.js';

interface ServeModelFlags {
  models: string;
  model: ModelKind;
  port: number;
  host: string;
  learn?: boolean;
  logLevel: LogLevel;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export function serveModelCommand(): Command {
  return new Command('serve-model')
    .description(
      "Serve one model of a bundle as a SageMaker inference container: GET /ping, POST /invocations (text/csv or application/json), and the runtime API's POST /endpoints/NAME/invocations.",
    )
    .requiredOption('--models <dir>', 'model bundle directory')
    .addOption(new Option('--model <which>', 'the model to serve').choices(MODEL_KINDS).makeOptionMandatory())
    .option('--port <n>', 'port (0 = any free port)', portArg, 8080)
    .option('--host <host>', 'interface (a SageMaker container listens on 0.0.0.0)', '127.0.0.1')
    .option(
      '--learn',
      'anomaly: the forest learns each request after scoring it (SageMaker RCF endpoints only score)',
    )
    .addOption(
      new Option('--log-level <level>', 'structured logs on stderr')
        .choices(['silent', 'error', 'warn', 'info', 'debug'])
        .default('info'),
    )
    .action(async (flags: ServeModelFlags) => {
      const log = createLogger(flags.logLevel);
      const bundle = await loadBundle(flags.models);
      const server = await startModelServer({
        bundle,
        model: flags.model,
        port: flags.port,
        host: flags.host,
        learn: flags.learn === true,
        logger: log,
      });
      process.stderr.write(
        `serve-model: ${flags.model} of bundle ${bundle.manifest.name} (${bundle.manifest.fingerprint}) at ${server.url}/invocations\n`,
      );
      if (!isLoopback(flags.host)) {
        // A container does no authentication: SageMaker (or whatever fronts it) does.
        process.stderr.write(
          `serve-model: ${flags.host} is reachable from the network and /invocations has no authentication; put it behind SageMaker or a gateway\n`,
        );
      }
      log.info({ model: flags.model, version: bundle.manifest.fingerprint, url: server.url }, 'serving');
      await untilStopSignal();
      await server.close();
      log.flush();
    });
}
