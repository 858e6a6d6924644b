/**
 * The local process's environment, as mirrord's `feature.env` builds it: the pod's variables
 * (`include` keeps only the matching names, `exclude` drops the matching ones), then an env
 * file's over them, then `mapping` (a regex on the name gives the variable a new value), then
 * `override`; `unset` removes names from the result and from the local environment. Patterns
 * are `;`-separated, `*` matches any run of characters and `?` one character; matching is
 * case-sensitive, as variable names are (`unset` excepted, as in mirrord).
 */
import { compileRustRegex } from '../intproxy/rust-regex';
import { envPattern } from '../protocol/ticket';

export interface EnvFilter {
  include?: string[];
  exclude?: string[];
  override?: Record<string, string>;
  /** [regex on a name, value], in the file's order: the first match wins. */
  mapping?: [string, string][];
  unset?: string[];
}

/** Splits mirrord's `"A;B_*"` form (or a list of such strings) into single patterns. */
export function splitPatterns(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value])
    .flatMap((item) => item.split(';'))
    .map((p) => p.trim())
    .filter(Boolean);
}

/** One pattern as a whole-name expression (the sidecar matches a ticket's `env.exclude` the same way). */
export const wildcard = envPattern;

/** The variables the process gets from the pod and the env file (`fromFile`), in mirrord's order. */
export function filterEnv(remote: Record<string, string>, filter: EnvFilter, fromFile: Record<string, string> = {}): Record<string, string> {
  const include = filter.include?.map(wildcard);
  const exclude = (filter.exclude ?? []).map(wildcard);
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(remote)) {
    if (include && !include.some((re) => re.test(name))) continue;
    if (exclude.some((re) => re.test(name))) continue;
    result[name] = value;
  }
  return { ...mapValues({ ...result, ...fromFile }, filter.mapping ?? []), ...filter.override };
}

/** `env` without the `names`, compared case-insensitively (`AWS_PROFILE` also removes `Aws_Profile`). */
export function unsetEnv<T extends string | undefined>(env: Record<string, T>, names: readonly string[]): Record<string, T> {
  if (!names.length) return env;
  const unset = new Set(names.map((name) => name.toLowerCase()));
  return Object.fromEntries(Object.entries(env).filter(([name]) => !unset.has(name.toLowerCase())));
}

function mapValues(env: Record<string, string>, mapping: [string, string][]): Record<string, string> {
  if (!mapping.length) return env;
  const rules = mapping.map(([pattern, value]) => [compileRustRegex(pattern), value] as const);
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, rules.find(([pattern]) => pattern.test(name))?.[1] ?? value]));
}
