/**
 * What the syscall mode answers a trapped call with, and the small conversions every kind of call
 * makes to get there: a call's integer arguments, a native result, a handler's reply.
 */
import { constants } from 'node:os';
import type { Notification } from '../../layer/syscall/native';

/** Run as the program made it (`continue`), returned (`value`, or `errno`), or returned as a descriptor put into the program (`fd`). */
export type Answer = { kind: 'continue' } | { kind: 'value'; value: number } | { kind: 'errno'; errno: number } | { kind: 'fd'; fd: number; cloexec: boolean };

export type CallHandler = (call: Notification) => Promise<Answer>;

export const CONTINUE: Answer = { kind: 'continue' };

/** An argument as the call's C int (descriptors, flags: the low 32 bits, signed). */
export function int(arg: bigint | undefined): number {
  return Number(BigInt.asIntN(32, arg ?? 0n));
}

/** A native call's result (a count, or 0, or -errno) as the program's answer. */
export function fromResult(result: number): Answer {
  return result >= 0 ? { kind: 'value', value: result } : { kind: 'errno', errno: -result };
}

/** A handler's reply that isn't its answer: `local` runs the call as made, `error` fails it with the pod's errno. */
export function otherwise(reply: { kind: 'local' } | { kind: 'error'; errno: number }): Answer {
  return reply.kind === 'local' ? CONTINUE : { kind: 'errno', errno: reply.errno };
}

/** `value`, once `written` (a writeMemory result) says the program's memory took what the call returns there; else EFAULT. */
export function afterWrite(written: number, value: number): Answer {
  return written === 0 ? { kind: 'value', value } : { kind: 'errno', errno: constants.errno.EFAULT };
}
