/**
 * The CLI's WebSocket options on a real connection: over a private stream its frames carry an
 * all-zero mask (the bytes cross in the clear and arrive intact), over a URL a random one.
 */
import { once } from 'node:events';
import net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { clientSocketOptions } from './socket-options';

/** A WebSocket server that records every byte clients send it, before `ws` reads them. */
async function recordingServer(): Promise<{ url: string; received: () => Buffer; messages: Buffer[]; close(): void }> {
  const chunks: Buffer[] = [];
  const messages: Buffer[] = [];
  const wss = new WebSocketServer({ noServer: true });
  const server = net.createServer((socket) => {
    // A copy: `ws` unmasks what it reads in place.
    socket.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
    socket.once('data', (head: Buffer) => {
      socket.pause();
      wss.handleUpgrade(fakeRequest(head), socket, Buffer.alloc(0), (ws) => ws.on('message', (data: Buffer) => messages.push(data)));
      socket.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
    received: () => Buffer.concat(chunks),
    messages,
    close: () => (wss.close(), server.close()),
  };
}

/** The upgrade request `ws` needs, parsed from the client's handshake. */
function fakeRequest(head: Buffer): never {
  const [requestLine, ...lines] = head.toString('latin1').split('\r\n\r\n')[0]!.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { method: requestLine!.split(' ')[0], headers } as never;
}

async function send(options: ReturnType<typeof clientSocketOptions>, payload: Buffer): Promise<{ wire: Buffer; delivered: Buffer }> {
  const server = await recordingServer();
  try {
    const socket = new WebSocket(server.url, options);
    await once(socket, 'open');
    socket.send(payload, { binary: true });
    const deadline = Date.now() + 5000;
    while (!server.messages.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    socket.terminate();
    return { wire: server.received(), delivered: server.messages[0]! };
  } finally {
    server.close();
  }
}

describe('clientSocketOptions', () => {
  const payload = Buffer.from('bytes of a stream, sent by the CLI to the sidecar');

  it('over a private stream: an all-zero mask, so the payload crosses as it is and arrives intact', async () => {
    const { wire, delivered } = await send(clientSocketOptions({ privateStream: true }), payload);
    expect(delivered).toEqual(payload);
    expect(wire.includes(payload)).toBe(true);
  });

  it('over a URL: a random mask, as RFC 6455 asks of clients on the open web', async () => {
    const { wire, delivered } = await send(clientSocketOptions({ privateStream: false }), payload);
    expect(delivered).toEqual(payload);
    expect(wire.includes(payload)).toBe(false);
  });

  it('takes frames up to the protocol’s limit, uncompressed', () => {
    const options = clientSocketOptions({ privateStream: true });
    expect(options.perMessageDeflate).toBe(false);
    expect(options.maxPayload).toBe(2 * 1024 * 1024);
  });
});
