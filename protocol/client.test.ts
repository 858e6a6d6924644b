/**
 * The client against the sidecar's real Session (handshake, version rule, files beneath the
 * root), and against a misbehaving far end. Real WebSockets on loopback; no iptables needed.
 */
import { hostname } from 'node:os';
import { once } from 'node:events';
import WebSocket from 'ws';
import { startTestSidecar, type TestSidecar } from '../test/harness/test-sidecar';
import { Client } from './client';
import { PROTOCOL_VERSION } from './version';
import { RemoteError } from './errors';
import { decodeFrame, encodeControl, FrameKind, type Frame } from './frame';
import { closed, LoopbackServer } from '../test/harness/peer-pair';

let sidecar: TestSidecar;
let url: string;
let root: string;

beforeAll(async () => {
  sidecar = await startTestSidecar();
  ({ url, root } = sidecar);
});

afterAll(() => sidecar.close());

async function rawSocket(): Promise<{ socket: WebSocket; frames: Frame[]; closing: Promise<{ code: number; reason: string }> }> {
  const socket = new WebSocket(url, { perMessageDeflate: false });
  const frames: Frame[] = [];
  socket.on('message', (data: Buffer) => frames.push(decodeFrame(data)));
  const closing = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await once(socket, 'open');
  return { socket, frames, closing };
}

describe('handshake with the sidecar', () => {
  it('hello first, then typed calls', async () => {
    const client = await Client.start(new WebSocket(url), { client: 'unit test' });
    expect(client.info).toEqual({
      sessionId: expect.stringMatching(/^[0-9a-f]{8}$/),
      protocolVersion: PROTOCOL_VERSION,
      sidecarVersion: expect.any(String),
      pod: { name: 'app-0', namespace: 'default', ip: '10.0.0.5' },
      appRoot: root,
      mounts: ['/'],
      hostname: hostname(),
    });
    expect(await client.env()).toEqual({ DATABASE_URL: 'postgres://db:5432/app' });
    const { result } = await client.call('sessions', {});
    expect(result.sessions).toContainEqual({ id: client.info.sessionId, client: 'unit test', since: expect.any(String), subscriptions: [] });
    client.close();
    expect(await client.closed()).toBe('session closed');
  });

  it('accepts a newer minor of the same major', async () => {
    const client = await Client.start(new WebSocket(url), { version: '1.99' });
    expect(client.info.protocolVersion).toBe(PROTOCOL_VERSION);
    client.close();
  });

  it('refuses another major: an error envelope without id (EVERSION), then close code 4003', async () => {
    const { socket, frames, closing } = await rawSocket();
    socket.send(encodeControl({ type: 'request', id: 1, method: 'hello', params: { version: '2.0', client: 'future' } }));
    const why = 'protocol 2.0 is not supported: this sidecar speaks 1.x; use a mirrord CLI of the same major version as the sidecar';
    expect(frames).toEqual([]);
    const { code, reason } = await closing;
    expect(code).toBe(4003);
    expect(why.startsWith(reason)).toBe(true);
    expect(frames).toEqual([{ kind: FrameKind.Control, message: { type: 'error', code: 'EVERSION', message: why }, attachment: undefined }]);
  });

  it('Client.start fails with the reason when the major differs', async () => {
    const error = await Client.start(new WebSocket(url), { version: '2.3' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as Error).message).toMatch(/^session closed: EVERSION: protocol 2\.3 is not supported: this sidecar speaks 1\.x/);
  });

  it('a request before hello ends the session with 4002', async () => {
    const { socket, frames, closing } = await rawSocket();
    socket.send(encodeControl({ type: 'request', id: 1, method: 'env', params: {} }));
    expect(await closing).toEqual({ code: 4002, reason: 'the first request must be hello, not env' });
    expect(frames).toEqual([
      { kind: FrameKind.Control, message: { type: 'error', code: 'EPROTO', message: 'the first request must be hello, not env' }, attachment: undefined },
    ]);
  });

  it('an unknown or invalid request gets an EINVAL error reply; the session goes on', async () => {
    const client = await Client.start(new WebSocket(url));
    await expect(client.call('fs.tail' as 'env', {})).rejects.toEqual(new RemoteError('EINVAL', 'unknown request "fs.tail"'));
    const error = (await client.call('resolve', { host: '', family: 0 }).catch((e: unknown) => e)) as RemoteError;
    expect(error.code).toBe('EINVAL');
    expect(error.message).toMatch(/^invalid resolve: host: /);
    await expect(client.call('hello', { version: '1.0' })).rejects.toEqual(new RemoteError('EINVAL', 'hello was already sent'));
    expect(client.peer.isOpen).toBe(true);
    client.close();
  });
});

describe('files through the session', () => {
  it('reads a file by the path the app sees', async () => {
    const client = await Client.start(new WebSocket(url));
    expect((await client.readFile('/hello.txt')).toString()).toBe('hello from the pod\n');
    expect((await client.readFile('/./sub/../hello.txt')).toString()).toBe('hello from the pod\n');
    client.close();
  });

  it('keeps the fd position; refuses ".." above "/" with EXDEV and a missing file with ENOENT', async () => {
    const client = await Client.start(new WebSocket(url));
    const { result } = await client.call('fs.open', { path: '/hello.txt', flags: 0 });
    expect(result.stat.size).toBe(19);
    const first = await client.call('fs.read', { fd: result.fd, length: 6 });
    const second = await client.call('fs.read', { fd: result.fd, length: 4 });
    expect([first.attachment?.toString(), second.attachment?.toString()]).toEqual(['hello ', 'from']);
    expect((await client.call('fs.seek', { fd: result.fd, offset: -4, whence: 'end' })).result.position).toBe(15);
    await client.call('fs.close', { fd: result.fd });
    const escape = (await client.call('fs.stat', { path: '/../etc/passwd', follow: true }).catch((e: unknown) => e)) as RemoteError;
    expect(escape.code).toBe('EXDEV');
    const missing = (await client.call('fs.stat', { path: '/nope', follow: true }).catch((e: unknown) => e)) as RemoteError;
    expect(missing.code).toBe('ENOENT');
    const closedFd = (await client.call('fs.read', { fd: result.fd, length: 1 }).catch((e: unknown) => e)) as RemoteError;
    expect(closedFd.code).toBe('EBADF');
    client.close();
  });
});

describe('a misbehaving sidecar', () => {
  let fake: LoopbackServer;

  beforeAll(async () => {
    fake = await LoopbackServer.start({
      onPeer: (peer) =>
        peer.on('request', ({ id }) =>
          peer.reply(id, {
            sessionId: 'fake',
            protocolVersion: PROTOCOL_VERSION,
            sidecarVersion: '0',
            pod: { name: '', namespace: '', ip: '' },
            appRoot: '/',
            mounts: [],
          }),
        ),
    });
  });
  afterAll(() => fake.close());

  const incoming = (stream: number) => ({
    stream,
    port: 80,
    mode: 'steal' as const,
    kind: 'connection' as const,
    remote: { address: '10.0.0.9', port: 40000 },
    local: { address: '10.0.0.5', port: 80 },
  });

  it('an incoming stream id of the client parity closes the session with 4002', async () => {
    const { socket, server } = await fake.connectRaw();
    const client = await Client.start(socket);
    const seen: number[] = [];
    client.onIncoming((connection) => {
      connection.socket.on('error', () => undefined);
      seen.push(connection.stream);
    });
    const ended = closed(client.peer);
    server.emitEvent('incoming', incoming(2));
    server.emitEvent('incoming', incoming(3));
    expect(await ended).toEqual({
      code: 4002,
      reason: "malformed frame: incoming connection on stream 3 is not the other side's to allocate (client ids are odd, sidecar ids even)",
    });
    expect(seen).toEqual([2]);
  });

  it('an incoming stream id already in use closes the session with 4002', async () => {
    const { socket, server } = await fake.connectRaw();
    const client = await Client.start(socket);
    client.onIncoming((connection) => connection.socket.on('error', () => undefined));
    const ended = closed(client.peer);
    server.emitEvent('incoming', incoming(4));
    server.emitEvent('incoming', incoming(4));
    expect(await ended).toEqual({ code: 4002, reason: 'malformed frame: incoming connection on stream 4 is already in use' });
  });
});

describe('an older sidecar', () => {
  let fake: LoopbackServer;
  const subscribed: unknown[] = [];

  beforeAll(async () => {
    fake = await LoopbackServer.start({
      onPeer: (peer) =>
        peer.on('request', ({ id, method, params }) => {
          if (method === 'subscribe') {
            subscribed.push(params);
            return peer.reply(id, { port: 80 });
          }
          peer.reply(id, {
            sessionId: 'old',
            protocolVersion: '1.5',
            sidecarVersion: '0',
            pod: { name: 'app-0', namespace: '', ip: '' },
            appRoot: '/',
            mounts: [],
          });
        }),
    });
  });
  afterAll(() => fake.close());

  it('is never sent a filter it would refuse or drop conditions of: a filtered mirror, a body filter', async () => {
    const { socket } = await fake.connectRaw();
    const client = await Client.start(socket);
    await expect(client.subscribe({ port: 80, mode: 'mirror', filter: { header: '^x-user: me$' } })).rejects.toThrow(
      /pod app-0 speaks protocol 1\.5: mirroring with an HTTP filter needs 1\.7/,
    );
    await expect(client.subscribe({ port: 80, mode: 'steal', filter: { body: { query: '$.user', matches: 'me' } } })).rejects.toThrow(
      /HTTP filters on the body, or with all_of\/any_of beyond one condition of a kind, need 1\.6/,
    );
    await client.subscribe({ port: 80, mode: 'steal', filter: { header: '^x-user: me$' } });
    expect(subscribed).toEqual([{ port: 80, mode: 'steal', filter: { header: '^x-user: me$' } }]);
    client.close();
  });
});
