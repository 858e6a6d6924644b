/**
 * Which of the pod's environment variables the local process gets, as mirrord's
 * `feature.env`: `include` keeps only the matching names, `exclude` drops the matching ones,
 * `override` sets values whatever the pod has. Patterns are `;`-separated, `*` matches any run
 * of characters and `?` one character; matching is case-sensitive, as variable names are.
 */
export interface EnvFilter {
  include?: string[];
  exclude?: string[];
  override?: Record<string, string>;
}

/** Splits mirrord's `"A;B_*"` form (or a list of such strings) into single patterns. */
export function splitPatterns(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).flatMap((item) => item.split(';')).map((p) => p.trim()).filter(Boolean);
}

export function wildcard(pattern: string): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}

export function filterEnv(remote: Record<string, string>, filter: EnvFilter): Record<string, string> {
  const include = filter.include?.map(wildcard);
  const exclude = (filter.exclude ?? []).map(wildcard);
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(remote)) {
    if (include && !include.some((re) => re.test(name))) continue;
    if (exclude.some((re) => re.test(name))) continue;
    result[name] = value;
  }
  return { ...result, ...filter.override };
}
