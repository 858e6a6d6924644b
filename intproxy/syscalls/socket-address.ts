/**
 * Socket addresses in the program's memory: the one a call names, and writing one back where a
 * call returns it (accept, getpeername, recvfrom, recvmsg), as the kernel does.
 */
import type { Endpoint, Notification, SocketInfo, SyscallNative } from '../../layer/syscall/native';
import { constants } from 'node:os';
import { int } from './answer';

const AF_INET = 2;
const AF_INET6 = 10;
/** The longest socket address a call names (sizeof(struct sockaddr_storage)). */
const MAX_SOCKADDR = 128;

/** The IPv4 or IPv6 address a call names at argument `at` (its length at the next); null for another kind, or none. */
export function addressArg(native: SyscallNative, call: Notification, at: number): (Endpoint & { family: number }) | null {
  return addressAt(native, call.pid, call.args[at]!, int(call.args[at + 1]));
}

/** The IPv4 or IPv6 address of `length` bytes at `at` in process `pid`. */
export function addressAt(native: SyscallNative, pid: number, at: bigint, length: number): (Endpoint & { family: number }) | null {
  if (at === 0n || length < 2 || length > MAX_SOCKADDR) return null;
  return native.parseSockaddr(native.readMemory(pid, at, length));
}

/** Whether `endpoint` can be written as an address of the socket's family (an IPv6 one can't on an IPv4 socket). */
export function fits(info: SocketInfo, endpoint: Endpoint): boolean {
  return info.family === AF_INET6 || !endpoint.address.includes(':');
}

/**
 * Writes `endpoint` (or, when null, no address) as an address of the socket's family at
 * `addressAt`, the room for it given by the socklen_t at `lengthAt`: truncated to that room, and
 * the length it really has written to `lengthAt`. 0, or a writeMemory failure.
 */
export function writeAddress(native: SyscallNative, pid: number, info: SocketInfo, addressAt: bigint, lengthAt: bigint, endpoint: Endpoint | null): number {
  const room = native.readMemory(pid, lengthAt, 4);
  if (room.length < 4) return -constants.errno.EFAULT;
  // A negative room (socklen_t is unsigned, the kernel reads an int) is refused, nothing written.
  if (room.readInt32LE() < 0) return -constants.errno.EINVAL;
  const address = endpoint ? native.sockaddr(info.family === AF_INET6 ? AF_INET6 : AF_INET, endpoint.address, endpoint.port) : Buffer.alloc(0);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(address.length);
  const written = native.writeMemory(pid, addressAt, address.subarray(0, room.readUInt32LE()));
  return written || native.writeMemory(pid, lengthAt, length);
}
