import dgram from 'node:dgram';
import net from 'node:net';
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

/** Queries over one TCP connection, each after its length in two bytes (RFC 1035, 4.2.2), sent in one write; the decoded answers. */
async function askTcp(port: number, names: string[]): Promise<dnsPacket.Packet[]> {
  const connection = net.connect(port, '127.0.0.1');
  const queries = names.map((name, id) => {
    const query = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] });
    return Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]);
  });
  connection.write(Buffer.concat(queries));
  const answers: dnsPacket.Packet[] = [];
  let pending = Buffer.alloc(0);
  for await (const chunk of connection) {
    pending = Buffer.concat([pending, chunk as Buffer]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      answers.push(dnsPacket.decode(pending.subarray(2, 2 + pending.readUInt16BE(0))));
      pending = pending.subarray(2 + pending.readUInt16BE(0));
    }
    if (answers.length === names.length) break;
  }
  connection.destroy();
  return answers;
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
      if (host === 'many.svc') return { kind: 'ok', addresses: Array.from({ length: 40 }, (_, i) => `10.1.0.${i + 1}`) };
      if (host === 'localhost') return { kind: 'local' };
      return { kind: 'error', code: -2 };
    };
    resolver = await PodResolver.start(resolve);
  });
  afterAll(() => resolver.close());

  it('answers A and AAAA from the pod, tells a missing name (NXDOMAIN) from a missing family (no records), and keeps the query id', async () => {
    const a = await ask(resolver.udpPort, 'both.svc', 'A');
    expect(a).toMatchObject({
      id: 7,
      type: 'response',
      rcode: 'NOERROR',
      answers: [expect.objectContaining({ type: 'A', name: 'both.svc', data: '10.0.0.7' })],
    });
    expect((await ask(resolver.udpPort, 'both.svc', 'AAAA')).answers).toEqual([expect.objectContaining({ type: 'AAAA', data: 'fd00::7' })]);
    expect(await ask(resolver.udpPort, 'four.svc', 'AAAA')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    expect(await ask(resolver.udpPort, 'nowhere.svc', 'A')).toMatchObject({ rcode: 'NXDOMAIN', answers: [] });
    expect(await ask(resolver.udpPort, 'both.svc', 'TXT')).toMatchObject({ rcode: 'NOERROR', answers: [] });
    // Both families at once, so the two answers agree on whether the name exists.
    expect(asked).toEqual(['both.svc/0', 'both.svc/0', 'four.svc/0', 'nowhere.svc/0']);
  });

  it('resolves on this machine a name the DNS filter keeps local', async () => {
    expect((await ask(resolver.udpPort, 'localhost', 'A')).answers).toEqual([expect.objectContaining({ data: '127.0.0.1' })]);
  });

  it('answers over TCP too, in the order asked, several queries on one connection', async () => {
    const answers = await askTcp(resolver.tcpPort, ['both.svc', 'nowhere.svc', 'four.svc']);
    expect(answers).toEqual([
      expect.objectContaining({ id: 0, rcode: 'NOERROR', answers: [expect.objectContaining({ data: '10.0.0.7' })] }),
      expect.objectContaining({ id: 1, rcode: 'NXDOMAIN', answers: [] }),
      expect.objectContaining({ id: 2, rcode: 'NOERROR', answers: [expect.objectContaining({ data: '10.0.0.4' })] }),
    ]);
  });

  it('an answer too long for a datagram comes truncated (TC, no records) over UDP, and whole over TCP', async () => {
    const udp = await ask(resolver.udpPort, 'many.svc', 'A');
    expect((udp.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE).toBeTruthy();
    expect(udp.answers).toEqual([]);
    const [tcp] = await askTcp(resolver.tcpPort, ['many.svc']);
    expect((tcp!.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE).toBe(0);
    expect(tcp!.answers).toHaveLength(40);
  });
});
