/**
 * Finds and checks `mirrord.json`: the file named by `-f` (or MIRRORD_CONFIG_FILE, as mirrord
 * reads it), else `.mirrord/mirrord.json` in the current directory when present, else no file
 * (defaults only). Every problem of the file is reported at once.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readUserFile } from '../read-file';
import { describeIssues } from './issues';
import { locate, problemsError, type Problem } from './problems';
import { configSchema, type FileConfig } from './schema';

export const DEFAULT_CONFIG = join('.mirrord', 'mirrord.json');

export interface Loaded {
  config: FileConfig;
  file?: string;
  /** What the file asks for that is taken differently here (templates). */
  warnings?: string[];
}

export function loadConfig(explicit: string | undefined, cwd = process.cwd()): Loaded {
  const { config, file, problems } = checkConfigFile(explicit, cwd);
  if (problems.length) throw problemsError(problems);
  return file === undefined ? { config } : { config, file };
}

export function parseConfig(text: string, file = 'mirrord.json'): FileConfig {
  const { config, problems } = checkConfig(text, file);
  if (problems.length) throw problemsError(problems);
  return config;
}

/** The file's settings, or what is wrong with them (a file that can't be read is an error at once). */
export function checkConfigFile(explicit: string | undefined, cwd: string): Loaded & { problems: Problem[] } {
  const file = explicit ?? (existsSync(join(cwd, DEFAULT_CONFIG)) ? DEFAULT_CONFIG : undefined);
  if (file === undefined) return { config: {}, problems: [], warnings: [] };
  const text = readUserFile(file, 'the config file', 'check the path given to -f/--config or MIRRORD_CONFIG_FILE', cwd);
  return { ...checkConfig(text, file), file };
}

export function checkConfig(text: string, file = 'mirrord.json'): { config: FileConfig; problems: Problem[]; warnings: string[] } {
  // mirrord renders the file with Tera first ({{ key }}, {{ get_env(…) }}); here the text is the value.
  const warnings = /\{\{|\{%/.test(text) ? [`${file}: templates ({{ … }}, {% … %}) are not supported yet; the text is used as written`] : [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return {
      config: {},
      warnings,
      problems: [{ text: `${file}: not valid JSON (${(error as Error).message})`, hint: 'mirrord.json is plain JSON: no comments, no trailing commas' }],
    };
  }
  const result = configSchema.safeParse(withoutNulls(json), { reportInput: true });
  if (result.success) return { config: result.data, problems: [], warnings };
  return { config: {}, problems: locate(file, describeIssues(result.error.issues, configSchema)), warnings };
}

/** mirrord reads `"key": null` as a key not given (serde's Option); so does this. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}
