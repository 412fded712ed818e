import { Command } from 'commander';
import { type ConfigFile, configValue, loadConfigFile } from '../config/index.js';
import { consumeCommand } from './consume.js';
import { demoCommand } from './demo.js';
import { evaluateCommand } from './evaluate.js';
import { produceCommand } from './produce.js';
import { scoreCommand } from './score.js';
import { serveCommand } from './serve.js';
import { serveModelCommand } from './serve-model.js';
import { trainCommand } from './train.js';
import { packageVersion } from './version.js';

/** The `fraudstream` command line. Each command lives in its own file under `src/cli/`. */
export function buildProgram(): Command {
  const program = new Command('fraudstream')
    .description('Real-time card-fraud detection: produce, score, train, evaluate and watch transactions.')
    .version(packageVersion(), '-V, --version', 'print the fraudstream version')
    .option('--config <path>', 'JSON config file: keys are long flag names, per command or top level')
    .showHelpAfterError('(run with --help for usage)');
  program.hook('preAction', (root, action) => applyConfigFile(root, action));
  program.addCommand(produceCommand());
  program.addCommand(trainCommand());
  program.addCommand(evaluateCommand());
  program.addCommand(consumeCommand());
  program.addCommand(scoreCommand());
  program.addCommand(demoCommand());
  program.addCommand(serveCommand());
  program.addCommand(serveModelCommand());
  return program;
}

/** Fills options the user did not set on the command line or through the environment from the config file. */
function applyConfigFile(root: Command, action: Command): void {
  const path = (root.opts().config as string | undefined) ?? process.env.FRAUDSTREAM_CONFIG;
  if (!path) return;
  const file: ConfigFile = loadConfigFile(path);
  for (const option of action.options) {
    const key = option.attributeName();
    const source = action.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') continue;
    const flag = option.long?.replace(/^--/, '') ?? key;
    let value = configValue(file, action.name(), flag);
    if (option.negate) {
      // `--no-dashboard` sets `dashboard` to false: the file may say `"no-dashboard": true` or `"dashboard": false`.
      value = typeof value === 'boolean' ? !value : configValue(file, action.name(), key);
    }
    if (value !== undefined) action.setOptionValueWithSource(key, value, 'config');
  }
}
