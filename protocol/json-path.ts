/**
 * The JSONPath of body filters (mirrord's `body_filter.query`, RFC 9535): the CLI checks a query
 * when it reads the config, the sidecar when a session subscribes, and evaluates it on each JSON
 * request body. The part of RFC 9535 a filter needs to name values: the root `$`, member names
 * (`.name`, `['name']`), indexes (`[0]`, `[-1]`), wildcards (`.*`, `[*]`) and descendants
 * (`..name`, `..*`). Filter expressions (`[?…]`) and slices are refused with a clear error.
 */

export type Segment = { kind: 'child' | 'descendant'; selector: { name: string } | { index: number } | { wildcard: true } };

/** The query's segments, or an Error saying what is not understood, and where. */
export function parseJsonPath(query: string): Segment[] | Error {
  if (!query.startsWith('$')) return new Error(`a JSONPath starts with $ (got "${query}")`);
  const segments: Segment[] = [];
  let at = 1;
  const fail = (what: string) => new Error(`${what} at character ${at + 1} of "${query}"`);
  while (at < query.length) {
    let kind: Segment['kind'] = 'child';
    if (query.startsWith('..', at)) {
      kind = 'descendant';
      at += 2;
    } else if (query[at] === '.') at += 1;
    else if (query[at] !== '[') return fail('expected . or [');
    if (query[at] === '[') {
      const end = query.indexOf(']', at);
      if (end < 0) return fail('an unclosed [');
      const inside = query.slice(at + 1, end).trim();
      at = end + 1;
      const quoted = /^'((?:[^'\\]|\\.)*)'$|^"((?:[^"\\]|\\.)*)"$/.exec(inside);
      if (inside === '*') segments.push({ kind, selector: { wildcard: true } });
      else if (/^-?\d+$/.test(inside)) segments.push({ kind, selector: { index: Number(inside) } });
      else if (quoted) segments.push({ kind, selector: { name: (quoted[1] ?? quoted[2] ?? '').replace(/\\(.)/g, '$1') } });
      else if (inside.startsWith('?')) return fail('filter expressions ([?…]) are not supported');
      else return fail(`"[${inside}]" is not a name, an index or *`);
    } else {
      const name = /^(\*|[A-Za-z_\u0080-\uffff][\w\u0080-\uffff-]*)/.exec(query.slice(at));
      if (!name) return fail('expected a member name or *');
      at += name[1]!.length;
      segments.push({ kind, selector: name[1] === '*' ? { wildcard: true } : { name: name[1]! } });
    }
  }
  return segments;
}

function children(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === 'object') return Object.values(value);
  return [];
}

function select(value: unknown, selector: Segment['selector']): unknown[] {
  if ('wildcard' in selector) return children(value);
  if ('index' in selector) {
    if (!Array.isArray(value)) return [];
    const index = selector.index < 0 ? value.length + selector.index : selector.index;
    return index >= 0 && index < value.length ? [value[index]] : [];
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.prototype.hasOwnProperty.call(value, selector.name) ? [(value as Record<string, unknown>)[selector.name]] : [];
}

/** Every node below `value` and itself, depth first. */
function descendants(value: unknown, into: unknown[] = []): unknown[] {
  into.push(value);
  for (const child of children(value)) descendants(child, into);
  return into;
}

/** The values the segments select in `document`. */
export function evaluateJsonPath(segments: Segment[], document: unknown): unknown[] {
  let nodes = [document];
  for (const { kind, selector } of segments) {
    const from = kind === 'descendant' ? nodes.flatMap((node) => descendants(node)) : nodes;
    nodes = from.flatMap((node) => select(node, selector));
  }
  return nodes;
}

/** A selected value as the filter's regex sees it: strings as they are, anything else as JSON. */
export function jsonValueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
