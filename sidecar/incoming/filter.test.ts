import type { IncomingMessage } from 'node:http';
import { compileFilter } from './filter';

function request(method: string, url: string, headers: Record<string, string>): IncomingMessage {
  return { method, url, rawHeaders: Object.entries(headers).flat() } as unknown as IncomingMessage;
}

describe('compileFilter', () => {
  const get = request('GET', '/api/users?id=1', { Host: 'x', 'X-User': 'alice' });

  it('matches a header line as "Name: value"', () => {
    expect(compileFilter({ header: '^X-User: alice$' })(get)).toBe(true);
    expect(compileFilter({ header: '^X-User: bob$' })(get)).toBe(false);
  });

  it('matches the path with its query', () => {
    expect(compileFilter({ path: '^/api/users\\?id=1$' })(get)).toBe(true);
    expect(compileFilter({ path: '^/health' })(get)).toBe(false);
  });

  it('compares the method case-insensitively', () => {
    expect(compileFilter({ method: 'get' })(get)).toBe(true);
    expect(compileFilter({ method: 'POST' })(get)).toBe(false);
  });

  it('requires every given condition', () => {
    expect(compileFilter({ method: 'GET', header: 'X-User: alice' })(get)).toBe(true);
    expect(compileFilter({ method: 'GET', header: 'X-User: bob' })(get)).toBe(false);
  });

  it('names the field of an invalid regex', () => {
    expect(() => compileFilter({ path: '(' })).toThrow(/invalid path filter/);
  });
});

describe('compileFilter: nested filters and JSON bodies', () => {
  const post = request('POST', '/orders', { 'Content-Type': 'application/json', 'X-User': 'bob' });
  const body = Buffer.from(JSON.stringify({ order: { user: 'alice', items: [{ sku: 'A-1' }, { sku: 'B-2' }] } }));

  it('matches a value of the JSON body at the query, and needs the body for it', () => {
    const byUser = compileFilter({ body: { query: '$.order.user', matches: '^alice$' } });
    expect(byUser.needsBody).toBe(true);
    expect(byUser(post, body)).toBe(true);
    expect(byUser(post)).toBe(false);
    expect(compileFilter({ body: { query: '$..sku', matches: '^B-' } })(post, body)).toBe(true);
    expect(compileFilter({ body: { query: '$..sku', matches: '^C-' } })(post, body)).toBe(false);
    // Not JSON by its Content-Type, or not parsable: no match.
    expect(byUser(request('POST', '/orders', { 'Content-Type': 'text/plain' }), body)).toBe(false);
    expect(byUser(post, Buffer.from('{"order":'))).toBe(false);
    expect(compileFilter({ header: 'x' }).needsBody).toBe(false);
  });

  it('all must match and any one of any: header or body, path and method', () => {
    const filter = compileFilter({ method: 'POST', any: [{ header: '^X-User: alice$' }, { body: { query: '$.order.user', matches: '^alice$' } }] });
    expect(filter.needsBody).toBe(true);
    expect(filter(post, body)).toBe(true);
    expect(filter(post, Buffer.from('{"order":{"user":"carol"}}'))).toBe(false);
    expect(compileFilter({ all: [{ header: '^X-User: bob$' }, { path: '^/orders$' }] })(post)).toBe(true);
    expect(compileFilter({ all: [{ header: '^X-User: bob$' }, { header: '^X-User: alice$' }] })(post)).toBe(false);
  });

  it('refuses a JSONPath it does not understand, naming the body filter', () => {
    expect(() => compileFilter({ body: { query: '$.a[?(@.b)]', matches: 'x' } })).toThrow(/^invalid body filter query: filter expressions/);
  });
});
