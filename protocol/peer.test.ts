/**
 * Peer over real WebSockets on loopback: requests and replies, events, malformed input, liveness.
 */
import { once } from 'node:events';
import net from 'node:net';
import WebSocket from 'ws';
import { ProtocolError, RemoteError } from './errors';
import { decodeFrame, encodeControl, encodeCredit, FrameKind, type Frame } from './frame';
import type { Envelope } from './messages';
import { Peer, type IncomingRequest } from './peer';
import { closed, LoopbackServer, until } from '../test/harness/peer-pair';

/** The answers of the test server: a few requests, answered the way a sidecar would. */
function serve(peer: Peer): void {
  peer.on('request', (request: IncomingRequest) => {
    const { id, method, params } = request;
    switch (method) {
      case 'env':
        return peer.reply(id, { env: { FROM: 'pod', ID: String(id) } });
      case 'resolve': {
        const { host } = params as { host: string };
        // Answers later for longer names, so replies come back out of order.
        return void setTimeout(
          () => {
            if (host.startsWith('missing')) peer.replyError(id, 'ENOTFOUND', `getaddrinfo ENOTFOUND ${host}`);
            else peer.reply(id, { addresses: [{ address: `10.0.0.${host.length}`, family: 4 }] });
          },
          60 - host.length * 5,
        );
      }
      case 'fs.read':
        return peer.reply(id, { bytesRead: 4 }, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      case 'fs.write':
        return peer.reply(id, { bytesWritten: request.attachment?.length ?? 0 });
      case 'sessions':
        return peer.reply(id, { sessions: 'not a list' });
      case 'fs.close':
        return peer.reply(id + 1000, {});
      case 'unsubscribe':
        peer.emitEvent('notice', { level: 'warn', message: 'disk almost full' });
        return peer.reply(id, {});
      default:
        return peer.replyError(id, 'EINVAL', `unknown request "${method}"`);
    }
  });
}

// Generous: a loaded machine may be many times slower than the usual few hundred milliseconds.
jest.setTimeout(30_000);

let server: LoopbackServer;

beforeAll(async () => {
  server = await LoopbackServer.start({ onPeer: serve });
});
afterAll(() => server.close());

/** The frames a raw client receives, decoded. */
function received(socket: WebSocket): Frame[] {
  const frames: Frame[] = [];
  socket.on('message', (data: Buffer) => frames.push(decodeFrame(data)));
  return frames;
}

function closeOf(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => socket.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
}

describe('requests and replies', () => {
  it('answers a request with its result', async () => {
    const { client } = await server.connect();
    expect((await client.call('env', {})).result).toEqual({ env: { FROM: 'pod', ID: '1' } });
    client.close();
  });

  it('matches each reply to its request, in whatever order replies come', async () => {
    const { client } = await server.connect();
    const hosts = ['a', 'bb', 'ccc', 'missing-dddd', 'eeeee', 'ffffff', 'missing-g'];
    const results = await Promise.allSettled(hosts.map((host) => client.call('resolve', { host, family: 0 })));
    results.forEach((outcome, i) => {
      if (hosts[i].startsWith('missing')) {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason as RemoteError;
        expect(error).toBeInstanceOf(RemoteError);
        expect(error.code).toBe('ENOTFOUND');
        expect(error.message).toBe(`getaddrinfo ENOTFOUND ${hosts[i]}`);
      } else {
        expect(outcome).toEqual({
          status: 'fulfilled',
          value: { result: { addresses: [{ address: `10.0.0.${hosts[i].length}`, family: 4 }] }, attachment: undefined },
        });
      }
    });
    client.close();
  });

  it('carries attachments both ways', async () => {
    const { client } = await server.connect();
    const read = await client.call('fs.read', { fd: 3, length: 4 });
    expect(read.result).toEqual({ bytesRead: 4 });
    expect(read.attachment).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    const written = await client.call('fs.write', { fd: 3 }, Buffer.alloc(1000, 1));
    expect(written.result).toEqual({ bytesWritten: 1000 });
    client.close();
  });

  it('an error reply rejects with a RemoteError carrying the code', async () => {
    const { client } = await server.connect();
    await expect(client.call('fs.stat', { path: '/etc/hosts', follow: true })).rejects.toEqual(new RemoteError('EINVAL', 'unknown request "fs.stat"'));
    const error = await client.call('fs.stat', { path: '/', follow: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).code).toBe('EINVAL');
    expect(client.isOpen).toBe(true);
    client.close();
  });

  it('a reply of the wrong shape rejects that call with a ProtocolError; the session goes on', async () => {
    const { client } = await server.connect();
    const error = await client.call('sessions', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/^invalid sessions reply: sessions: /);
    expect((await client.call('env', {})).result.env.FROM).toBe('pod');
    client.close();
  });

  it('a reply to an unknown request ends the session with 4002', async () => {
    const { client, server: remote } = await server.connect();
    const serverClosed = closed(remote);
    const clientClosed = closed(client);
    const pending = client.call('fs.close', { fd: 3 }).catch((e: unknown) => e);
    // The client found the fault and closed; the sidecar side learns why from the error envelope.
    expect(await clientClosed).toEqual({ code: 4002, reason: 'malformed frame: reply to unknown request 1001' });
    expect(await serverClosed).toEqual({ code: 4002, reason: 'EPROTO: malformed frame: reply to unknown request 1001' });
    const error = (await pending) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.code).toBe('EPROTO');
    expect(error.message).toBe('session closed: malformed frame: reply to unknown request 1001');
  });

  it('pending calls fail when the session drops, and calls on a closed session fail at once', async () => {
    const { client, server: remote } = await server.connect();
    remote.removeAllListeners('request'); // never answers
    const pending = client.call('env', {}).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    remote.terminate('test cut the connection');
    const error = (await pending) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.code).toBe('EPROTO');
    expect(error.message).toBe('session closed: the connection dropped');
    await expect(client.call('env', {})).rejects.toThrow('session is closed: the connection dropped');
  });
});

describe('events', () => {
  it('delivers known events, checked', async () => {
    const { client } = await server.connect();
    const events: unknown[] = [];
    client.on('event', (name, data) => events.push([name, data]));
    await client.call('unsubscribe', { port: 80 });
    expect(events).toEqual([['notice', { level: 'warn', message: 'disk almost full' }]]);
    client.close();
  });

  it("ignores events it doesn't know (a newer minor's)", async () => {
    const { socket, server: remote } = await server.connectRaw();
    const client = new Peer(socket, { role: 'client' });
    const events: unknown[] = [];
    client.on('event', (name, data) => events.push([name, data]));
    (remote as unknown as { sendControl(m: Envelope): void }).sendControl({ type: 'event', event: 'future', data: { x: 1 } });
    remote.emitEvent('notice', { level: 'info', message: 'after' });
    await until(() => events.length === 1, 'the notice');
    expect(events).toEqual([['notice', { level: 'info', message: 'after' }]]);
    expect(client.isOpen).toBe(true);
    client.close();
  });

  it('an invalid event ends the session with 4002', async () => {
    const { client, server: remote } = await server.connect();
    const ended = closed(client);
    remote.emitEvent('notice', { level: 'loud', message: 'x' } as never);
    expect(await ended).toEqual({ code: 4002, reason: expect.stringMatching(/^malformed frame: invalid notice event: level: /) });
  });
});

describe('malformed input', () => {
  it.each([
    ['an unknown frame kind', Buffer.from([9, 0, 0, 0, 1]), 'malformed frame: unknown frame kind 9'],
    ['a zero credit', encodeCredit(1, 0), 'malformed frame: CREDIT frame grants 0 bytes'],
    ['a truncated frame', Buffer.from([1, 0]), 'malformed frame: frame of 2 bytes is shorter than its 5-byte header'],
    ['a frame of garbage', Buffer.from('ffffffff0102030405060708', 'hex'), 'malformed frame: unknown frame kind 255'],
  ])('%s closes the session with 4002 and an error message', async (_name, garbage, message) => {
    const { socket, server: remote } = await server.connectRaw();
    const other = await server.connect();
    const frames = received(socket);
    const socketClosed = closeOf(socket);
    const peerClosed = closed(remote);
    socket.send(garbage);
    expect(await socketClosed).toEqual({ code: 4002, reason: message });
    expect(frames).toEqual([{ kind: FrameKind.Control, message: { type: 'error', code: 'EPROTO', message }, attachment: undefined }]);
    expect(await peerClosed).toEqual({ code: 4002, reason: message });
    // Another session on the same server is unaffected.
    expect(other.client.isOpen).toBe(true);
    expect((await other.client.call('env', {})).result.env.FROM).toBe('pod');
    other.client.close();
  });

  it('a text message closes the session with 4002', async () => {
    const { socket } = await server.connectRaw();
    const frames = received(socket);
    const socketClosed = closeOf(socket);
    socket.send('{"type":"request","id":1,"method":"env","params":{}}');
    const message = 'malformed frame: text WebSocket messages are not part of the protocol';
    expect(await socketClosed).toEqual({ code: 4002, reason: message });
    expect(frames).toEqual([{ kind: FrameKind.Control, message: { type: 'error', code: 'EPROTO', message }, attachment: undefined }]);
  });

  it('a long non-ASCII error still closes the session, with a reason cut to 123 bytes', async () => {
    const { socket } = await server.connectRaw();
    const other = await server.connect();
    const frames = received(socket);
    const socketClosed = closeOf(socket);
    const json = Buffer.from('€'.repeat(40), 'utf8');
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, json.length]), json]);
    socket.send(frame);
    const { code, reason } = await socketClosed;
    expect(code).toBe(4002);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason).toMatch(/^malformed frame: CONTROL frame is not valid JSON: /);
    expect(reason).not.toMatch(/\ufffd/); // cut between characters, not inside one
    const error = frames[0];
    expect(error.kind === FrameKind.Control && error.message.type === 'error' && Buffer.byteLength(error.message.message)).toBeGreaterThan(123);
    expect(error.kind === FrameKind.Control && error.message.type === 'error' && error.message.message.startsWith(reason)).toBe(true);
    expect((await other.client.call('env', {})).result.env.FROM).toBe('pod');
    other.client.close();
  });

  it('a garbage frame from the sidecar side closes the client too', async () => {
    const { client, serverSocket } = await server.connect();
    const ended = closed(client);
    serverSocket.send(Buffer.from([0, 0, 0, 0, 2, 0x7b, 0x7d]));
    expect(await ended).toEqual({ code: 4002, reason: expect.stringMatching(/^malformed frame: invalid control message: type: /) });
  });

  it('nothing after a failure is processed', async () => {
    const { socket, server: remote } = await server.connectRaw();
    const requests: unknown[] = [];
    remote.on('request', (request) => requests.push(request));
    const socketClosed = closeOf(socket);
    socket.send(Buffer.from([7, 0, 0, 0, 1]));
    socket.send(encodeControl({ type: 'request', id: 1, method: 'env', params: {} }));
    await socketClosed;
    expect(requests).toEqual([]);
  });
});

describe('close', () => {
  it('a normal close reaches both ends with code 1000', async () => {
    const { client, server: remote } = await server.connect();
    const serverClosed = closed(remote);
    const clientClosed = closed(client);
    client.close();
    expect(await clientClosed).toEqual({ code: 1000, reason: 'session closed' });
    expect(await serverClosed).toEqual({ code: 1000, reason: 'session closed' });
    expect(client.isOpen).toBe(false);
  });

  it('fail() sends an error without id, then the close code', async () => {
    const { client, server: remote } = await server.connect();
    const ended = closed(client);
    remote.fail('EPROTO', 'sidecar received SIGTERM', 4005);
    expect(await ended).toEqual({ code: 4005, reason: 'EPROTO: sidecar received SIGTERM' });
    expect(client.closeReason).toBe('EPROTO: sidecar received SIGTERM');
  });
});

describe('heartbeat', () => {
  const period = 300;
  let beating: LoopbackServer;

  beforeAll(async () => {
    beating = await LoopbackServer.start({ heartbeatMs: period, onPeer: serve });
  });
  afterAll(() => beating.close());

  it('keeps a session whose other end answers pings', async () => {
    const { client, server: remote } = await beating.connect();
    let pings = 0;
    client.socket.on('ping', () => pings++);
    await until(() => pings >= 4, 'four pings');
    expect(remote.isOpen).toBe(true);
    expect((await client.call('env', {})).result.env.FROM).toBe('pod');
    client.close();
  });

  it('terminates a session whose other end stops answering, within about two periods', async () => {
    const { socket, server: remote } = await beating.connectRaw();
    let pings = 0;
    socket.on('ping', () => pings++);
    await until(() => pings >= 2, 'two answered pings');
    expect(remote.isOpen).toBe(true);

    // The client's process stops reading: no more pongs, as with a frozen or vanished laptop.
    const ended = closed(remote);
    const since = Date.now();
    (socket as unknown as { _socket: net.Socket })._socket.pause();
    const { code, reason } = await ended;
    const elapsed = Date.now() - since;
    expect(code).toBe(1006);
    expect(reason).toBe(`peer did not answer a ping within ${period} ms`);
    expect(remote.closeReason).toBe(reason);
    expect(elapsed).toBeGreaterThanOrEqual(period / 2);
    expect(elapsed).toBeLessThan(2 * period + 5000); // two periods, plus room for a loaded machine
    socket.terminate();
  });

  it('keeps a session whose pong arrived while this side was busy', async () => {
    // The client is another process, so it answers while this one is blocked.
    const { spawn } = await import('node:child_process');
    const script = `const WebSocket = require('ws'); const ws = new WebSocket(process.argv[1]); ws.on('error', () => process.exit(1)); ws.on('close', () => process.exit(0));`;
    const before = beating.latest();
    const child = spawn(process.execPath, ['-e', script, `ws://127.0.0.1:${beating.port}/`], { cwd: process.cwd(), stdio: 'ignore' });
    try {
      let exited = '';
      child.once('exit', (code, signal) => (exited = `the client process exited (${signal ?? code})`));
      await until(() => beating.latest() !== before || exited !== '', 'the client process to connect', 20_000);
      expect(exited).toBe('');
      const remote = beating.latest()!;
      const socket = remote.socket;
      let blocked = 0;
      const ping = socket.ping.bind(socket);
      socket.ping = ((...args: Parameters<WebSocket['ping']>) => {
        ping(...args);
        // Right after a ping goes out, this process stalls for three periods; the pong comes meanwhile.
        if (blocked++ === 1) {
          setImmediate(() => {
            const until = Date.now() + 3 * period;
            while (Date.now() < until) {
              /* busy */
            }
          });
        }
      }) as WebSocket['ping'];
      await until(() => blocked >= 4 || !remote.isOpen, 'two more pings after the stall', 20_000);
      expect(remote.isOpen).toBe(true);
      expect(remote.closeReason).toBe('');
    } finally {
      child.kill();
    }
  }, 30_000);

  it('terminates a raw TCP client that did the upgrade by hand and then went silent', async () => {
    const tcp = net.connect(beating.port, '127.0.0.1');
    await once(tcp, 'connect');
    tcp.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    let response = '';
    let bytes = 0;
    tcp.on('data', (chunk: Buffer) => {
      if (!response) response = chunk.toString('latin1').split('\r\n')[0];
      bytes += chunk.length;
    });
    const since = Date.now();
    await once(tcp, 'close');
    expect(response).toBe('HTTP/1.1 101 Switching Protocols');
    expect(bytes).toBeGreaterThan(0);
    expect(Date.now() - since).toBeLessThan(2 * period + 5000);
  });
});
