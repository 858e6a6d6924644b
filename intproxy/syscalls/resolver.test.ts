import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import type { ChannelHandlers } from '../channel';
import { PodResolver } from './resolver';

/** One query to the resolver over UDP, as a program's resolver sends it; the decoded answer. */
async function ask(port: number, name: string, type: 'A' | 'AAAA' | 'TXT'): Promise<dnsPacket.Packet> {
  const socket = dgram.createSocket('udp4');
  const answer = new Promise<Buffer>((resolve) => socket.once('message', resolve));
  socket.send(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), port, '127.0.0.1');
  const bytes = await answer;
  socket.close();
  return dnsPacket.decode(bytes);
}

describe('the name server a program with its own resolver asks', () => {
  let resolver: PodResolver;
  const asked: string[] = [];
  beforeAll(async () => {
    // What the pod answers (the local proxy's resolve handler asks the sidecar).
    const resolve: ChannelHandlers['resolve'] = async ({ host, family }) => {
      asked.push(`${host}/${family}`);
      if (host === 'both.svc') return { kind: 'ok', addresses: ['10.0.0.7', 'fd00::7'] };
      if (host === 'four.svc') return { kind: 'ok', addresses: ['10.0.0.4'] };
      if (host === 'localhost') return { kind: 'local' };
      return { kind: 'error', code: -2 };
    };
    resolver = await PodResolver.start(resolve);
  });
  afterAll(() => resolver.close());

  it('answers A and AAAA from the pod, tells a missing name (NXDOMAIN) from a missing family (no records), and keeps the query id', async () => {
    const a = await ask(resolver.port, 'both.svc', 'A');
    expect(a).toMatchObject({
      id: 7,
      type: 'response',
      rcode: 'NOERROR',
      answers: [expect.objectContaining({ type: 'A', name: 'both.svc', data: '10.0.0.7' })],
    });
    expect((await ask(resolver.port, 'both.svc', 'AAAA')).answers).toEqual([expect.objectContaining({ type: 'AAAA', data: 'fd00::7' })]);
    expect(await ask(resolver.port, 'four.svc', 'AAAA')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(await ask(resolver.port, 'nowhere.svc', 'A')).toMatchObject({ rcode: 'NXDOMAIN', answers: [] });
    expect(await ask(resolver.port, 'both.svc', 'TXT')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    // Both families at once, so the two answers agree on whether the name exists.
    expect(asked).toEqual(['both.svc/0', 'both.svc/0', 'four.svc/0', 'nowhere.svc/0']);
  });

  it('resolves on this machine a name the DNS filter keeps local', async () => {
    expect((await ask(resolver.port, 'localhost', 'A')).answers).toEqual([expect.objectContaining({ data: '127.0.0.1' })]);
  });
});
