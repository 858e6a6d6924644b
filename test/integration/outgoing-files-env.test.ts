import { podSuite } from './suite';
import { once } from 'node:events';
import { SERVICE_IP, SERVICE_NAME } from '../harness/netns';
import { run } from '../harness/run';

jest.setTimeout(60_000);

describe('outgoing, DNS, files and env through the sidecar', () => {
  const suite = podSuite();

  it('reaches a pod-only service over TCP, which this machine cannot reach directly', async () => {
    await expect(run('curl', ['-sS', '--max-time', '3', `http://${SERVICE_IP}:7000/`])).rejects.toThrow(/unreachable|Couldn't connect|timed out/i);
    const client = await suite.pod.connect();
    const { stream, remote } = await client.connect('tcp', SERVICE_NAME, 7000);
    expect(remote).toEqual({ address: SERVICE_IP, port: 7000 });
    const payload = Buffer.alloc(3 * 1024 * 1024, 'x');
    const echoed: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => echoed.push(chunk));
    stream.end(payload);
    await once(stream, 'end');
    expect(Buffer.concat(echoed).equals(payload)).toBe(true);
  });

  it('sends and receives UDP datagrams from the pod', async () => {
    const client = await suite.pod.connect();
    const { stream } = await client.connect('udp', SERVICE_IP, 7001);
    stream.write(Buffer.from('ping'));
    const [answer] = (await once(stream, 'data')) as [Buffer];
    expect(answer.toString()).toBe('svc:ping');
    stream.destroy();
  });

  it('refuses a connection the pod cannot make, with the errno', async () => {
    const client = await suite.pod.connect();
    await expect(client.connect('tcp', SERVICE_IP, 7999)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it("resolves names with the pod's hosts file, and reports names that don't exist", async () => {
    const client = await suite.pod.connect();
    expect(await client.resolve(SERVICE_NAME, 4)).toEqual([{ address: SERVICE_IP, family: 4 }]);
    await expect(client.resolve('no-such-name.invalid')).rejects.toMatchObject({ code: expect.stringMatching(/ENOTFOUND|EAI_AGAIN/) });
  });

  it('reads files beneath the app root by their in-app paths, and nothing outside it', async () => {
    const client = await suite.pod.connect();
    expect(client.info.mounts).toEqual(['/etc/config', '/srv']);
    expect((await client.readFile('/etc/config/app.yaml')).toString()).toBe('greeting: hello from the pod\n');
    await expect(client.readFile('/etc/config/../../../etc/hostname')).rejects.toMatchObject({
      code: 'EXDEV',
      message: expect.stringMatching(/escapes the app root/),
    });
    // symlinks pointing out of the root resolve inside it, where nothing is
    await expect(client.readFile('/etc/config/escape-absolute')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(client.readFile('/etc/config/escape-relative')).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await client.call('fs.readlink', { path: '/etc/config/escape-absolute' })).result.target).toBe('/etc/hostname');
    const { entries } = (await client.call('fs.readdir', { path: '/etc/config' })).result;
    expect(entries.map((e) => e.name).sort()).toEqual(['app.yaml', 'escape-absolute', 'escape-relative']);
    const { stat } = (await client.call('fs.stat', { path: '/etc/config/app.yaml', follow: true })).result;
    expect(stat.size).toBe(29);
    await expect(client.call('fs.read', { fd: 12345, length: 10 })).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('seeks and reads at positions', async () => {
    const client = await suite.pod.connect();
    const { fd } = (await client.call('fs.open', { path: '/etc/config/app.yaml', flags: 0 })).result;
    expect((await client.call('fs.seek', { fd, offset: -4, whence: 'end' })).result.position).toBe(25);
    const tail = await client.call('fs.read', { fd, length: 100 });
    expect(tail.attachment?.toString()).toBe('pod\n');
    const at = await client.call('fs.read', { fd, length: 8, position: 10 });
    expect(at.attachment?.toString()).toBe('hello fr');
    await client.call('fs.close', { fd });
  });

  it("hands over the app's environment without the prefix", async () => {
    const client = await suite.pod.connect();
    const env = await client.env();
    expect(env).toEqual({ GREETING: 'hello from the pod', DATABASE_URL: 'postgres://db.internal:5432/app' });
    expect(client.info.pod).toEqual({ name: 'test-pod', namespace: 'default', ip: '198.18.0.1' });
  });
});
