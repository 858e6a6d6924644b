/**
 * HTTP filters of filtered steals: every condition given must match. The patterns are the
 * user's and the headers anyone's, so they run on RE2 (re2js: linear time, as mirrord's Rust
 * `regex`): no header can make a filter backtrack for seconds and stall every other request.
 * RE2 has no backreferences or lookaround; such a pattern is refused at subscribe.
 */
import type { IncomingMessage } from 'node:http';
import { RE2JS } from 're2js';
import type { HttpFilter } from '../../protocol/messages';

/** What a filter looks at: an HTTP/1.x request's line and headers, or an HTTP/2 request's (h2-filtered-steal.ts). */
export type RequestLine = Pick<IncomingMessage, 'method' | 'url' | 'rawHeaders'>;

export type RequestMatcher = (request: RequestLine) => boolean;

/** Compiles a filter, throwing an Error naming the bad field when a regex is invalid. */
export function compileFilter(filter: HttpFilter): RequestMatcher {
  const header = filter.header === undefined ? undefined : regex('header', filter.header);
  const path = filter.path === undefined ? undefined : regex('path', filter.path);
  const method = filter.method?.toUpperCase();
  return (request) => {
    if (method !== undefined && request.method?.toUpperCase() !== method) return false;
    if (path && !path.test(request.url ?? '')) return false;
    if (header && !anyHeaderLine(request.rawHeaders, header)) return false;
    return true;
  };
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
