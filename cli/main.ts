#!/usr/bin/env node
/** The `mirrord` command. */
import { parseCommandLine } from './args';
import { CliError, formatError, formatJsonError, USAGE_EXIT } from './errors';
import type { AdminArgs } from './admin-args';
import { helpText, MAIN_HELP } from './help';

/** Set once a command that prints data as JSON is chosen: its errors are JSON on stdout too. */
let jsonOutput = false;

async function main(argv: string[]): Promise<number> {
  const invocation = parseCommandLine(argv);
  switch (invocation.kind) {
    case 'help':
      if (!argv.length) {
        process.stderr.write(MAIN_HELP);
        return USAGE_EXIT;
      }
      process.stdout.write(helpText(invocation.topic));
      return 0;
    case 'version':
      process.stdout.write(`mirrord ${(await import('../common/version')).VERSION}\n`);
      return 0;
    case 'attach':
      return (await import('./commands/attach')).attach(invocation);
    case 'port-forward':
      return (await import('./commands/port-forward')).portForward(invocation);
    case 'admin':
      return admin(invocation.args);
  }
}

/** Loaded on use: they bring in @kubernetes/client-node, which `attach --agent-cmd` never needs (and help, version and usage errors need no command's code). */
async function admin(args: AdminArgs): Promise<number> {
  jsonOutput = 'json' in args && args.json;
  switch (args.kind) {
    case 'ls':
      return (await import('./commands/ls')).ls(args);
    case 'sessions':
      return (await import('./commands/sessions')).sessions(args);
    case 'sessions-kill':
      return (await import('./commands/sessions')).killSession(args);
    case 'sessions-kill-all':
      return (await import('./commands/sessions')).killAllSessions(args);
    case 'db-branches':
      return (await import('./commands/db-branches')).dbBranchStatus(args);
    case 'db-branches-stop':
      return (await import('./commands/db-branches')).stopDbBranches(args);
    case 'install':
      return (await import('./commands/install')).install(args);
    case 'uninstall':
      return (await import('./commands/uninstall')).uninstall(args);
    case 'doctor':
      return (await import('./commands/doctor')).doctor(args);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (jsonOutput) process.stdout.write(formatJsonError(error));
    process.stderr.write(formatError(error));
    process.exit(error instanceof CliError ? error.exitCode : 1);
  },
);
