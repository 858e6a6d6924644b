/** HTTP filters of filtered steals: every condition given must match. */
import type { IncomingMessage } from 'node:http';
import type { HttpFilter } from '../../protocol/messages';

export type RequestMatcher = (request: IncomingMessage) => boolean;

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

function anyHeaderLine(rawHeaders: string[], pattern: RegExp): boolean {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (pattern.test(`${rawHeaders[i]}: ${rawHeaders[i + 1]}`)) return true;
  }
  return false;
}

function regex(field: string, source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new Error(`invalid ${field} filter /${source}/: ${(error as Error).message}`);
  }
}
