/**
 * The reconnecting session against the sidecar's real Session over loopback WebSockets: a drop
 * is a terminated socket (no close handshake), as a broken port-forward looks to the CLI.
 */
import WebSocket from 'ws';
import { Client } from '../protocol/client';
import { LoopbackServer, until } from '../test/harness/peer-pair';
import { startTestSidecar, type TestSidecar } from '../test/harness/test-sidecar';
import { ReconnectingClient, type Connection } from './reconnecting-client';

let sidecar: TestSidecar;
beforeAll(async () => (sidecar = await startTestSidecar()));
afterAll(() => sidecar.close());

/** Opens sessions to the test sidecar, as `attach` opens transports; `fail` makes the next attempts fail. */
function connector(name: string, delayMs = 0) {
  const made = { attempts: 0, closed: 0, sockets: [] as WebSocket[], fail: false };
  const connect = async (): Promise<Connection> => {
    made.attempts++;
    if (made.fail) throw new Error('agent unreachable');
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    const socket = new WebSocket(sidecar.url);
    socket.on('error', () => undefined);
    made.sockets.push(socket);
    return { client: await Client.start(socket, { client: name }), close: () => (made.closed++, socket.terminate()) };
  };
  return { made, connect };
}

function sessionsNamed(name: string): number {
  return sidecar.sessions.filter((session) => session.client === name).length;
}

async function start(name: string, timeoutMs: number, delayMs = 0) {
  const { made, connect } = connector(name, delayMs);
  const warnings: string[] = [];
  const reconnections: number[] = [];
  const session = new ReconnectingClient(await connect(), {
    connect,
    timeoutMs,
    warn: (text) => warnings.push(text),
    reconnected: (_client, attempts) => reconnections.push(attempts),
  });
  const drop = async () => {
    made.sockets[made.sockets.length - 1].terminate();
    await until(() => warnings.length > 0, 'the drop to be noticed');
  };
  return { session, made, warnings, reconnections, drop };
}

it('replaces a dropped connection with a new session; a call made meanwhile waits for it', async () => {
  const { session, made, warnings, reconnections, drop } = await start('replaced', 5000);
  const first = session.info.sessionId;
  await drop();
  expect(warnings).toEqual(['lost the connection to the pod (the connection dropped); reconnecting…']);
  expect(await session.env()).toEqual({ DATABASE_URL: 'postgres://db:5432/app' });
  expect(session.info.sessionId).not.toBe(first);
  expect(reconnections).toEqual([1]);
  expect(made.closed).toBe(1); // the dropped connection's transport
  await until(() => sessionsNamed('replaced') === 1, 'the old session to be gone on the sidecar');
  session.close();
  expect(await session.closed()).toBe('session closed');
});

it('leaves a session ended on purpose ended: no reconnection after `sessions kill`', async () => {
  const { session, made } = await start('killed', 5000);
  const operator = await Client.start(new WebSocket(sidecar.url), { client: 'operator' });
  await operator.call('sessions.kill', { id: session.info.sessionId });
  expect(await session.closed()).toMatch(/^EKILLED: ended by mirrord sessions kill from /);
  expect(made.attempts).toBe(1);
  operator.close();
});

it('gives up at the deadline with the reason, and fails the calls that waited', async () => {
  const { session, made, drop } = await start('doomed', 600);
  made.fail = true;
  await drop();
  const waiting = session.env();
  await expect(waiting).rejects.toMatchObject({ code: 'ESHUTDOWN' });
  expect(await session.closed()).toBe('the connection dropped; reconnecting for 0.6 s failed: agent unreachable');
  expect(made.attempts).toBeGreaterThan(2);
});

it('closed while reconnecting: a connection that arrives too late is closed, not kept', async () => {
  const { session, made, drop } = await start('late', 5000, 300);
  await drop();
  await until(() => made.attempts === 2, 'the reconnection attempt to start');
  session.close();
  await session.closed();
  await until(() => made.closed === 2, 'the late connection to be closed', 5000);
  await until(() => sessionsNamed('late') === 0, 'no session of it left on the sidecar');
});

describe('subscriptions across connections (a scripted sidecar that records them)', () => {
  let scripted: LoopbackServer;
  let sessions = 0;
  let dropOnSubscribe = 0;
  const subscribed: string[] = [];

  beforeAll(async () => {
    scripted = await LoopbackServer.start({
      onPeer: (peer) => {
        const sessionId = `s${++sessions}`;
        peer.on('request', ({ id, method, params }) => {
          if (method === 'hello')
            return peer.reply(id, {
              sessionId,
              protocolVersion: '1.1',
              sidecarVersion: '0',
              pod: { name: 'p', namespace: 'n', ip: '' },
              appRoot: '/',
              mounts: [],
            });
          if (method !== 'subscribe') return peer.reply(id, {});
          if (dropOnSubscribe > 0 && dropOnSubscribe--) return peer.terminate('dropped by the test');
          subscribed.push(`${sessionId}:${(params as { port: number }).port}`);
          peer.reply(id, { port: (params as { port: number }).port });
        });
      },
    });
  });
  afterAll(() => scripted.close());

  it('subscribes the ports again, going round once more when the new connection drops before they are back', async () => {
    const sockets: WebSocket[] = [];
    const connect = async (): Promise<Connection> => {
      const socket = new WebSocket(`ws://127.0.0.1:${scripted.port}/`);
      socket.on('error', () => undefined);
      sockets.push(socket);
      return { client: await Client.start(socket), close: () => socket.terminate() };
    };
    const warnings: string[] = [];
    const reconnections: string[] = [];
    const session = new ReconnectingClient(await connect(), {
      connect,
      timeoutMs: 5000,
      warn: (text) => warnings.push(text),
      reconnected: (client) => reconnections.push(client.info.sessionId),
    });
    await session.subscribe({ port: 8080, mode: 'steal' });
    dropOnSubscribe = 1;
    sockets[0].terminate();
    await until(() => reconnections.length > 0, 'the reconnection');
    expect(subscribed).toEqual(['s1:8080', 's3:8080']);
    expect(reconnections).toEqual(['s3']);
    expect(warnings.filter((text) => text.startsWith('lost the connection'))).toHaveLength(2);
    session.close();
  });
});
