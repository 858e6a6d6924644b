/**
 * Finds and validates `mirrord.json`: the file named by `-f`, else `.mirrord/mirrord.json` in
 * the current directory when present, else no file (defaults only).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError } from '../errors';
import { describeIssues } from './issues';
import { configSchema, type FileConfig } from './schema';

export const DEFAULT_CONFIG = join('.mirrord', 'mirrord.json');
const HINT = 'the keys and their types are listed in cli/config/mirrord.schema.json and in the README ("CLI")';

export function loadConfig(explicit: string | undefined, cwd = process.cwd()): { config: FileConfig; file?: string } {
  const file = explicit ?? (existsSync(join(cwd, DEFAULT_CONFIG)) ? DEFAULT_CONFIG : undefined);
  if (file === undefined) return { config: {} };
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new CliError(`cannot read the config file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'check the path given to -f/--config');
  }
  return { config: parseConfig(text, file), file };
}

export function parseConfig(text: string, file = 'mirrord.json'): FileConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file}: not valid JSON (${(error as Error).message})`, 'mirrord.json is plain JSON: no comments, no trailing commas');
  }
  const result = configSchema.safeParse(json, { reportInput: true });
  if (!result.success) {
    const { message, hint } = describeIssues(result.error.issues, configSchema);
    throw new CliError(`${file}: ${message}`, hint ?? HINT);
  }
  return result.data;
}
