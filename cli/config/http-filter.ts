/**
 * mirrord's `http_filter` as the one filter the sidecar evaluates: a header regex, a path regex
 * and a method, all of which must match. `header_filter`/`path_filter`/`method_filter` and the
 * entries of `all_of` are that conjunction as long as each kind appears once; `any_of` fits when
 * its entries are all headers or all paths (one regex with alternatives). Anything else
 * (body filters, an `any_of` mixing kinds, a kind twice in a conjunction) can't be expressed yet.
 */
import type { HttpFilter } from '../../protocol/messages';
import type { HttpFilterConfig, InnerFilterConfig } from './schema';

type FilterObject = Exclude<HttpFilterConfig, boolean>;
type Kind = keyof HttpFilter;
type Key = keyof FilterObject;

/** `unsupported`: the key that can't be applied, and why when the key alone doesn't say. */
export type ComposedFilter = { filter?: HttpFilter } | { unsupported: { key: Key; why?: string } };

export function composeHttpFilter(config: FilterObject): ComposedFilter {
  if (config.body_filter !== undefined) return { unsupported: { key: 'body_filter' } };
  const terms: [Kind, string, Key][] = [];
  if (config.header_filter !== undefined) terms.push(['header', config.header_filter, 'header_filter']);
  if (config.path_filter !== undefined) terms.push(['path', config.path_filter, 'path_filter']);
  if (config.method_filter !== undefined) terms.push(['method', config.method_filter, 'method_filter']);
  for (const inner of config.all_of ?? []) {
    const term = termOf(inner);
    if (!term) return { unsupported: { key: 'all_of', why: 'a body filter' } };
    terms.push([...term, 'all_of']);
  }
  if (config.any_of) {
    const any = config.any_of.map(termOf);
    const kinds = new Set(any.map((term) => term?.[0]));
    const [kind] = kinds;
    if (any.length === 1 && any[0]) terms.push([...any[0], 'any_of']);
    else if (kinds.size === 1 && (kind === 'header' || kind === 'path')) terms.push([kind, any.map((term) => `(?:${term![1]})`).join('|'), 'any_of']);
    else return { unsupported: { key: 'any_of', why: 'entries of different kinds, methods or bodies' } };
  }
  const filter: HttpFilter = {};
  for (const [kind, value, key] of terms) {
    if (filter[kind] !== undefined) return { unsupported: { key, why: `a second ${kind} condition that must also match` } };
    filter[kind] = value;
  }
  return terms.length ? { filter } : {};
}

/** A header, path or method entry; a body filter has none of them. */
function termOf(inner: InnerFilterConfig): [Kind, string] | undefined {
  for (const kind of ['header', 'path', 'method'] as const) {
    const value = (inner as Record<string, unknown>)[kind];
    if (typeof value === 'string') return [kind, value];
  }
  return undefined;
}
