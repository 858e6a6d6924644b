/**
 * The name server of the syscall mode. A program with a resolver of its own (Go's, a static glibc's) reads
 * /etc/resolv.conf and /etc/hosts itself: under remote DNS it is given these files instead of this
 * machine's (`resolverFiles`), whose one name server is RESOLVER_ADDRESS; its queries there (port
 * 53, UDP, or TCP for an answer too long for a datagram) come to this server instead (sockets.ts,
 * datagrams.ts), which resolves each name as the layer's getaddrinfo is resolved: in the pod (its
 * search domains, its /etc/hosts), or on this machine where the DNS filter says so.
 */
import dgram from 'node:dgram';
import net, { type AddressInfo } from 'node:net';
import { lookup } from 'node:dns/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import type { ChannelHandlers } from '../channel';

/** The name server the resolver files name: a loopback address nothing else uses. */
export const RESOLVER_ADDRESS = '127.77.0.53';
/** How long a program's resolver may keep an answer. */
const TTL_SECONDS = 5;
/** Response codes (RFC 1035, 4.1.1), which dns-packet takes in the flags' low four bits. */
const NOERROR = 0;
const SERVFAIL = 2;
const NXDOMAIN = 3;

/** The resolver files, written in `dir`: their paths by the path the program opens. */
export function resolverFiles(dir: string): Map<string, string> {
  const resolvConf = join(dir, 'resolv.conf');
  const hosts = join(dir, 'hosts');
  // One name server, asked once (it answers at once); names keep the pod's search domains, which the pod's own resolver applies.
  writeFileSync(resolvConf, `nameserver ${RESOLVER_ADDRESS}\noptions ndots:1 timeout:5 attempts:1\n`);
  // The pod's other names (its host name, hostAliases) are the pod resolver's to answer.
  writeFileSync(hosts, '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n');
  return new Map([
    ['/etc/resolv.conf', resolvConf],
    ['/etc/hosts', hosts],
  ]);
}

export class PodResolver {
  private constructor(
    private readonly socket: dgram.Socket,
    private readonly server: net.Server,
  ) {}

  static async start(resolve: ChannelHandlers['resolve']): Promise<PodResolver> {
    const socket = dgram.createSocket('udp4');
    let closed = false;
    socket.once('close', () => (closed = true));
    socket.on('message', (query, from) => {
      // An answer the pod gives after the program has ended has nobody to go to.
      void answer(query, resolve)
        .then((reply) => reply && !closed && socket.send(truncatedForUdp(reply), from.port, from.address))
        .catch(() => undefined);
    });
    socket.on('error', () => undefined);
    const server = net.createServer((connection) => serveTcp(connection, resolve));
    await Promise.all([new Promise<void>((ready) => socket.bind(0, '127.0.0.1', ready)), new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))]);
    return new PodResolver(socket, server);
  }

  get udpPort(): number {
    return this.socket.address().port;
  }

  get tcpPort(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): void {
    this.socket.close();
    this.server.close();
  }
}

/** DNS over TCP (RFC 1035, 4.2.2): each message after its length in two bytes; answered in order. */
function serveTcp(connection: net.Socket, resolve: ChannelHandlers['resolve']): void {
  let pending = Buffer.alloc(0);
  let answered = Promise.resolve();
  connection.on('error', () => undefined);
  connection.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const query = pending.subarray(2, 2 + pending.readUInt16BE(0));
      pending = pending.subarray(2 + query.length);
      const reply = answer(query, resolve);
      answered = answered
        .then(async () => {
          const bytes = await reply;
          if (!bytes) return void connection.destroy();
          const length = Buffer.alloc(2);
          length.writeUInt16BE(bytes.length);
          connection.write(Buffer.concat([length, bytes]));
        })
        .catch(() => void connection.destroy());
    }
  });
}

/** The largest answer a resolver takes over UDP without EDNS (RFC 1035, 4.2.1). */
const UDP_ANSWER_MAX = 512;

/**
 * `reply` as an UDP answer: one too long for a datagram is sent without its records and marked
 * truncated (TC), which sends the resolver to TCP for the whole answer.
 */
function truncatedForUdp(reply: Buffer): Buffer {
  if (reply.length <= UDP_ANSWER_MAX) return reply;
  const packet = dnsPacket.decode(reply);
  return dnsPacket.encode({ ...packet, flags: (packet.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
}

/** The answer to one query (A and AAAA; any other type gets no records), or undefined for what is no query. */
async function answer(bytes: Buffer, resolve: ChannelHandlers['resolve']): Promise<Buffer | undefined> {
  let query: dnsPacket.Packet;
  try {
    query = dnsPacket.decode(bytes);
  } catch {
    return undefined;
  }
  const question = query.questions?.[0];
  if (!question || query.type !== 'query') return undefined;
  const reply = (rcode: number, answers: dnsPacket.Answer[] = []) =>
    dnsPacket.encode({
      id: query.id,
      type: 'response',
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
      questions: [question],
      answers,
    });
  const family = question.type === 'A' ? 4 : question.type === 'AAAA' ? 6 : undefined;
  if (!family) return reply(NOERROR);
  const host = question.name.replace(/\.$/, '');
  try {
    const addresses = await addressesOf(host, family, resolve);
    if (!addresses) return reply(NXDOMAIN);
    // A name with no address of this family: no records (NODATA), not a name that doesn't exist.
    return reply(
      NOERROR,
      addresses.map((data) => ({ type: question.type as 'A' | 'AAAA', name: question.name, ttl: TTL_SECONDS, class: 'IN', data })),
    );
  } catch {
    return reply(SERVFAIL);
  }
}

/**
 * The name's addresses of `family` (none when it has only the other family's), asked for both
 * at once so that a name without IPv6 addresses is told from one that doesn't exist; undefined
 * when it doesn't. From the pod, or this machine where the DNS filter keeps the name.
 */
async function addressesOf(host: string, family: 4 | 6, resolve: ChannelHandlers['resolve']): Promise<string[] | undefined> {
  const reply = await resolve({ op: 'resolve', host, family: 0 });
  if (reply.kind === 'error') return undefined;
  const addresses = reply.kind === 'ok' ? reply.addresses : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
  return addresses.length ? addresses.filter((address) => address.includes(':') === (family === 6)) : undefined;
}
