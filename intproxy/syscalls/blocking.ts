/**
 * A blocking call the supervisor makes in the program's place (an accept or a receive on an
 * intercepted socket, whose address it must translate) can't block this process: it waits on
 * the event loop for the socket to be readable instead, as long as the call would have (the
 * socket's SO_RCVTIMEO, else for ever). While it waits, the program's thread sits in the trapped
 * call, where a signal it handles would be held back (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV): so
 * the wait gives up when one is pending, and the call runs as made, which the signal interrupts
 * as it would have (EINTR, or a restart that comes back here).
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { SyscallNative } from '../../layer/syscall/native';
import { CONTINUE, fromResult, type Answer } from './answer';

const { EAGAIN } = constants.errno;
/** How often a wait looks for a signal the program handles: the most it can delay one. */
const SIGNAL_CHECK_MS = 50;

/**
 * `attempt()` (never waiting: a result, or -errno), made again each time `fd` is readable while
 * it fails with EAGAIN and the call `blocks`; the answer for the failures.
 */
export async function untilReady<T extends object>(
  native: SyscallNative,
  thread: number,
  fd: number,
  { blocks, timeoutMs }: { blocks: boolean; timeoutMs: number },
  attempt: () => T | number,
): Promise<T | Answer> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  for (;;) {
    const result = attempt();
    if (typeof result !== 'number') return result;
    if (result !== -EAGAIN || !blocks) return fromResult(result);
    const left = deadline - Date.now();
    if (left <= 0) return fromResult(-EAGAIN);
    const ready = await new Promise<boolean>((done) => {
      const failed = native.whenReadable(fd, Math.min(left, SIGNAL_CHECK_MS), done);
      if (failed) done(false);
    });
    if (!ready && signalPending(thread)) return CONTINUE;
  }
}

/** Whether the thread has a signal pending that it neither blocks nor leaves to its default action (or is gone). */
export function signalPending(thread: number): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${thread}/status`, 'utf8');
  } catch {
    return true;
  }
  const mask = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1] ?? '0'}`);
  return ((mask('SigPnd') | mask('ShdPnd')) & ~mask('SigBlk') & mask('SigCgt')) !== 0n;
}
