/** Reading a file the user named, with an error that names it. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError } from './errors';

/**
 * The text of `path` (relative to `cwd`); when it can't be read, an error naming it as `what`
 * (`the config file`, `the env file`) with the reason's code, and `hint` saying where it was given.
 */
export function readUserFile(path: string, what: string, hint: string, cwd = process.cwd()): string {
  try {
    return readFileSync(resolve(cwd, path), 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, hint);
  }
}
