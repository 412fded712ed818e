// npm links `bin` only for installed packages; make the CLI directly executable in a checkout too.
import { chmodSync, existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(cli)) chmodSync(cli, 0o755);
