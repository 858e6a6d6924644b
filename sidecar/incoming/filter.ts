/**
 * HTTP filters of filtered steals: every condition given must match. The patterns are the
 * user's and the headers anyone's, so they run on RE2 (re2js: linear time, as mirrord's Rust
 * `regex`): no header can make a filter backtrack for seconds and stall every other request.
 * RE2 has no backreferences or lookaround; such a pattern is refused at subscribe. `all` and
 * `any` nest filters; a `body` condition looks at a JSON request body, which the steal reads
 * first (bounded: body.ts).
 */
import type { IncomingMessage } from 'node:http';
import { RE2JS } from 're2js';
import { evaluateJsonPath, jsonValueText, parseJsonPath } from '../../protocol/json-path';
import type { HttpFilter } from '../../protocol/messages';

/** What a filter looks at: an HTTP/1.x request's line and headers, or an HTTP/2 request's (h2-filtered-steal.ts). */
export type RequestLine = Pick<IncomingMessage, 'method' | 'url' | 'rawHeaders'>;

/** A compiled filter; `body` is the request's body when it was read (a filter on the body needs it, and fails without). */
export type RequestMatcher = ((request: RequestLine, body?: Buffer) => boolean) & {
  /** Whether some condition looks at the body: the request's body must be read before it is routed. */
  readonly needsBody: boolean;
};

/** Compiles a filter, throwing an Error naming the bad field when a regex or a JSONPath is invalid. */
export function compileFilter(filter: HttpFilter): RequestMatcher {
  const header = filter.header === undefined ? undefined : regex('header', filter.header);
  const path = filter.path === undefined ? undefined : regex('path', filter.path);
  const method = filter.method?.toUpperCase();
  const body = filter.body === undefined ? undefined : bodyMatcher(filter.body);
  const all = (filter.all ?? []).map(compileFilter);
  const any = (filter.any ?? []).map(compileFilter);
  const matcher = (request: RequestLine, content?: Buffer) => {
    if (method !== undefined && request.method?.toUpperCase() !== method) return false;
    if (path && !path.test(request.url ?? '')) return false;
    if (header && !anyHeaderLine(request.rawHeaders, header)) return false;
    if (body && !body(request, content)) return false;
    if (!all.every((inner) => inner(request, content))) return false;
    return !any.length || any.some((inner) => inner(request, content));
  };
  return Object.assign(matcher, { needsBody: body !== undefined || [...all, ...any].some((inner) => inner.needsBody) });
}

/** A JSON body's values at the query, one of which must match: not JSON (by Content-Type or content), no match. */
function bodyMatcher({ query, matches }: { query: string; matches: string }): (request: RequestLine, body?: Buffer) => boolean {
  const segments = parseJsonPath(query);
  if (segments instanceof Error) throw new Error(`invalid body filter query: ${segments.message}`);
  const pattern = regex('body', matches);
  return (request, body) => {
    if (!body || !isJson(request.rawHeaders)) return false;
    let document: unknown;
    try {
      document = JSON.parse(body.toString('utf8'));
    } catch {
      return false;
    }
    return evaluateJsonPath(segments, document).some((value) => pattern.test(jsonValueText(value)));
  };
}

function isJson(rawHeaders: string[]): boolean {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'content-type') return /json/i.test(rawHeaders[i + 1]!);
  }
  return false;
}

function anyHeaderLine(rawHeaders: string[], pattern: RE2JS): boolean {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (pattern.test(`${rawHeaders[i]}: ${rawHeaders[i + 1]}`)) return true;
  }
  return false;
}

function regex(field: string, source: string): RE2JS {
  try {
    return RE2JS.compile(source);
  } catch (error) {
    throw new Error(`invalid ${field} filter /${source}/: ${(error as Error).message} (filters are RE2 regular expressions: no backreferences or lookaround)`);
  }
}
