/**
 * The socket calls of the syscall mode, as the layer's socket hooks do them (docs/layer.md): a
 * connect the proxy sends through the pod connects the program's socket to the proxy's local
 * relay instead (through a descriptor of ours for the same socket), and getpeername and
 * getsockname then report the pod-side addresses; a TCP bind to a port the pod's traffic comes
 * to binds to a free local port, and listen subscribes the pod's port; a connection accepted from
 * the proxy reports the pod-side client as its peer. The datagrams of unconnected UDP sockets
 * are datagrams.ts's.
 */
import { closeSync } from 'node:fs';
import type { Endpoint, Notification, SocketInfo, SyscallNative } from '../../layer/syscall/native';
import type { ChannelHandlers } from '../channel';
import { afterWrite, CONTINUE, fromResult, int, otherwise, type Answer, type CallHandler } from './answer';
import { untilReady } from './blocking';
import { DatagramCalls } from './datagrams';
import { addressArg, fits, writeAddress } from './socket-address';
import { SocketRecords } from './socket-records';
import { StandIns, type NameServer } from './stand-in';

const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

export class SocketCalls {
  private readonly records = new SocketRecords();
  private readonly standIns: StandIns;
  private readonly datagrams: DatagramCalls;
  /** The local ports of the program's intercepted listeners: a connection accepted on one is from the pod. */
  private readonly listeners = new Set<number>();

  constructor(
    private readonly native: SyscallNative,
    private readonly handlers: ChannelHandlers,
    /** Under remote DNS: the name server the resolver files name, and where it really listens. */
    nameServer?: NameServer,
  ) {
    this.standIns = new StandIns(handlers, nameServer);
    this.datagrams = new DatagramCalls(native, this.standIns, this.records);
  }

  calls(): Record<string, CallHandler> {
    return {
      connect: (call) => this.withSocket(call, (fd, info) => this.connect(call, fd, info)),
      bind: (call) => this.withSocket(call, (fd, info) => this.bind(call, fd, info)),
      listen: (call) => this.withSocket(call, (fd, info) => this.listen(call, fd, info)),
      accept: (call) => this.withSocket(call, (fd, info) => this.accept(call, fd, info, 0)),
      accept4: (call) => this.withSocket(call, (fd, info) => this.accept(call, fd, info, int(call.args[3]))),
      getpeername: (call) => this.withSocket(call, (_fd, info) => this.reportPeer(call, info)),
      getsockname: (call) => this.withSocket(call, (_fd, info) => this.reportLocal(call, info)),
      sendto: (call) => this.withSocket(call, (fd, info) => this.datagrams.sendto(call, fd, info)),
      sendmsg: (call) => this.withSocket(call, (fd, info) => this.datagrams.sendmsg(call, fd, info)),
      recvfrom: (call) => this.withSocket(call, (fd, info) => this.datagrams.recvfrom(call, fd, info)),
      recvmsg: (call) => this.withSocket(call, (fd, info) => this.datagrams.recvmsg(call, fd, info)),
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

  private async connect(call: Notification, fd: number, info: SocketInfo): Promise<Answer> {
    const at = addressArg(this.native, call, 1);
    const protocol = info.type === SOCK_STREAM ? 'tcp' : info.type === SOCK_DGRAM ? 'udp' : undefined;
    if (!at || !protocol) return CONTINUE;
    const to = { address: at.address, port: at.port };
    const standIn = await this.standIns.for(protocol, to);
    if (standIn === 'local') return CONTINUE;
    if ('kind' in standIn) return standIn;
    const { endpoint: instead, podLocal } = standIn;
    const result = this.native.connectTo(fd, instead.address, instead.port);
    this.records.remember(info.inode, { peer: to, ...(podLocal && { local: podLocal }) });
    if (protocol === 'udp') this.datagrams.connected(call, info, instead, to);
    return fromResult(result);
  }

  private async bind(call: Notification, fd: number, info: SocketInfo): Promise<Answer> {
    const at = addressArg(this.native, call, 1);
    if (!at || at.port === 0 || info.type !== SOCK_STREAM) return CONTINUE;
    const reply = await this.handlers.bind({ op: 'bind', address: at.address, port: at.port });
    if (reply.kind === 'local') return CONTINUE;
    // A free local port of the same address: the proxy brings the pod's connections to it.
    const result = this.native.bindTo(fd, at.address, 0);
    if (result !== 0) return fromResult(result);
    this.records.remember(info.inode, { local: { address: at.address, port: at.port }, bound: at.port });
    return { kind: 'value', value: 0 };
  }

  private async listen(call: Notification, fd: number, info: SocketInfo): Promise<Answer> {
    const bound = this.records.get(info.inode)?.bound;
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
   * on a descriptor of ours for the listener; a blocking listener's accept waits as blocking.ts
   * says.
   */
  private async accept(call: Notification, fd: number, info: SocketInfo, flags: number): Promise<Answer> {
    if (!info.local || !this.listeners.has(info.local.port)) return CONTINUE;
    const wait = { blocks: this.native.blocks(fd), timeoutMs: info.receiveTimeoutMs };
    const accepted = await untilReady(this.native, call, fd, wait, () => this.native.acceptFrom(fd, flags));
    if ('kind' in accepted) return accepted;
    try {
      return await this.accepted(call, info, accepted, flags);
    } catch (error) {
      closeSync(accepted.fd);
      throw error;
    }
  }

  /** The program's answer for a connection accepted for it: the descriptor, its address buffer filled. */
  private async accepted(call: Notification, info: SocketInfo, accepted: { fd: number; peer: Endpoint | null }, flags: number): Promise<Answer> {
    const client = accepted.peer && (await this.fromPod({ ...info, peer: accepted.peer }))?.client;
    // The program's address buffer is always filled, as accept's own: with the pod-side client,
    // else (a connection of the program's own to its port, or one of a family the listener can't
    // hold) with the address the kernel gave.
    const address = [client, accepted.peer].find((endpoint) => endpoint && fits(info, endpoint));
    const written = address && call.args[1] !== 0n ? writeAddress(this.native, call.pid, info, call.args[1]!, call.args[2]!, address) : 0;
    if (written) {
      // As the kernel: an address it can't write fails the call, and the connection with it.
      closeSync(accepted.fd);
      return fromResult(written);
    }
    return { kind: 'fd', fd: accepted.fd, cloexec: (flags & SOCK_CLOEXEC) !== 0 };
  }

  private async reportPeer(call: Notification, info: SocketInfo): Promise<Answer> {
    const peer = this.records.get(info.inode)?.peer ?? (await this.fromPod(info))?.client;
    return peer ? this.report(call, info, peer) : CONTINUE;
  }

  private async reportLocal(call: Notification, info: SocketInfo): Promise<Answer> {
    const local = this.records.get(info.inode)?.local ?? (await this.fromPod(info))?.pod;
    return local ? this.report(call, info, local) : CONTINUE;
  }

  /** For a connection accepted on an intercepted listener: the pod-side client and address it stands for. */
  private async fromPod(info: SocketInfo): Promise<{ client: Endpoint; pod: Endpoint } | undefined> {
    if (!info.local || !info.peer || !this.listeners.has(info.local.port)) return undefined;
    const reply = await this.handlers.peer({ op: 'peer', localPort: info.peer.port });
    return reply.kind === 'ok' ? reply : undefined;
  }

  /** getsockname/getpeername's answer: `endpoint` at args[1], its length at args[2]; run as made when the socket's family can't hold it. */
  private report(call: Notification, info: SocketInfo, endpoint: Endpoint): Answer {
    if (!fits(info, endpoint)) return CONTINUE;
    return afterWrite(writeAddress(this.native, call.pid, info, call.args[1]!, call.args[2]!, endpoint), 0);
  }
}
