/**
 * A blocking call the supervisor makes in the program's place (an accept or a receive on an
 * intercepted socket, whose address it must translate) can't block this process: it waits on
 * the event loop for the socket to be readable instead, as long as the call would have (the
 * socket's SO_RCVTIMEO, else for ever). While it waits, the program's thread sits in the trapped
 * call, where a signal would be held back (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV): so the wait
 * gives up when one is pending, and the call runs as made, which the signal interrupts as it
 * would have.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Notification, SyscallNative } from '../../layer/syscall/native';
import { CONTINUE, fromResult, type Answer } from './answer';

const { EAGAIN } = constants.errno;
/** How often a wait looks for a signal: the most it can delay one. */
const SIGNAL_CHECK_MS = 50;
/** Readiness that doesn't lead to success this many times in a row (an error queue, a racing thread): then waits by the clock. */
const FRUITLESS_WAKEUPS = 3;

/**
 * `attempt()` (never waiting: a result, or -errno), made again each time `fd` is readable while
 * it fails with EAGAIN and the call `blocks`; the answer for the failures. Only while `call`
 * still waits for its answer: a call interrupted meanwhile (a signal before Linux 5.19, a
 * killed thread) is made again by its thread, and this wait must not take what that one is for.
 */
export async function untilReady<T extends object>(
  native: SyscallNative,
  call: Notification,
  fd: number,
  { blocks, timeoutMs }: { blocks: boolean; timeoutMs: number },
  attempt: () => T | number,
): Promise<T | Answer> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let fruitless = 0;
  for (;;) {
    if (!native.idValid(call.notifyFd, call.id)) return CONTINUE; // its answer goes nowhere
    const result = attempt();
    if (typeof result !== 'number') return result;
    if (result !== -EAGAIN || !blocks) return fromResult(result);
    const left = deadline - Date.now();
    if (left <= 0) return fromResult(-EAGAIN);
    // A signal for the thread: the call runs as made, which the signal interrupts as it would
    // have (EINTR, or a restart that comes back here); what came meanwhile is taken first.
    if (signalPending(call.pid)) return CONTINUE;
    const slice = Math.min(left, SIGNAL_CHECK_MS);
    const ready = fruitless >= FRUITLESS_WAKEUPS ? await sleep(slice) : await readable(native, fd, slice);
    if (typeof ready === 'number') return fromResult(ready);
    fruitless = ready ? fruitless + 1 : 0;
  }
}

/** true once `fd` is readable, false after `ms`; -errno when it can't be watched. */
function readable(native: SyscallNative, fd: number, ms: number): Promise<boolean | number> {
  return new Promise((done) => {
    const failed = native.whenReadable(fd, ms, done);
    if (failed) done(failed);
  });
}

function sleep(ms: number): Promise<false> {
  return new Promise((done) => setTimeout(() => done(false), ms));
}

/**
 * Whether the thread has a signal pending that it doesn't block (or is gone): a handled one,
 * which its handler must get, a fatal one, or a stop (SIGSTOP, a debugger attaching), which must
 * stop it. An ignored signal is discarded when sent, never pending.
 */
export function signalPending(thread: number): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${thread}/status`, 'utf8');
  } catch {
    return true;
  }
  const mask = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1] ?? '0'}`);
  return ((mask('SigPnd') | mask('ShdPnd')) & ~mask('SigBlk')) !== 0n;
}
