/**
 * The command in the syscall mode: started under the launcher (layer/syscall/launcher.c), whose
 * seccomp notification descriptor the supervisor takes before the program runs, so not one of
 * its calls escapes. A kernel too old for the mode is said before anything starts.
 */
import type { ChildProcess } from 'node:child_process';
import { release } from 'node:os';
import type { Duplex } from 'node:stream';
import { launcherPath } from '../layer/syscall/native';
import type { SyscallSupervisor } from '../intproxy/syscalls/supervisor';
import { CliError } from './errors';
import type { Launch } from './run-command';

/**
 * What the mode needs of Linux: seccomp user notification (5.0), pidfd_getfd (5.6), and
 * descriptors put into the program as the call's answer (SECCOMP_ADDFD_FLAG_SEND, 5.14).
 */
export const SYSCALL_MODE_KERNEL = [5, 14] as const;

/** Why this machine can't run the syscall mode, or undefined when it can. */
export function syscallModeProblem(kernel = release(), platform: string = process.platform): string | undefined {
  const needed = `Linux ${SYSCALL_MODE_KERNEL.join('.')} or later`;
  if (platform !== 'linux') return `the syscall mode needs ${needed}; this is ${platform}`;
  const [major = 0, minor = 0] = kernel.split(/[.-]/).map(Number);
  const [needMajor, needMinor] = SYSCALL_MODE_KERNEL;
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  return `the syscall mode needs ${needed} (seccomp user notification that puts descriptors into the program); this kernel is ${kernel}`;
}

export function syscallLaunch(command: string[], supervisor: SyscallSupervisor): Launch {
  return {
    command: [launcherPath(), ...command],
    started: (child, channel) => handOver(child, channel, supervisor),
    ended: () => supervisor.settle(),
  };
}

/** Reads the launcher's "fd N" (or "error ERRNO WHAT"), has the supervisor take N, and lets the program start. */
function handOver(child: ChildProcess, channel: Duplex, supervisor: SyscallSupervisor): Promise<void> {
  return new Promise((resolve, reject) => {
    let said = '';
    const fail = (why: string) =>
      reject(new CliError(`cannot intercept "${child.spawnargs[1]}" at the system call: ${why}`, 'run it with --interception preload', 126));
    channel.on('error', () => undefined);
    channel.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (!said.includes('\n')) return;
      const line = said.slice(0, said.indexOf('\n'));
      channel.removeAllListeners('data');
      const fd = /^fd (\d+)$/.exec(line);
      if (!fd) return fail(line.replace(/^error \d+ /, '')); // "WHAT: strerror", from the launcher
      try {
        supervisor.supervise(child.pid!, Number(fd[1]));
      } catch (error) {
        return fail((error as Error).message);
      }
      channel.end('g');
      resolve();
    });
    channel.once('close', () => fail('the launcher ended before the program started'));
  });
}
