/**
 * One attach on every replica, with the CLI's own pieces: each stand-in "pod" of the workload is
 * a session of its own on the test pod's sidecar (one sidecar, so every copy, subscription and
 * departure can be seen there), joining and leaving as the listing of the workload's pods says.
 */
import { ReconnectingClient } from '../../cli/reconnecting-client';
import { ReplicaSessions } from '../../cli/replica-sessions';
import { startClient } from '../../cli/start-client';
import { openTransport, type ReplicaPod, type ReplicaSource } from '../../cli/transport';
import type { IncomingConnection } from '../../protocol/client';
import { eventually } from '../harness/eventually';
import { APP_PORT } from '../harness/pod';
import { podSuite } from './suite';

jest.setTimeout(60_000);

describe('a session on every replica', () => {
  const suite = podSuite();
  let usable: string[] = [];
  const said: string[] = [];
  const source: ReplicaSource = {
    chosen: 'a',
    list: async () => usable.map((name) => ({ name, port: 0, usable: true, present: true })),
    open: () => openTransport({ command: suite.pod.agentCommand }, {}),
  };
  const join = async (pod: ReplicaPod) => {
    const transport = await source.open(pod);
    const client = await startClient(transport, { client: `replica ${pod.name}` });
    return new ReconnectingClient(
      { client, close: () => transport.close() },
      { timeoutMs: 0, connect: () => Promise.reject(new Error('no reconnections here')), warn: () => undefined, reconnected: () => undefined },
    );
  };
  const replicas = async (pods = ['a', 'b']) => {
    usable = pods;
    said.length = 0;
    const sessions = new ReplicaSessions(
      { pod: 'a', client: await join({ name: 'a', port: 0, usable: true, present: true }) },
      { source, join, pollMs: 100, vacancyMs: 500, warn: (text) => said.push(text), info: (text) => said.push(text) },
    );
    await sessions.start();
    return sessions;
  };
  /** What the sidecar lists: the stand-in pods attached, each with its subscribed ports. */
  const attached = async (sessions: ReplicaSessions) =>
    (await sessions.call('sessions', {})).result.sessions
      .filter(({ client }) => client.startsWith('replica '))
      .map(({ client, subscriptions }) => `${client.slice('replica '.length)}:${subscriptions.map(({ port, mode }) => `${port}/${mode}`).join(',')}`)
      .sort();
  const copies = (sessions: ReplicaSessions) => {
    const seen: string[] = [];
    sessions.onIncoming(({ socket }: IncomingConnection) => {
      socket.on('data', (chunk: Buffer) => seen.push(chunk.toString().split('\r\n')[0]));
      socket.on('error', () => undefined);
      socket.end();
    });
    return seen;
  };

  it('subscribes on every pod; a pod that becomes usable joins with the ports, one that goes away leaves, and the next serves the rest', async () => {
    const sessions = await replicas();
    expect(sessions.pods()).toEqual(['a', 'b']);
    const seen = copies(sessions);
    await sessions.subscribe({ port: APP_PORT, mode: 'mirror' });
    expect(await attached(sessions)).toEqual([`a:${APP_PORT}/mirror`, `b:${APP_PORT}/mirror`]);
    expect((await suite.pod.request('/two')).body).toBe('app GET /two body=0\n');
    await eventually(async () => expect(seen).toEqual(['GET /two HTTP/1.1', 'GET /two HTTP/1.1']));

    usable = ['a', 'b', 'c'];
    await eventually(async () => expect(await attached(sessions)).toEqual([`a:${APP_PORT}/mirror`, `b:${APP_PORT}/mirror`, `c:${APP_PORT}/mirror`]));
    expect(said).toContain('pod c joined (3 pods)');

    usable = ['b', 'c'];
    await eventually(async () => expect(sessions.pods()).toEqual(['b', 'c']));
    expect(await sessions.env()).toEqual({ GREETING: 'hello from the pod', DATABASE_URL: expect.any(String) });
    expect(said).toContain('pod a went away: outgoing, DNS and files now come from pod b');
    expect(await attached(sessions)).toEqual([`b:${APP_PORT}/mirror`, `c:${APP_PORT}/mirror`]);

    usable = [];
    expect(await sessions.closed()).toMatch(/no other pod of the workload became ready within 0.5 s/);
    await expect(sessions.env()).rejects.toThrow(/no pod of the workload has a session now/);
  });

  it("a pod whose session never comes (a hung port-forward) doesn't hold the program back: it is held off, saying why", async () => {
    usable = ['a', 'hung'];
    said.length = 0;
    const sessions = new ReplicaSessions(
      { pod: 'a', client: await join({ name: 'a', port: 0, usable: true, present: true }) },
      {
        source,
        join: (pod) => (pod.name === 'hung' ? new Promise<never>(() => undefined) : join(pod)),
        pollMs: 100,
        vacancyMs: 500,
        joinTimeoutMs: 500,
        warn: (text) => said.push(text),
        info: (text) => said.push(text),
      },
    );
    const started = Date.now();
    await sessions.start();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sessions.pods()).toEqual(['a']);
    expect(said).toContain('pod hung could not join the session (trying again in 30 s): no session within 0.5 s');
    sessions.close();
  });

  it("ends on every pod when someone ends one pod's session (mirrord sessions kill), as it would with one pod", async () => {
    const sessions = await replicas();
    const listing = (await sessions.call('sessions', {})).result.sessions;
    const b = listing.find(({ client }) => client === 'replica b')!;
    const admin = await suite.pod.connect({ client: 'admin' });
    await admin.call('sessions.kill', { id: b.id });
    expect(await sessions.closed()).toMatch(/^EKILLED/);
    const left = (await admin.call('sessions', {})).result.sessions.map(({ client }) => client);
    await eventually(async () => expect((await admin.call('sessions', {})).result.sessions.map(({ client }) => client)).toEqual(['admin']));
    expect(left).not.toContain('replica b');
  });

  it('says the attach was ended by sessions kill when its only pod is killed too', async () => {
    const sessions = await replicas(['a']);
    const a = (await sessions.call('sessions', {})).result.sessions.find(({ client }) => client === 'replica a')!;
    const admin = await suite.pod.connect({ client: 'admin' });
    await admin.call('sessions.kill', { id: a.id });
    expect(await sessions.closed()).toMatch(/^EKILLED/);
  });

  it("subscribes on all or none: one pod's refusal fails the listen, naming the pod, and leaves nothing subscribed", async () => {
    const holder = await suite.pod.connect({ client: 'holder' });
    await holder.subscribe({ port: 9999, mode: 'steal' });
    const sessions = await replicas();
    await sessions.subscribe({ port: APP_PORT, mode: 'mirror' });
    await expect(sessions.subscribe({ port: 9999, mode: 'steal' })).rejects.toMatchObject({
      code: 'EPORTCONFLICT',
      message: expect.stringMatching(/^pod [ab]: /),
    });
    expect(await attached(sessions)).toEqual([`a:${APP_PORT}/mirror`, `b:${APP_PORT}/mirror`]);
    sessions.close();
    expect(await sessions.closed()).toBe('session closed');
  });
});
