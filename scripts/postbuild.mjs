// npm links `bin` only for installed packages; make the CLI directly executable in a checkout too.
import { chmodSync, cpSync, existsSync } from 'node:fs';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(cli)) chmodSync(cli, 0o755);

// tsc compiles only TypeScript: the dashboard page's own script and styles are copied next to
// the compiled server, which reads them from its own directory.
cpSync(
  new URL('../src/dashboard/assets/', import.meta.url),
  new URL('../dist/src/dashboard/assets/', import.meta.url),
  {
    recursive: true,
  },
);
