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
