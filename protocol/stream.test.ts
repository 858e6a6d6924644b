/**
 * MuxStream over real sessions: two Peers on a real WebSocket over loopback.
 */
import { createHash } from 'node:crypto';
import type WebSocket from 'ws';
import { decodeFrame, encodeData, encodeEnd, FrameKind, MAX_DATA, type Frame } from './frame';
import type { Peer } from './peer';
import { WINDOW, type MuxStream } from './stream';
import { closed, LoopbackServer, pattern, until, type Pair } from '../test/harness/peer-pair';

// Generous: a loaded machine may be many times slower than the usual few hundred milliseconds.
jest.setTimeout(30_000);

let server: LoopbackServer;
let pair: Pair;

beforeAll(async () => {
  server = await LoopbackServer.start();
});
afterAll(() => server.close());
beforeEach(async () => {
  pair = await server.connect();
});
afterEach(() => {
  pair.client.close();
});

/** Every frame `socket` receives, decoded, before the Peer on it sees it. */
function tap(socket: WebSocket, onFrame: (frame: Frame) => void): void {
  socket.prependListener('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) onFrame(decodeFrame(data));
  });
}

/** Reads `stream` to its end. */
function readAll(stream: MuxStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** Counts the DATA bytes `peer` sends on each stream (the wrapped method still sends them). */
function countSent(peer: Peer, onSend?: (stream: number, total: number) => void): Map<number, number> {
  const sent = new Map<number, number>();
  const original = peer.sendData.bind(peer);
  peer.sendData = (stream: number, payload: Buffer) => {
    sent.set(stream, (sent.get(stream) ?? 0) + payload.length);
    onSend?.(stream, sent.get(stream)!);
    original(stream, payload);
  };
  return sent;
}

/** A stream whose expected errors the test checks otherwise (or not at all). */
function quiet(stream: MuxStream): MuxStream {
  stream.on('error', () => undefined);
  return stream;
}

function sha(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

describe('flow control', () => {
  it('a paused reader stalls its sender at WINDOW bytes; every byte arrives in order once it reads', async () => {
    const { client, server: remote, clientSocket, serverSocket } = pair;
    const total = 4 * 1024 * 1024;
    const data = pattern(total, 1);
    const violations: string[] = [];

    const writer = client.openStream();
    const reader = remote.adoptStream(writer.id);
    let credited = 0;
    tap(clientSocket, (frame) => {
      if (frame.kind === FrameKind.Credit && frame.stream === writer.id) credited += frame.bytes;
    });
    const sent = countSent(client, (stream, total) => {
      if (stream === writer.id && total - credited > WINDOW) violations.push(`sender has ${total - credited} bytes outstanding`);
    });
    let received = 0;
    let maxBuffered = 0;
    serverSocket.on('message', (data: Buffer) => {
      if (data[0] !== FrameKind.Data || data.readUInt32BE(1) !== writer.id) return;
      received += data.length - 5;
      maxBuffered = Math.max(maxBuffered, reader.readableLength);
      if (reader.readableLength > WINDOW + MAX_DATA) violations.push(`receiver buffers ${reader.readableLength} bytes`);
    });

    let written = false;
    writer.end(data, () => (written = true));

    // Nobody reads: exactly one window goes out, then the sender waits.
    await until(() => received === WINDOW, 'the first window to arrive');
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received).toBe(WINDOW);
    expect(sent.get(writer.id)).toBe(WINDOW);
    expect(credited).toBe(0);
    expect(reader.readableLength).toBe(WINDOW);
    expect(writer.writableCredit).toBe(0);
    expect(written).toBe(false);

    // The reader resumes: everything arrives, intact and in order, and the bounds held throughout.
    const got = await readAll(reader);
    expect(got.length).toBe(total);
    expect(sha(got)).toBe(sha(data));
    expect(got.equals(data)).toBe(true);
    await until(() => written, 'the write callback');
    expect(violations).toEqual([]);
    expect(maxBuffered).toBeLessThanOrEqual(WINDOW + MAX_DATA);
  });

  it('a slow reader never has more than WINDOW + one frame buffered', async () => {
    const { client, server: remote } = pair;
    const total = 3 * 1024 * 1024;
    const data = pattern(total, 2);
    const writer = client.openStream();
    const reader = remote.adoptStream(writer.id);
    let maxBuffered = 0;
    const chunks: Buffer[] = [];
    writer.end(data);
    // Take at most 20 KiB per turn of the event loop.
    await new Promise<void>((resolve, reject) => {
      reader.once('error', reject);
      reader.once('end', resolve);
      const step = () => {
        maxBuffered = Math.max(maxBuffered, reader.readableLength);
        const chunk = reader.read(Math.min(20 * 1024, reader.readableLength)) as Buffer | null;
        if (chunk) chunks.push(chunk);
        if (!reader.readableEnded) setTimeout(step, 1);
      };
      reader.on('readable', () => undefined);
      step();
    });
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    expect(maxBuffered).toBeLessThanOrEqual(WINDOW + MAX_DATA);
  });

  it('a second stream keeps flowing, both ways, while the first is stalled', async () => {
    const { client, server: remote } = pair;
    const stalled = client.openStream();
    const stalledReader = quiet(remote.adoptStream(stalled.id));
    const sentStalled = countSent(client);
    stalled.write(pattern(2 * 1024 * 1024, 3));
    await until(() => stalledReader.readableLength === WINDOW, 'the first stream to stall');

    const other = client.openStream();
    const otherRemote = remote.adoptStream(other.id);
    const up = pattern(1024 * 1024 + 17, 4);
    const down = pattern(1024 * 1024 + 33, 5);
    const upRead = readAll(otherRemote);
    const downRead = readAll(other);
    other.end(up);
    otherRemote.end(down);
    expect((await upRead).equals(up)).toBe(true);
    expect((await downRead).equals(down)).toBe(true);

    // The first stream is still stalled at one window, untouched by the other's traffic.
    expect(sentStalled.get(stalled.id)).toBe(WINDOW);
    expect(stalledReader.readableLength).toBe(WINDOW);
    stalled.destroy();
  });

  it('many streams at once each deliver their own bytes', async () => {
    const { client, server: remote } = pair;
    const streams = Array.from({ length: 12 }, (_, i) => {
      const local = client.openStream();
      const far = remote.adoptStream(local.id);
      const data = pattern(200_000 + i * 1000, i);
      const read = readAll(far);
      local.end(data);
      return { data, read };
    });
    for (const { data, read } of streams) expect((await read).equals(data)).toBe(true);
  });

  it('a peer that sends beyond the window is cut off with a protocol error', async () => {
    const { clientSocket, server: remote } = pair;
    const victim = remote.adoptStream(1);
    victim.on('error', () => undefined);
    const ended = closed(remote);
    for (let sent = 0; sent <= WINDOW; sent += MAX_DATA) clientSocket.send(encodeData(1, Buffer.alloc(MAX_DATA)));
    const { code, reason } = await ended;
    expect(code).toBe(4002);
    expect(reason).toBe('malformed frame: stream 1 sent beyond its flow-control window');
  });
});

describe('half-close', () => {
  it('END closes one direction only; the other keeps working; a clean close sends no RESET', async () => {
    const { client, server: remote, clientSocket, serverSocket } = pair;
    const resets: Frame[] = [];
    tap(clientSocket, (frame) => frame.kind === FrameKind.Reset && resets.push(frame));
    tap(serverSocket, (frame) => frame.kind === FrameKind.Reset && resets.push(frame));

    const local = client.openStream();
    const far = remote.adoptStream(local.id);
    const request = readAll(far);
    local.end(Buffer.from('GET / HTTP/1.0\r\n\r\n'));
    expect((await request).toString()).toBe('GET / HTTP/1.0\r\n\r\n');

    // The client has finished writing, but still reads what the other side sends.
    const answer = readAll(local);
    far.write(Buffer.from('HTTP/1.0 200 OK\r\n\r\n'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(local.readableEnded).toBe(false);
    far.end(pattern(300_000, 6));
    const got = await answer;
    expect(got.subarray(0, 19).toString()).toBe('HTTP/1.0 200 OK\r\n\r\n');
    expect(got.subarray(19).equals(pattern(300_000, 6))).toBe(true);

    await until(() => local.closed && far.closed, 'both ends to close');
    expect(local.errored).toBeNull();
    expect(far.errored).toBeNull();
    expect(resets).toEqual([]);
    // Both ends released the id.
    expect(() => remote.adoptStream(local.id).destroy()).not.toThrow();
  });

  it('DATA after END is a protocol error', async () => {
    const { clientSocket, server: remote } = pair;
    const far = remote.adoptStream(5);
    far.on('error', () => undefined);
    far.resume();
    const ended = closed(remote);
    clientSocket.send(encodeData(5, Buffer.from('a')));
    clientSocket.send(encodeEnd(5));
    clientSocket.send(encodeData(5, Buffer.from('b')));
    expect(await ended).toEqual({ code: 4002, reason: 'malformed frame: DATA after END on stream 5' });
  });

  it('a repeated END is harmless', async () => {
    const { clientSocket, server: remote } = pair;
    const far = remote.adoptStream(7);
    const read = readAll(far);
    clientSocket.send(encodeData(7, Buffer.from('x')));
    clientSocket.send(encodeEnd(7));
    clientSocket.send(encodeEnd(7));
    expect((await read).toString()).toBe('x');
    expect(remote.isOpen).toBe(true);
  });
});

describe('reset', () => {
  it('destroying one end with an error resets the other end with that reason', async () => {
    const { client, server: remote } = pair;
    const local = client.openStream();
    const far = remote.adoptStream(local.id);
    const failed = new Promise<Error>((resolve) => far.once('error', resolve));
    quiet(local).destroy(new Error('connect ECONNREFUSED 10.1.2.3:5432'));
    const error = (await failed) as Error & { code?: string };
    expect(error.message).toBe('stream reset by peer: connect ECONNREFUSED 10.1.2.3:5432');
    expect(error.code).toBe('ECONNRESET');
    expect(far.destroyed).toBe(true);
  });

  it('destroying a stream without an error resets the other end with "closed"', async () => {
    const { client, server: remote } = pair;
    const local = client.openStream();
    const far = remote.adoptStream(local.id);
    const failed = new Promise<Error>((resolve) => far.once('error', resolve));
    local.write('partial');
    local.destroy();
    expect((await failed).message).toBe('stream reset by peer: closed');
  });

  it('a reset fails the blocked writer on the other side', async () => {
    const { client, server: remote } = pair;
    const local = client.openStream();
    const far = quiet(remote.adoptStream(local.id));
    local.on('error', () => undefined);
    const done = new Promise<Error | null | undefined>((resolve) => local.write(pattern(WINDOW * 2), resolve));
    await until(() => far.readableLength === WINDOW, 'the writer to stall');
    far.destroy(new Error('the app went away'));
    const error = await done;
    expect(error).toBeInstanceOf(Error);
    await until(() => local.destroyed, 'the writer to be destroyed');
    expect(local.errored?.message).toBe('stream reset by peer: the app went away');
  });

  it('frames for a stream that no longer exists are ignored', async () => {
    const { client, server: remote, clientSocket } = pair;
    const local = client.openStream();
    const far = remote.adoptStream(local.id);
    far.on('error', () => undefined);
    quiet(local).destroy(new Error('gone'));
    await until(() => far.destroyed, 'the reset');
    clientSocket.send(encodeData(local.id, Buffer.from('late')));
    clientSocket.send(encodeEnd(local.id));
    const other = client.openStream();
    const otherFar = remote.adoptStream(other.id);
    const read = readAll(otherFar);
    other.end('still here');
    expect((await read).toString()).toBe('still here');
    expect(remote.isOpen).toBe(true);
  });
});

describe('stream ids', () => {
  it('the client allocates odd ids, the sidecar even ones', () => {
    const { client, server: remote } = pair;
    const ids = [client.openStream(), client.openStream(), remote.openStream(), remote.openStream(), client.openStream()].map((s) => s.id);
    expect(ids).toEqual([1, 3, 2, 4, 5]);
  });

  it("a side adopts only ids of the other side's parity", () => {
    const message = "is not the other side's to allocate (client ids are odd, sidecar ids even)";
    expect(() => pair.server.adoptStream(2)).toThrow(`stream 2 ${message}`);
    expect(() => pair.client.adoptStream(3)).toThrow(`stream 3 ${message}`);
    const error = (() => {
      try {
        pair.server.adoptStream(4);
      } catch (e) {
        return e as { code?: string };
      }
    })();
    expect(error?.code).toBe('EINVAL');
  });

  it('an id in use cannot be adopted twice', () => {
    pair.server.adoptStream(9);
    expect(() => pair.server.adoptStream(9)).toThrow('stream 9 is already in use');
  });

  it('streams die with their session: with an error when it drops, quietly when it closes normally', async () => {
    const { client, server: remote } = pair;
    const dropped = client.openStream();
    quiet(remote.adoptStream(dropped.id));
    const failed = new Promise<Error>((resolve) => dropped.once('error', resolve));
    remote.terminate('test dropped the connection');
    expect((await failed).message).toMatch(/^session closed: /);

    const second = await server.connect();
    const calm = second.client.openStream();
    quiet(second.server.adoptStream(calm.id));
    const errors: Error[] = [];
    calm.on('error', (error) => errors.push(error));
    const gone = new Promise((resolve) => calm.once('close', resolve));
    second.client.close();
    await gone;
    expect(errors).toEqual([]);
  });
});
