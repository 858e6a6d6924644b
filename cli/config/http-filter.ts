/**
 * mirrord's `http_filter` as the filter the sidecar evaluates (protocol HttpFilter): the top-level
 * `header_filter`, `path_filter`, `method_filter` and `body_filter` and the entries of `all_of` must
 * all match, and one entry of `any_of`. A condition of each kind goes in the filter's own fields
 * (what policies read: a required header filter is the top-level `header`); a second of a kind goes
 * in `all`. `any_of` entries that are all header or all path regexes become one regex with
 * alternatives; other mixes go in `any`.
 */
import type { HttpFilter } from '../../protocol/messages';
import type { HttpFilterConfig, InnerFilterConfig } from './schema';

type FilterObject = Exclude<HttpFilterConfig, boolean>;

/** One condition: a filter with one field. */
function leafOf(inner: InnerFilterConfig): HttpFilter {
  if ('header' in inner) return { header: inner.header };
  if ('path' in inner) return { path: inner.path };
  if ('method' in inner) return { method: inner.method };
  return { body: { query: inner.body.query, matches: inner.body.matches } };
}

export function composeHttpFilter(config: FilterObject): HttpFilter | undefined {
  const leaves: HttpFilter[] = [];
  if (config.header_filter !== undefined) leaves.push({ header: config.header_filter });
  if (config.path_filter !== undefined) leaves.push({ path: config.path_filter });
  if (config.method_filter !== undefined) leaves.push({ method: config.method_filter });
  if (config.body_filter !== undefined) leaves.push({ body: { query: config.body_filter.query, matches: config.body_filter.matches } });
  leaves.push(...(config.all_of ?? []).map(leafOf));
  const filter: HttpFilter = {};
  const more: HttpFilter[] = [];
  for (const leaf of leaves) {
    const kind = Object.keys(leaf)[0] as keyof HttpFilter;
    if (filter[kind] === undefined) Object.assign(filter, leaf);
    else more.push(leaf);
  }
  const any = (config.any_of ?? []).map(leafOf);
  const kinds = new Set(any.map((leaf) => Object.keys(leaf)[0]));
  const [kind] = kinds;
  if (any.length === 1) more.push(any[0]!);
  else if (kinds.size === 1 && (kind === 'header' || kind === 'path')) {
    more.push({ [kind]: any.map((leaf) => `(?:${leaf[kind]})`).join('|') });
  } else if (any.length) filter.any = any;
  for (const leaf of more) {
    const leafKind = Object.keys(leaf)[0] as keyof HttpFilter;
    if (filter[leafKind] === undefined) Object.assign(filter, leaf);
    else (filter.all ??= []).push(leaf);
  }
  return Object.keys(filter).length ? filter : undefined;
}
