#!/usr/bin/env node
/** The `mirrord` command. */
import { readFileSync } from 'node:fs';
import { packagePath } from '../sidecar/package-root';
import { parseCommandLine } from './args';
import { attach } from './commands/attach';
import { CliError, formatError, USAGE_EXIT } from './errors';
import { ATTACH_HELP, MAIN_HELP } from './help';

async function main(argv: string[]): Promise<number> {
  const invocation = parseCommandLine(argv);
  switch (invocation.kind) {
    case 'help':
      if (!argv.length) {
        process.stderr.write(MAIN_HELP);
        return USAGE_EXIT;
      }
      process.stdout.write(invocation.topic === 'attach' ? ATTACH_HELP : MAIN_HELP);
      return 0;
    case 'version':
      process.stdout.write(`mirrord ${(JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version}\n`);
      return 0;
    case 'attach':
      return attach(invocation);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(formatError(error));
    process.exit(error instanceof CliError ? error.exitCode : 1);
  },
);
