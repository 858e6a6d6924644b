import { noRulesLeft, podSuite } from './suite';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { connectThroughCommand, signalGroup } from '../../cli/transport/command';
import { encodeControl } from '../../protocol/frame';
import { AGENT_PORT, APP_PORT, forwardIncoming, type TestPod } from '../harness/pod';
import { eventually } from '../harness/eventually';
import { SERVICE_IP, SERVICE_NAME, waitForOutput } from '../harness/netns';
import { livenessScript } from '../../webhook/patch/sidecar-container';
import { run } from '../harness/run';
import { rssKiB } from '../bench/proc';

jest.setTimeout(60_000);

/** A raw WebSocket to the sidecar, for sending what no well-behaved client would. */
async function rawSocket(pod: TestPod): Promise<WebSocket> {
  const { socket } = await connectThroughCommand(pod.agentCommand);
  await once(socket, 'open');
  return socket;
}

async function closeOf(socket: WebSocket): Promise<{ code: number; reason: string; messages: string[] }> {
  const messages: string[] = [];
  socket.on('message', (data: Buffer) => messages.push(data.subarray(5).toString()));
  const [code, reason] = (await once(socket, 'close')) as [number, Buffer];
  return { code, reason: reason.toString(), messages };
}

describe('bad input and failures', () => {
  const suite = podSuite();

  it('closes a session that sends garbage frames, with a clear error, and leaves other sessions alone', async () => {
    const bystander = await suite.pod.connect();
    forwardIncoming(bystander, suite.local.port);
    await bystander.subscribe({ port: APP_PORT, mode: 'steal' });
    for (const garbage of [Buffer.from([0xff, 1, 2]), Buffer.from([1, 0, 0, 0, 0, 9]), Buffer.from('\x00\x00\x00\x00\x05{oops')]) {
      const socket = await rawSocket(suite.pod);
      const closed = closeOf(socket);
      socket.send(garbage);
      const { code, messages } = await closed;
      expect(code).toBe(4002);
      expect(messages.join()).toMatch(/"code":"EPROTO","message":"malformed frame: /);
    }
    expect((await suite.pod.request('/still-stolen')).body).toBe('local GET /still-stolen body=0\n');
    expect(suite.pod.sidecar.exitCode).toBeNull();
  });

  it('refuses a client of another major version at once, saying why', async () => {
    const socket = await rawSocket(suite.pod);
    const closed = closeOf(socket);
    socket.send(encodeControl({ type: 'request', id: 1, method: 'hello', params: { version: '2.0' } }));
    const { code, messages } = await closed;
    expect(code).toBe(4003);
    expect(messages.join()).toMatch(/protocol 2\.0 is not supported: this sidecar speaks 1\.x/);
    await expect(suite.pod.connect({ version: '9.1' })).rejects.toMatchObject({ code: 'EVERSION', message: expect.stringMatching(/not supported/) });
  });

  it('insists on hello first', async () => {
    const socket = await rawSocket(suite.pod);
    const closed = closeOf(socket);
    socket.send(encodeControl({ type: 'request', id: 1, method: 'env', params: {} }));
    expect(await closed).toMatchObject({ code: 4002, messages: [expect.stringMatching(/first request must be hello/)] });
  });

  it("a FIFO in the app's volumes is refused at open, without holding the sidecar while a steal serves peers", async () => {
    const thief = await suite.pod.connect();
    forwardIncoming(thief, suite.local.port);
    await thief.subscribe({ port: APP_PORT, mode: 'steal' });
    const fifo = join(suite.pod.appRoot, 'etc/config/pipe');
    await run('mkfifo', [fifo]);
    try {
      const client = await suite.pod.connect();
      // Opening a FIFO for reading used to wait for a writer, with the whole sidecar stopped.
      await expect(client.call('fs.open', { path: '/etc/config/pipe', flags: 0 })).rejects.toMatchObject({
        code: 'EPERM',
        message: expect.stringMatching(/is a FIFO/),
      });
      await expect(client.readFile('/etc/config/pipe')).rejects.toMatchObject({ code: 'EPERM' });
      expect((await suite.pod.request('/after-fifo')).body).toBe('local GET /after-fifo body=0\n');
      expect(await client.readFile('/etc/config/app.yaml')).toEqual(Buffer.from('greeting: hello from the pod\n'));
    } finally {
      rmSync(fifo, { force: true });
    }
  });

  it('a filter that would backtrack for ever meets a hostile header: the request goes to the app, and the sidecar goes on', async () => {
    const thief = await suite.pod.connect();
    forwardIncoming(thief, suite.local.port);
    // (\w+\s?)+$ against 40 letters and a '!' has 2^40 ways to fail for a backtracking engine.
    await thief.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: (\\w+\\s?)+$' } });
    const hostile = suite.pod.request('/hostile', { 'x-user': `${'a'.repeat(40)}!` });
    expect((await suite.pod.request('/meanwhile', { 'x-user': 'alice' })).body).toBe('local GET /meanwhile body=0\n');
    expect((await hostile).body).toBe('app GET /hostile body=0\n');
    await expect(thief.subscribe({ port: APP_PORT + 1, mode: 'steal', filter: { header: '^(a)\\1$' } })).rejects.toThrow(/invalid header filter .*RE2/);
  });

  describe('limits per client', () => {
    it('closes a connection that sends no hello within 5 s', async () => {
      const { code, messages } = await closeOf(await rawSocket(suite.pod));
      expect(code).toBe(4004);
      expect(messages.join()).toMatch(/no hello within 5 s/);
    });

    it('refuses one connection too many waiting for its hello at once, before its handshake, and takes new ones once they go', async () => {
      // A long hello deadline, so that starting 64 agent commands on a busy machine can't let
      // the first ones time out before the 65th arrives.
      await suite.pod.restartSidecar({ MIRRORD_HELLO_TIMEOUT_MS: '60000' });
      try {
        // 64 may wait for their hello at once; the 65th is refused at once (HTTP 503), saying to try again
        const waiting = await Promise.all(Array.from({ length: 64 }, () => rawSocket(suite.pod)));
        await expect(suite.pod.connect()).rejects.toMatchObject({
          code: 'EAGAIN',
          message: 'the sidecar refused the connection for now: 64 connections are waiting for their hello: try again',
        });
        const closing = waiting.map(closeOf);
        for (const socket of waiting) socket.close();
        await Promise.all(closing);
        // the slots are free again
        const client = await suite.pod.connect();
        expect((await client.call('sessions', {})).result.sessions.length).toBeGreaterThan(0);
      } finally {
        await suite.pod.restartSidecar();
      }
    });

    it('refuses a client name longer than 256 characters, so every sessions listing stays small', async () => {
      await expect(suite.pod.connect({ client: 'x'.repeat(1_200_000) })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/client/) });
      const client = await suite.pod.connect();
      expect((await client.call('sessions', {})).result.sessions.map((s) => s.client)).toContain('integration test');
    });

    it('refuses a session its 257th open file (EMFILE) while another session opens files as usual', async () => {
      const greedy = await suite.pod.connect();
      const fds: number[] = [];
      for (let i = 0; i < 256; i++) fds.push((await greedy.call('fs.open', { path: '/etc/config/app.yaml', flags: 0 })).result.fd);
      await expect(greedy.call('fs.open', { path: '/etc/config/app.yaml', flags: 0 })).rejects.toMatchObject({ code: 'EMFILE' });
      const other = await suite.pod.connect();
      expect(await other.readFile('/etc/config/app.yaml')).toEqual(Buffer.from('greeting: hello from the pod\n'));
      await greedy.call('fs.close', { fd: fds[0] });
      await expect(greedy.call('fs.open', { path: '/etc/config/app.yaml', flags: 0 })).resolves.toBeDefined();
    });
  });

  it('300 pipelined 1 MiB reads, then writes (any refused with EAGAIN sent again), keep the sidecar under its 192 MiB limit and leave it within a few MB of where it was, while others are served', async () => {
    const big = join(suite.pod.appRoot, 'etc/config/big.bin');
    writeFileSync(big, Buffer.alloc(64 << 20, 7));
    const pid = suite.pod.sidecar.pid!;
    const chunk = Buffer.alloc(1 << 20, 3);
    /** `count` reads of 1 MiB sent at once, then as many writes, on a session of its own. */
    const greedy = async (count: number, meanwhile: () => Promise<void> = async () => undefined) => {
      const client = await suite.pod.connect({ heartbeatMs: 60_000, fs: 'write' });
      const reading = (await client.call('fs.open', { path: '/etc/config/big.bin', flags: 0 })).result.fd;
      const reads = Promise.all(Array.from({ length: count }, (_, i) => client.call('fs.read', { fd: reading, length: 1 << 20, position: (i % 64) << 20 })));
      await meanwhile();
      expect((await reads).every(({ attachment }) => attachment?.length === 1 << 20 && attachment[0] === 7)).toBe(true);
      const writing = (await client.call('fs.open', { path: '/etc/config/copy.bin', flags: 0o1101, mode: 0o644 })).result.fd; // O_WRONLY | O_CREAT | O_TRUNC
      /** A write the sidecar refuses for now (EAGAIN: 16 MiB of this session's writes under way) is sent again. */
      const write = async (position: number): Promise<{ result: { bytesWritten: number } }> => {
        for (;;) {
          try {
            return await client.call('fs.write', { fd: writing, position }, chunk);
          } catch (error) {
            if ((error as { code?: string }).code !== 'EAGAIN') throw error;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      };
      const writes: Promise<{ result: { bytesWritten: number } }>[] = [];
      for (let i = 0; i < count; i++) {
        writes.push(write((i % 64) << 20));
        // Sent without waiting for replies, in turns short enough for this process to keep
        // answering the sidecar's pings on its other sessions (every 500 ms here).
        if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
      }
      expect((await Promise.all(writes)).every(({ result }) => result.bytesWritten === 1 << 20)).toBe(true);
      client.close();
      await client.closed();
      await new Promise((resolve) => setTimeout(resolve, 2000)); // the sidecar gives memory back 1 s after a session ends
    };
    let sampler: NodeJS.Timeout | undefined;
    try {
      await greedy(10); // the first run of each path compiles and sizes things once
      const before = rssKiB(pid);
      let peak = before;
      sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 20);
      const other = await suite.pod.connect();
      await greedy(300, async () => {
        expect(await other.readFile('/etc/config/app.yaml')).toEqual(Buffer.from('greeting: hello from the pod\n'));
        expect((await suite.pod.request('/meanwhile')).body).toBe('app GET /meanwhile body=0\n');
      });
      clearInterval(sampler);
      expect(peak).toBeLessThan(192 * 1024);
      // Given back within a few seconds of the session's end (later on a loaded machine: the
      // allocator returns pages as the collector frees them).
      await eventually(async () => expect(rssKiB(pid) - before).toBeLessThan(6 * 1024), 15_000, 250);
    } finally {
      clearInterval(sampler);
      rmSync(big);
      rmSync(join(suite.pod.appRoot, 'etc/config/copy.bin'), { force: true });
    }
  });

  it('refuses a session its 1025th connection from the pod (EMFILE) while another session connects as usual', async () => {
    const greedy = await suite.pod.connect();
    const opened = await Promise.all(Array.from({ length: 1024 }, () => greedy.connect('tcp', SERVICE_IP, 7000)));
    await expect(greedy.connect('tcp', SERVICE_IP, 7000)).rejects.toMatchObject({ code: 'EMFILE', message: expect.stringMatching(/1024 connections open/) });
    const other = await suite.pod.connect();
    const { stream } = await other.connect('tcp', SERVICE_IP, 7000);
    stream.end('echo');
    expect(String((await once(stream, 'data'))[0])).toBe('echo');
    opened[0].stream.destroy();
    await eventually(() => greedy.connect('tcp', SERVICE_IP, 7000));
  });

  it("one session's look-ups of names nobody answers for don't hold up another session's look-ups", async () => {
    // A name server that swallows every query: each look-up waits for its timeout (1 s, resolv.conf).
    const swallower = suite.pod.net.spawn(suite.pod.net.service, process.execPath, [
      '-e',
      `require('node:dgram').createSocket('udp4').bind(53, '${SERVICE_IP}', () => console.log('swallowing'))`,
    ]);
    await waitForOutput(swallower, /swallowing/);
    try {
      const hostile = await suite.pod.connect();
      let firstLookupDone = Infinity;
      const done = () => (firstLookupDone = Math.min(firstLookupDone, Date.now()));
      const lookups = Array.from({ length: 24 }, (_, i) => hostile.resolve(`nobody-answers-${i}.example`).then(done, done));
      await new Promise((resolve) => setTimeout(resolve, 100)); // every thread they could take is taken
      const other = await suite.pod.connect();
      expect(await other.resolve(SERVICE_NAME)).toEqual([{ address: SERVICE_IP, family: 4 }]); // from the pod's hosts file
      const read = await other.readFile('/etc/config/app.yaml');
      expect(Date.now()).toBeLessThan(firstLookupDone); // neither waited for a hostile look-up to give its thread back
      expect(read.toString()).toBe('greeting: hello from the pod\n');
      hostile.close(); // its look-ups still waiting for their turn are dropped
      await Promise.all(lookups);
    } finally {
      swallower.kill();
    }
  });

  it('a file system that stops answering costs its caller an ETIMEDOUT, never the event loop: peers and other sessions go on', async () => {
    await suite.pod.restartSidecar({ MIRRORD_FS_TIMEOUT_MS: '2000' });
    const volume = await suite.pod.freezableVolume('srv/frozen');
    try {
      const writer = await suite.pod.connect({ fs: 'write' });
      const { fd } = (await writer.call('fs.open', { path: '/srv/frozen/data.txt', flags: 0o101, mode: 0o644 })).result; // O_WRONLY | O_CREAT
      await volume.freeze();
      const started = Date.now();
      const stuck = [
        writer.call('fs.mkdir', { path: '/srv/frozen/new', mode: 0o755 }),
        writer.call('fs.write', { fd }, Buffer.from('waits for the thaw\n')),
        writer.call('fs.unlink', { path: '/srv/frozen/data.txt' }),
        writer.call('fs.rename', { from: '/srv/frozen/data.txt', to: '/srv/frozen/renamed.txt' }),
      ].map((call) =>
        call.then(
          () => 'done',
          (error: { code: string }) => error.code,
        ),
      );
      // meanwhile: the app's clients, another session's files, the event loop
      expect((await suite.pod.request('/meanwhile')).body).toBe('app GET /meanwhile body=0\n');
      const other = await suite.pod.connect();
      expect(await other.readFile('/etc/config/app.yaml')).toEqual(Buffer.from('greeting: hello from the pod\n'));
      expect(await Promise.all(stuck)).toEqual(['ETIMEDOUT', 'ETIMEDOUT', 'ETIMEDOUT', 'ETIMEDOUT']);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(suite.pod.sidecarLog).not.toMatch(/the event loop has not run/);
      // Its 4 timed-out operations still hold threads: it may start no more, the other session may.
      await expect(writer.call('fs.stat', { path: '/etc/config/app.yaml', follow: true })).rejects.toMatchObject({
        code: 'EAGAIN',
        message: expect.stringMatching(/4 of this session's file operations timed out/),
      });
      expect(await other.readFile('/etc/config/app.yaml')).toEqual(Buffer.from('greeting: hello from the pod\n'));
      await volume.thaw(); // they end, and the session may go on
      await eventually(() => writer.call('fs.stat', { path: '/etc/config/app.yaml', follow: true }));
    } finally {
      await volume.thaw().catch(() => undefined); // (already thawed, unless the test failed first)
      await suite.pod.closeClients();
      await volume.unmount();
      await suite.pod.restartSidecar();
    }
  });

  it('refuses invalid subscriptions with the reason, and the session goes on', async () => {
    const client = await suite.pod.connect();
    await expect(client.subscribe({ port: 0, mode: 'steal' })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/port/) });
    await expect(client.subscribe({ port: 70000, mode: 'mirror' })).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(client.subscribe({ port: 61234, mode: 'steal' })).rejects.toThrow(/agent's own port/);
    await expect(client.subscribe({ port: APP_PORT, mode: 'steal', filter: { path: '(' } })).rejects.toThrow(/invalid path filter/);
    await expect(client.subscribe({ port: APP_PORT, mode: 'mirror', filter: { body: { query: '$.a[', matches: 'x' } } })).rejects.toThrow(
      /invalid body filter query/,
    );
    expect(await client.env()).toHaveProperty('GREETING');
    expect(await suite.pod.net.natRules()).not.toContain('MIRRORD');
  });

  it('removes the rules of a client that stops answering pings', async () => {
    const { client, transport } = await suite.pod.connectVia();
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal' });
    expect((await suite.pod.request('/frozen')).body).toBe('local GET /frozen body=0\n');
    signalGroup(transport.child, 'SIGSTOP'); // the laptop freezes: nothing answers the sidecar's pings
    try {
      await noRulesLeft(suite.pod, 8_000);
      expect((await suite.pod.request('/thawed')).body).toBe('app GET /thawed body=0\n');
    } finally {
      signalGroup(transport.child, 'SIGKILL');
    }
    expect(suite.pod.sidecarLog).toMatch(/did not answer a ping/);
  });

  it("while the sidecar's event loop is stalled, the watchdog sends new connections to the app and the liveness probe fails; then the steal resumes", async () => {
    // The client's own pings would end the session during a long stall; this test is about the pod's side.
    const client = await suite.pod.connect({ heartbeatMs: 60_000 });
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal' });
    expect((await suite.pod.request('/before')).body).toBe('local GET /before body=0\n');
    const jump = /-A PREROUTING -j MIRRORD_INCOMING/;
    // The liveness probe's own command, run in the pod as the kubelet would.
    const liveness = () =>
      suite.pod.net.exec(suite.pod.net.pod, 'bash', ['-c', livenessScript(AGENT_PORT)]).then(
        () => 'passes',
        () => 'fails',
      );
    expect(await liveness()).toBe('passes');

    await suite.pod.stallSidecar(6000);
    const stalled = Date.now();
    await eventually(async () => expect(await suite.pod.net.natRules()).not.toMatch(jump), 4000, 50);
    const bypassedAfterMs = Date.now() - stalled;
    expect((await suite.pod.request('/during-the-stall')).body).toBe('app GET /during-the-stall body=0\n');
    expect(await liveness()).toBe('fails');
    expect(bypassedAfterMs).toBeLessThan(3500); // MIRRORD_WATCHDOG_MS is 1500 by default; the session's heartbeat would take longer

    await eventually(async () => expect(await suite.pod.net.natRules()).toMatch(jump), 10_000);
    expect((await suite.pod.request('/after')).body).toBe('local GET /after body=0\n');
    expect(await liveness()).toBe('passes');
    expect(suite.pod.sidecarLog).toMatch(/the event loop has not run for \d+ ms: removed 2 jump/); // IPv4's and IPv6's
    expect(suite.pod.sidecarLog).toMatch(/jump restored after a stall/);
  });

  it('an unfiltered steal whose laptop stops answering: in-flight connections are reset at once, new ones reach the app, and stealing resumes when it answers', async () => {
    // Heartbeats far longer than the test, so that only the 500 ms grace can explain what follows.
    await suite.pod.restartSidecar({ MIRRORD_HEARTBEAT_MS: '60000' });
    const local = http.createServer((req, res) => req.url !== '/hang' && res.end(`local ${req.url}\n`));
    const hung = once(local, 'request');
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    try {
      const { client, transport } = await suite.pod.connectVia({ heartbeatMs: 60_000 });
      forwardIncoming(client, (local.address() as AddressInfo).port);
      await client.subscribe({ port: APP_PORT, mode: 'steal' });
      expect((await suite.pod.request('/before')).body).toBe('local /before\n');
      const inFlight = suite.pod.request('/hang').then(
        () => 'answered',
        (error: Error) => error.message,
      );
      await hung;

      signalGroup(transport.child, 'SIGSTOP'); // the laptop freezes
      const frozen = Date.now();
      expect(await inFlight).toMatch(/reset by peer|Empty reply|Recv failure/);
      const inFlightFailedAfterMs = Date.now() - frozen;
      const reachedApp = await eventually(async () => (await suite.pod.request('/meanwhile', {}, ['--max-time', '1'])).body, 5000, 50);
      const appAfterMs = Date.now() - frozen;
      expect(reachedApp).toBe('app GET /meanwhile body=0\n');
      expect(inFlightFailedAfterMs).toBeLessThan(2500); // 500 ms grace; curl's own limit is 10 s
      expect(appAfterMs).toBeLessThan(3000);
      expect(await suite.pod.net.natRules()).toContain('MIRRORD_INCOMING'); // not by ending the session

      signalGroup(transport.child, 'SIGCONT'); // and comes back
      await eventually(async () => expect((await suite.pod.request('/thawed')).body).toBe('local /thawed\n'));
      expect(suite.pod.sidecarLog).toMatch(/the client stopped answering .*"reset":[1-9]/);
      expect(suite.pod.sidecarLog).toMatch(/the client answers again after \d+ ms: stealing resumes/);
    } finally {
      local.close();
      await suite.pod.restartSidecar();
    }
  });

  it('after kill -9 during a steal, a restarted sidecar removes the stale rules and the app answers', async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal' });
    suite.pod.sidecar.kill('SIGKILL');
    await once(suite.pod.sidecar, 'exit');
    expect(await suite.pod.net.natRules()).toContain('MIRRORD_INCOMING');
    await suite.pod.startSidecar();
    expect(await suite.pod.net.natRules()).not.toContain('MIRRORD');
    expect((await suite.pod.request('/recovered')).body).toBe('app GET /recovered body=0\n');
  });

  it('on SIGTERM ends sessions with the reason and removes its rules', async () => {
    const client = await suite.pod.connect();
    forwardIncoming(client, suite.local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal' });
    suite.pod.sidecar.kill('SIGTERM');
    expect(await client.closed()).toMatch(/sidecar received SIGTERM/);
    const [code] = await once(suite.pod.sidecar, 'exit');
    expect(code).toBe(0);
    expect(await suite.pod.net.natRules()).not.toContain('MIRRORD');
    expect((await suite.pod.request('/terminated')).body).toBe('app GET /terminated body=0\n');
    await suite.pod.startSidecar();
  });
});
