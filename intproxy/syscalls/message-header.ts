/**
 * struct msghdr in the program's memory, as sendmsg and recvmsg name it (the layout of both
 * 64-bit architectures the syscall mode runs on): where the address, the data's pieces
 * (iovecs) and the ancillary data are, and the fields recvmsg fills in.
 */
import type { SyscallNative } from '../../layer/syscall/native';

/** sizeof(struct msghdr) */
const SIZE = 56;
/** The kernel's limit on a call's iovecs (UIO_MAXIOV). */
const MAX_IOVECS = 1024;
/** More room than any datagram needs. */
const MAX_ROOM = 1n << 20n;
/** Where recvmsg writes what it received into the program's header. */
export const FILLED = { nameLength: 8n, controlLength: 40n, flags: 48n } as const;

export interface MessageHeader {
  /** msg_name: 0n when the call names no address. */
  nameAt: bigint;
  nameLength: number;
  iovecs: { at: bigint; length: number }[];
  controlAt: bigint;
  controlLength: number;
}

/** The header at `at` in process `pid`, or undefined when it (or its iovecs) can't be read. */
export function readMessageHeader(native: SyscallNative, pid: number, at: bigint): MessageHeader | undefined {
  const header = native.readMemory(pid, at, SIZE);
  if (header.length < SIZE) return undefined;
  const count = Number(header.readBigUInt64LE(24));
  if (count > MAX_IOVECS) return undefined;
  const vector = native.readMemory(pid, header.readBigUInt64LE(16), count * 16);
  if (vector.length < count * 16) return undefined;
  const iovecs = Array.from({ length: count }, (_, i) => {
    const length = vector.readBigUInt64LE(i * 16 + 8);
    // A length past what any datagram could fill only says there is room enough.
    return { at: vector.readBigUInt64LE(i * 16), length: Number(length > MAX_ROOM ? MAX_ROOM : length) };
  });
  return {
    nameAt: header.readBigUInt64LE(0),
    nameLength: header.readUInt32LE(8),
    iovecs,
    controlAt: header.readBigUInt64LE(32),
    controlLength: Number(header.readBigUInt64LE(40)),
  };
}

/** The iovecs' bytes together, or undefined when they are more than `max` or can't be read. */
export function gather(native: SyscallNative, pid: number, header: MessageHeader, max: number): Buffer | undefined {
  if (total(header) > max) return undefined;
  const pieces = header.iovecs.map(({ at, length }) => (length ? native.readMemory(pid, at, length) : Buffer.alloc(0)));
  return pieces.every((piece, i) => piece.length === header.iovecs[i]!.length) ? Buffer.concat(pieces) : undefined;
}

/** Writes `data` across the iovecs, in order: 0, or a writeMemory failure. */
export function scatter(native: SyscallNative, pid: number, header: MessageHeader, data: Buffer): number {
  let offset = 0;
  for (const { at, length } of header.iovecs) {
    if (offset >= data.length) break;
    const piece = data.subarray(offset, offset + length);
    const written = native.writeMemory(pid, at, piece);
    if (written !== 0) return written;
    offset += piece.length;
  }
  return 0;
}

/** The room the iovecs give, for a datagram at most `max` long. */
export function room(header: MessageHeader, max: number): number {
  return Math.min(max, total(header));
}

/** The iovecs' lengths together. */
function total(header: MessageHeader): number {
  return header.iovecs.reduce((sum, { length }) => sum + length, 0);
}
