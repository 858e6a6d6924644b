/**
 * The datagrams of UDP sockets that name their peer in each call (sendto, sendmsg; recvfrom,
 * recvmsg): an unconnected socket's, as a resolver of its own (musl's) or a client of several
 * servers sends them. A datagram to a destination the proxy sends through the pod goes, by
 * mirrord on a descriptor of its own for the socket, to the endpoint of this machine standing for
 * it (stand-in.ts; a relay is made on first use per socket and destination, as the layer's); the
 * answers, received by mirrord too, say they come from the destination, as a resolver checks
 * before it believes one.
 */
import { constants } from 'node:os';
import type { Endpoint, Notification, Received, SocketInfo, SyscallNative } from '../../layer/syscall/native';
import { afterWrite, CONTINUE, fromResult, int, type Answer } from './answer';
import { untilReady } from './blocking';
import { FILLED, gather, readMessageHeader, room, scatter, type MessageHeader } from './message-header';
import { addressArg, addressAt, writeAddress } from './socket-address';
import { endpointKey, type SocketRecords } from './socket-records';
import type { StandIns } from './stand-in';

const { EFAULT, EMSGSIZE } = constants.errno;
const SOCK_DGRAM = 2;
const MSG_DONTWAIT = 0x40;
/** The socket's error queue: never waited for (the kernel doesn't). */
const MSG_ERRQUEUE = 0x2000;
/** The largest UDP datagram. */
const MAX_DATAGRAM = 65_535;
/** More ancillary data than a receive is given room for. */
const MAX_CONTROL = 65_536;

export class DatagramCalls {
  constructor(
    private readonly native: SyscallNative,
    private readonly standIns: StandIns,
    private readonly records: SocketRecords,
  ) {}

  /** Sends `data` (a sendto's or sendmsg's) from an UDP socket to `to`, where it goes instead when the pod's. */
  private async send(
    call: Notification,
    fd: number,
    info: SocketInfo,
    to: Endpoint | null,
    data: () => Buffer | Answer,
    flags: number,
    control?: Buffer,
  ): Promise<Answer> {
    if (!to || info.type !== SOCK_DGRAM || info.peer) return CONTINUE;
    const instead = await this.route(call, info, to);
    if (instead === 'local') return CONTINUE;
    if ('kind' in instead) return instead;
    const bytes = data();
    if (!Buffer.isBuffer(bytes)) return bytes;
    return fromResult(this.native.sendTo(fd, bytes, flags, instead.address, instead.port, control));
  }

  sendto(call: Notification, fd: number, info: SocketInfo): Promise<Answer> {
    const data = () => {
      const length = call.args[2]!;
      // As the kernel: a datagram larger than UDP allows is refused, not cut.
      if (length > BigInt(MAX_DATAGRAM)) return { kind: 'errno', errno: EMSGSIZE } as const;
      const bytes = this.native.readMemory(call.pid, call.args[1]!, Number(length));
      return bytes.length === Number(length) ? bytes : ({ kind: 'errno', errno: EFAULT } as const);
    };
    return this.send(call, fd, info, addressArg(this.native, call, 4), data, int(call.args[3]));
  }

  sendmsg(call: Notification, fd: number, info: SocketInfo): Promise<Answer> {
    const header = readMessageHeader(this.native, call.pid, call.args[1]!);
    if (!header) return Promise.resolve(CONTINUE);
    const to = addressAt(this.native, call.pid, header.nameAt, header.nameLength);
    const control = header.controlLength ? this.native.readMemory(call.pid, header.controlAt, Math.min(header.controlLength, MAX_CONTROL)) : undefined;
    // gather fails for a datagram larger than UDP allows, or pieces it can't read.
    const data = () => gather(this.native, call.pid, header, MAX_DATAGRAM) ?? ({ kind: 'errno', errno: EMSGSIZE } as const);
    return this.send(call, fd, info, to, data, int(call.args[2]), control);
  }

  /** recvfrom(fd, buf, len, flags, src_addr, addrlen) on a socket with routes: the sender as the destination it stands for. */
  async recvfrom(call: Notification, fd: number, info: SocketInfo): Promise<Answer> {
    const routes = this.records.routes(info.inode);
    if (!routes) return CONTINUE;
    const capacity = Math.min(Number(call.args[2]), MAX_DATAGRAM);
    const got = await this.receive(call, fd, info, capacity, 0, int(call.args[3]));
    if ('kind' in got) return got;
    const written = this.native.writeMemory(call.pid, call.args[1]!, got.data);
    if (written) return fromResult(written);
    return afterWrite(writeAddress(this.native, call.pid, info, call.args[4]!, call.args[5]!, this.sender(info, got)), got.length);
  }

  /** recvmsg(fd, msg, flags) on a socket with routes: as recvfrom, into the header's pieces, with its ancillary data and flags. */
  async recvmsg(call: Notification, fd: number, info: SocketInfo): Promise<Answer> {
    if (!this.records.routes(info.inode)) return CONTINUE;
    const at = call.args[1]!;
    const header = readMessageHeader(this.native, call.pid, at);
    if (!header) return CONTINUE;
    const got = await this.receive(call, fd, info, room(header, MAX_DATAGRAM), Math.min(header.controlLength, MAX_CONTROL), int(call.args[2]));
    if ('kind' in got) return got;
    return afterWrite(this.fill(call.pid, at, header, info, got), got.length);
  }

  /** Where an UDP socket's datagrams to `to` go instead (its receives then come here, their senders to translate), or 'local', or the answer for a failure. */
  private async route(call: Notification, info: SocketInfo, to: Endpoint): Promise<Endpoint | 'local' | Answer> {
    const routes = this.records.routes(info.inode, true);
    const key = endpointKey(to);
    const known = routes.to.get(key);
    if (known) return known;
    const standIn = await this.standIns.for('udp', to);
    if (standIn !== 'local' && 'kind' in standIn) return standIn;
    const instead = standIn === 'local' ? 'local' : standIn.endpoint;
    routes.to.set(key, instead);
    if (instead !== 'local') this.connected(call, info, instead, to);
    return instead;
  }

  /** An UDP socket whose datagrams to `to` go to `instead` (sendto, or connect): answers from `instead` say they are from `to`. */
  connected(call: Notification, info: SocketInfo, instead: Endpoint, to: Endpoint): void {
    this.records.routes(info.inode, true).from.set(endpointKey(instead), to);
    this.native.watchReceives(int(call.args[0]));
  }

  /** A datagram, received as the program's call would: waiting while there is none, when the call waits. */
  private receive(call: Notification, fd: number, info: SocketInfo, capacity: number, control: number, flags: number): Promise<Received | Answer> {
    const blocks = (flags & (MSG_DONTWAIT | MSG_ERRQUEUE)) === 0 && this.native.blocks(fd);
    return untilReady(this.native, call, fd, { blocks, timeoutMs: info.receiveTimeoutMs }, () => this.native.receive(fd, capacity, control, flags));
  }

  /** Who a received datagram says it is from: the destination its sender stands for. */
  private sender(info: SocketInfo, got: Received): Endpoint | null {
    return (got.from && this.records.routes(info.inode)?.from.get(endpointKey(got.from))) ?? got.from;
  }

  /** recvmsg's results in the program's header at `at`: data, sender, ancillary data, flags. */
  private fill(pid: number, at: bigint, header: MessageHeader, info: SocketInfo, got: Received): number {
    const flags = Buffer.alloc(4);
    flags.writeInt32LE(got.flags);
    const controlLength = Buffer.alloc(8);
    controlLength.writeBigUInt64LE(BigInt(got.control.length));
    const write = (address: bigint, data: Buffer) => () => this.native.writeMemory(pid, address, data);
    const steps = [
      () => scatter(this.native, pid, header, got.data),
      () => (header.nameAt ? writeAddress(this.native, pid, info, header.nameAt, at + FILLED.nameLength, this.sender(info, got)) : 0),
      ...(got.control.length ? [write(header.controlAt, got.control)] : []),
      write(at + FILLED.controlLength, controlLength),
      write(at + FILLED.flags, flags),
    ];
    for (const step of steps) {
      const failed = step();
      if (failed) return failed;
    }
    return 0;
  }
}
