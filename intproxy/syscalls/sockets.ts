/**
 * The socket calls of the syscall mode, as the layer's socket hooks do them (docs/layer.md): a
 * connect the proxy sends through the pod connects the program's socket to the proxy's local
 * relay instead (through a descriptor of ours for the same socket), and getpeername and
 * getsockname then report the pod-side addresses; a TCP bind to a port the pod's traffic comes
 * to binds to a free local port, and listen subscribes the pod's port; a connection accepted from
 * the proxy reports the pod-side client as its peer.
 */
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import type { Endpoint, Notification, SocketInfo, SyscallNative } from '../../layer/syscall/native';
import type { ChannelHandlers } from '../channel';
import { relayLoopback } from '../outgoing';
import { afterWrite, CONTINUE, fromResult, int, otherwise, type Answer, type CallHandler } from './answer';

const { EFAULT, EMSGSIZE } = constants.errno;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const AF_INET6 = 10;
/** The longest socket address a call names (sizeof(struct sockaddr_storage)). */
const MAX_SOCKADDR = 128;
/** The largest UDP datagram. */
const MAX_DATAGRAM = 65_535;

/** What the program's socket (by inode) stands for. */
interface Known {
  /** The pod-side destination a connect asked for. */
  peer?: Endpoint;
  /** The pod-side source (a relayed connection), or the address a bind asked for (an intercepted listener). */
  local?: Endpoint;
  /** An intercepted bind's port (the pod's), until listen subscribes it. */
  bound?: number;
}

export class SocketCalls {
  private readonly known = new Map<number, Known>();
  /** Per unconnected UDP socket (by inode): the relay port standing for each destination, or 'local'. */
  private readonly udpRoutes = new Map<number, Map<string, number | 'local'>>();
  /** The local ports of the program's intercepted listeners: a connection accepted on one is from the pod. */
  private readonly listeners = new Set<number>();

  constructor(
    private readonly native: SyscallNative,
    private readonly handlers: ChannelHandlers,
    /** Under remote DNS: the name server the resolver files name, and where it really listens. */
    private readonly nameServer?: { address: string; port: number },
  ) {}

  calls(): Record<string, CallHandler> {
    return {
      connect: (call) => this.withSocket(call, (fd, info) => this.connect(call, fd, info)),
      bind: (call) => this.withSocket(call, (fd, info) => this.bind(call, fd, info)),
      listen: (call) => this.withSocket(call, (fd, info) => this.listen(call, fd, info)),
      accept: (call) => this.withSocket(call, (fd, info) => this.accept(call, fd, info, 0)),
      accept4: (call) => this.withSocket(call, (fd, info) => this.accept(call, fd, info, int(call.args[3]))),
      getpeername: (call) => this.withSocket(call, (_fd, info) => this.reportPeer(call, info)),
      getsockname: (call) => this.withSocket(call, (_fd, info) => this.reportLocal(call, info)),
      sendto: (call) => this.withSocket(call, (fd, info) => this.sendTo(call, fd, info)),
    };
  }

  /** Runs `use` with a descriptor of ours for the call's socket (its first argument), closed after. */
  private async withSocket(call: Notification, use: (fd: number, info: SocketInfo) => Promise<Answer>): Promise<Answer> {
    const fd = this.native.takeFd(call.pid, int(call.args[0]));
    if (fd < 0) return CONTINUE;
    try {
      const info = this.native.socketInfo(fd);
      return info ? await use(fd, info) : CONTINUE;
    } finally {
      closeSync(fd);
    }
  }

  /** The socket address a call names (at argument `at`, its length at the next), when it is IPv4 or IPv6. */
  private address(call: Notification, at = 1): (Endpoint & { family: number }) | null {
    const length = int(call.args[at + 1]);
    if (length < 2 || length > MAX_SOCKADDR) return null;
    return this.native.parseSockaddr(this.native.readMemory(call.pid, call.args[at]!, length));
  }

  private async connect(call: Notification, fd: number, info: SocketInfo): Promise<Answer> {
    const to = this.address(call);
    const protocol = info.type === SOCK_STREAM ? 'tcp' : info.type === SOCK_DGRAM ? 'udp' : undefined;
    if (!to || !protocol) return CONTINUE;
    const server = this.nameServer;
    if (server && protocol === 'udp' && to.address === server.address && to.port === 53) {
      // A query of the program's own resolver: to the pod's name server here (resolver.ts).
      this.remember(info.inode, { peer: { address: to.address, port: to.port } });
      return fromResult(this.native.connectTo(fd, '127.0.0.1', server.port));
    }
    const reply = await this.handlers.connect({ op: 'connect', protocol, address: to.address, port: to.port });
    if (reply.kind === 'local' || reply.kind === 'error') return otherwise(reply);
    // A relay listens on the loopback of the destination's family, the program's listener on IPv4's.
    const result =
      reply.kind === 'redirect'
        ? this.native.connectTo(fd, relayLoopback(to.address), reply.relayPort)
        : this.native.connectTo(fd, '127.0.0.1', reply.localPort);
    this.remember(info.inode, { peer: { address: to.address, port: to.port }, ...(reply.kind === 'redirect' && { local: reply.podLocal }) });
    return fromResult(result);
  }

  /**
   * A datagram of an unconnected UDP socket to an address the proxy sends through the pod: sent,
   * by mirrord on a descriptor of its own for the socket, to the relay that stands for that
   * destination (one per socket and destination, made on first use, as the layer's). Answers come
   * back from the relay's address.
   */
  private async sendTo(call: Notification, fd: number, info: SocketInfo): Promise<Answer> {
    const to = this.address(call, 4);
    if (!to || info.type !== SOCK_DGRAM || info.peer) return CONTINUE;
    const routes = this.udpRoutes.get(info.inode) ?? new Map<string, number | 'local'>();
    bounded(this.udpRoutes).set(info.inode, routes);
    const key = `${to.address}:${to.port}`;
    let route = routes.get(key);
    if (route === undefined) {
      const reply = await this.handlers.connect({ op: 'connect', protocol: 'udp', address: to.address, port: to.port });
      if (reply.kind === 'error') return otherwise(reply);
      route = reply.kind === 'redirect' ? reply.relayPort : 'local';
      routes.set(key, route);
    }
    if (route === 'local') return CONTINUE;
    // As the kernel: a datagram larger than UDP allows is refused, not cut.
    if (call.args[2]! > BigInt(MAX_DATAGRAM)) return { kind: 'errno', errno: EMSGSIZE };
    const data = this.native.readMemory(call.pid, call.args[1]!, Number(call.args[2]));
    return fromResult(this.native.sendTo(fd, data, int(call.args[3]), relayLoopback(to.address), route));
  }

  private async bind(call: Notification, fd: number, info: SocketInfo): Promise<Answer> {
    const at = this.address(call);
    if (!at || at.port === 0 || info.type !== SOCK_STREAM) return CONTINUE;
    const reply = await this.handlers.bind({ op: 'bind', address: at.address, port: at.port });
    if (reply.kind === 'local') return CONTINUE;
    // A free local port of the same address: the proxy brings the pod's connections to it.
    const result = this.native.bindTo(fd, at.address, 0);
    if (result !== 0) return fromResult(result);
    this.remember(info.inode, { local: { address: at.address, port: at.port }, bound: at.port });
    return { kind: 'value', value: 0 };
  }

  private async listen(call: Notification, fd: number, info: SocketInfo): Promise<Answer> {
    const bound = this.known.get(info.inode)?.bound;
    if (bound === undefined) return CONTINUE;
    const result = this.native.listenOn(fd, int(call.args[1]));
    if (result !== 0) return fromResult(result);
    const localPort = this.native.socketInfo(fd)?.local?.port ?? 0;
    const reply = await this.handlers.listen({ op: 'listen', port: bound, localPort });
    if (reply.kind === 'error') return otherwise(reply);
    this.listeners.add(localPort);
    return { kind: 'value', value: 0 };
  }

  /**
   * A connection accepted on an intercepted listener reports the pod-side client as its address,
   * as the layer's accept does (Go takes a connection's remote address from accept4). Made here,
   * on a descriptor of ours for the listener, when the listener doesn't block (Go's never does;
   * a blocking accept would hold this process): else the call runs as made, and getpeername
   * still reports the client.
   */
  private async accept(call: Notification, fd: number, info: SocketInfo, flags: number): Promise<Answer> {
    if (!info.local || !this.listeners.has(info.local.port) || this.native.blocks(fd)) return CONTINUE;
    const accepted = this.native.acceptFrom(fd, flags);
    if (typeof accepted === 'number') return fromResult(accepted);
    const client = accepted.peer && (await this.fromPod({ ...info, peer: accepted.peer }))?.client;
    // The program's address buffer is always filled, as accept's own: with the pod-side client,
    // else (a connection of the program's own to its port, or one of a family the listener can't
    // hold) with the address the kernel gave.
    const address = [client, accepted.peer].find((endpoint) => endpoint && this.fits(info, endpoint));
    if (address && call.args[1] !== 0n) this.writeAddress(call, info, address);
    return { kind: 'fd', fd: accepted.fd, cloexec: (flags & SOCK_CLOEXEC) !== 0 };
  }

  private async reportPeer(call: Notification, info: SocketInfo): Promise<Answer> {
    const peer = this.known.get(info.inode)?.peer ?? (await this.fromPod(info))?.client;
    return peer && this.fits(info, peer) ? this.writeAddress(call, info, peer) : CONTINUE;
  }

  private async reportLocal(call: Notification, info: SocketInfo): Promise<Answer> {
    const local = this.known.get(info.inode)?.local ?? (await this.fromPod(info))?.pod;
    return local && this.fits(info, local) ? this.writeAddress(call, info, local) : CONTINUE;
  }

  /** For a connection accepted on an intercepted listener: the pod-side client and address it stands for. */
  private async fromPod(info: SocketInfo): Promise<{ client: Endpoint; pod: Endpoint } | undefined> {
    if (!info.local || !info.peer || !this.listeners.has(info.local.port)) return undefined;
    const reply = await this.handlers.peer({ op: 'peer', localPort: info.peer.port });
    return reply.kind === 'ok' ? reply : undefined;
  }

  /** Records what a socket stands for; the oldest records go past MAX_RECORDS (sockets long closed, mostly). */
  private remember(inode: number, what: Known): void {
    bounded(this.known).set(inode, what);
  }

  /** Whether `endpoint` can be written as an address of the socket's family (an IPv6 one can't on an IPv4 socket). */
  private fits(info: SocketInfo, endpoint: Endpoint): boolean {
    return info.family === AF_INET6 || !endpoint.address.includes(':');
  }

  /** Writes `endpoint` where getsockname/getpeername put theirs (address at args[1], its length at args[2]), as the socket's family. */
  private writeAddress(call: Notification, info: SocketInfo, endpoint: Endpoint): Answer {
    const lengthAt = call.args[2]!;
    const room = this.native.readMemory(call.pid, lengthAt, 4);
    if (room.length < 4) return { kind: 'errno', errno: EFAULT };
    const address = this.native.sockaddr(info.family === AF_INET6 ? AF_INET6 : 2, endpoint.address, endpoint.port);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(address.length);
    // As the kernel does: the address truncated to the room given, the length it really has.
    const written = this.native.writeMemory(call.pid, call.args[1]!, address.subarray(0, room.readUInt32LE()));
    if (written === 0) this.native.writeMemory(call.pid, lengthAt, length);
    return afterWrite(written, 0);
  }
}

/**
 * How many sockets the supervisor remembers (what they stand for, their UDP routes). It can't see
 * a socket close (close isn't trapped), so a program that opens sockets for ever would grow the
 * maps for ever: past this many, the oldest are forgotten (a socket still open then reports
 * the relay's address, not the pod-side one).
 */
const MAX_RECORDS = 16_384;

/** `map`, its oldest entry dropped when it is full. */
function bounded<K, V>(map: Map<K, V>): Map<K, V> {
  if (map.size >= MAX_RECORDS) map.delete(map.keys().next().value as K);
  return map;
}
