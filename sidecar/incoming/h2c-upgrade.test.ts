import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { CLIENT_MAGIC, clientFrames, frame } from './h2-preface';
import { hpackInteger, isH2cUpgrade, upgradedRequestFrame } from './h2c-upgrade';

/** An HTTP/1.1 request as Node's server parses it, from its raw bytes. */
function parsed(head: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const server = http.createServer({ maxHeaderSize: 64 * 1024 });
    server.once('request', (req: http.IncomingMessage) => resolve(req));
    server.once('upgrade', (req: http.IncomingMessage) => resolve(req));
    server.once('clientError', reject);
    server.listen(0, '127.0.0.1', () => {
      const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1', () => socket.write(head));
      socket.on('error', () => undefined);
      setTimeout(() => {
        socket.destroy();
        server.close();
      }, 200).unref();
    });
  });
}

const UPGRADE = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n';

describe('h2c upgrade', () => {
  it('knows an h2c upgrade from a WebSocket one', async () => {
    expect(isH2cUpgrade(await parsed(`GET / HTTP/1.1\r\nHost: a\r\n${UPGRADE}\r\n`))).toBe(true);
    expect(isH2cUpgrade(await parsed('GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'))).toBe(false);
  });

  it('encodes HPACK integers as RFC 7541 C.1 does', () => {
    expect(hpackInteger(10, 5)).toEqual(Buffer.from([10]));
    expect(hpackInteger(1337, 5)).toEqual(Buffer.from([31, 154, 10]));
    expect(hpackInteger(42, 8)).toEqual(Buffer.from([42]));
  });

  it("gives Node's HTTP/2 server the upgraded request as stream 1", async () => {
    const req = await parsed(`GET /first?q=1 HTTP/1.1\r\nHost: example.test:8080\r\nX-Long: ${'v'.repeat(300)}\r\nX-User: me\r\n${UPGRADE}\r\n`);
    const request = upgradedRequestFrame(req)!;
    // The bytes an upgraded client sends first: the preface, its SETTINGS frame among them.
    const server = http2.createServer();
    const seen = new Promise<{ id: number | undefined; headers: http2.IncomingHttpHeaders }>((resolve) =>
      server.on('stream', (stream, headers) => {
        resolve({ id: stream.id, headers });
        stream.respond({ ':status': 204 }, { endStream: true });
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    const pass = clientFrames({ insert: request });
    socket.write(pass(CLIENT_MAGIC.subarray(0, 10)));
    socket.write(pass(Buffer.concat([CLIENT_MAGIC.subarray(10), frame(0x4, 0, 0)])));
    const stream = await seen;
    socket.destroy();
    server.close();
    expect(stream).toEqual({
      id: 1,
      headers: expect.objectContaining({
        ':method': 'GET',
        ':path': '/first?q=1',
        ':authority': 'example.test:8080',
        ':scheme': 'http',
        'x-user': 'me',
        'x-long': 'v'.repeat(300),
      }),
    });
    expect(stream.headers.upgrade).toBeUndefined();
    expect(stream.headers['http2-settings']).toBeUndefined();
    expect(stream.headers.host).toBeUndefined();
  });

  it('leaves a request with a body, or headers past one frame, to go as any upgrade', async () => {
    expect(upgradedRequestFrame(await parsed(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n${UPGRADE}\r\nhi`))).toBeUndefined();
    expect(upgradedRequestFrame(await parsed(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(17_000)}\r\n${UPGRADE}\r\n`))).toBeUndefined();
  });
});
