/** An error the user can act on: what went wrong, what to do, and the exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Exit code for a command line that can't be understood (as getopt-style tools use). */
export const USAGE_EXIT = 2;

export function formatError(error: unknown): string {
  if (error instanceof CliError) return `mirrord: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`;
  return `mirrord: ${(error as Error)?.message ?? String(error)}\nhint: this looks like a bug in mirrord; MIRRORD_LOG_LEVEL=debug shows more\n`;
}

/** For commands whose output is data (`--json`): the error as data too, on stdout. */
export function formatJsonError(error: unknown): string {
  const known = error instanceof CliError;
  const message = known ? error.message : ((error as Error)?.message ?? String(error));
  return JSON.stringify({ error: { message, ...(known && error.hint ? { hint: error.hint } : {}) } }) + '\n';
}
