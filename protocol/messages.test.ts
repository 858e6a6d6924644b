import { describeIssues, envelope, events, httpFilter, isEventType, isRequestType, requests } from './messages';

describe('envelope', () => {
  it('accepts the four kinds of control message', () => {
    for (const message of [
      { type: 'request', id: 1, method: 'env', params: {} },
      { type: 'reply', id: 1, result: { env: {} } },
      { type: 'error', id: 1, code: 'ENOENT', message: 'gone' },
      { type: 'error', code: 'EVERSION', message: 'too new' },
      { type: 'event', event: 'notice', data: { level: 'info', message: 'x' } },
    ]) {
      expect(envelope.parse(message)).toEqual(message);
    }
  });

  it('drops unknown fields, so a minor version can add them', () => {
    expect(envelope.parse({ type: 'reply', id: 2, result: 1, traceId: 'abc' })).toEqual({ type: 'reply', id: 2, result: 1 });
  });

  it('names what is wrong', () => {
    const checked = envelope.safeParse({ type: 'request', id: -3, method: 5, params: {} });
    expect(checked.success).toBe(false);
    if (checked.success) return;
    const text = describeIssues(checked.error);
    expect(text).toMatch(/^id: /);
    expect(text).toMatch(/; method: /);
  });
});

describe('requests and events', () => {
  it('knows every request by its exact name, and nothing inherited', () => {
    expect(Object.keys(requests).sort()).toEqual(
      [
        'connect',
        'env',
        'fs.access',
        'fs.chmod',
        'fs.close',
        'fs.fstat',
        'fs.mkdir',
        'fs.open',
        'fs.read',
        'fs.readdir',
        'fs.readlink',
        'fs.rename',
        'fs.rmdir',
        'fs.seek',
        'fs.stat',
        'fs.statfs',
        'fs.truncate',
        'fs.unlink',
        'fs.utimes',
        'fs.write',
        'hello',
        'resolve',
        'sessions',
        'sessions.kill',
        'subscribe',
        'unsubscribe',
      ].sort(),
    );
    expect(isRequestType('fs.read')).toBe(true);
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'fs', '']) expect(isRequestType(name)).toBe(false);
    expect(Object.keys(events).sort()).toEqual(['incoming', 'notice']);
    expect(isEventType('incoming')).toBe(true);
    expect(isEventType('valueOf')).toBe(false);
  });

  it('checks ports, stream ids and fds', () => {
    const connect = requests.connect.params;
    expect(connect.safeParse({ stream: 1, protocol: 'tcp', host: 'db', port: 5432 }).success).toBe(true);
    expect(connect.safeParse({ stream: 0, protocol: 'tcp', host: 'db', port: 5432 }).success).toBe(false);
    expect(connect.safeParse({ stream: 2 ** 32, protocol: 'tcp', host: 'db', port: 5432 }).success).toBe(false);
    expect(connect.safeParse({ stream: 1, protocol: 'sctp', host: 'db', port: 5432 }).success).toBe(false);
    expect(connect.safeParse({ stream: 1, protocol: 'udp', host: '', port: 53 }).success).toBe(false);
    expect(connect.safeParse({ stream: 1, protocol: 'udp', host: 'dns', port: 0 }).success).toBe(false);
    expect(connect.safeParse({ stream: 1, protocol: 'udp', host: 'dns', port: 65536 }).success).toBe(false);
    expect(requests['fs.read'].params.safeParse({ fd: 3, length: 1 << 20 }).success).toBe(true);
    expect(requests['fs.read'].params.safeParse({ fd: 3, length: (1 << 20) + 1 }).success).toBe(false);
    expect(requests['fs.read'].params.safeParse({ fd: -1, length: 1 }).success).toBe(false);
    expect(requests.resolve.params.safeParse({ host: 'a', family: 5 }).success).toBe(false);
    expect(requests.resolve.params.safeParse({ host: 'a'.repeat(254), family: 0 }).success).toBe(false);
    expect(requests['fs.seek'].params.safeParse({ fd: 3, offset: -10, whence: 'end' }).success).toBe(true);
  });

  it('needs at least one condition in an HTTP filter', () => {
    expect(httpFilter.safeParse({ header: '^x-user: me$' }).success).toBe(true);
    expect(httpFilter.safeParse({ method: 'GET' }).success).toBe(true);
    const empty = httpFilter.safeParse({});
    expect(empty.success).toBe(false);
    if (!empty.success) expect(describeIssues(empty.error)).toBe('an HTTP filter needs at least one of header, path, method, body, all, any');
    const subscribe = requests.subscribe.params;
    expect(subscribe.safeParse({ port: 80, mode: 'steal', filter: { path: '^/api' } }).success).toBe(true);
    expect(subscribe.safeParse({ port: 80, mode: 'borrow' }).success).toBe(false);
  });

  it('describes incoming connections and filtered requests', () => {
    const base = {
      stream: 2,
      port: 80,
      mode: 'steal',
      remote: { address: '10.0.0.9', port: 41000 },
      local: { address: '10.0.0.5', port: 80 },
    };
    expect(events.incoming.safeParse({ ...base, kind: 'connection' }).success).toBe(true);
    expect(events.incoming.safeParse({ ...base, kind: 'request', request: { method: 'GET', path: '/a?b' } }).success).toBe(true);
    expect(events.incoming.safeParse({ ...base, kind: 'datagram' }).success).toBe(false);
    expect(events.notice.safeParse({ level: 'debug', message: 'x' }).success).toBe(false);
  });
});
