/**
 * Runs the user's command with the terminal and the merged environment, and reports how it
 * ended as a shell would: its exit code, or 128 + the signal number.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Duplex } from 'node:stream';
import { CliError } from './errors';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
/** How long a command asked to stop gets for SIGTERM before SIGKILL. */
export const STOP_GRACE_MS = 5000;

/** How the command is started when something must happen between its start and its program's (the syscall mode). */
export interface Launch {
  /** What is spawned for the command (a launcher, then the command). */
  command: string[];
  /** Called once it is spawned, with a channel on its fd 3; rejects when the program can't run under it. */
  started(child: ChildProcess, channel: Duplex): Promise<void>;
  /** Called once the command has exited: what must happen before its end is reported. */
  ended?(): Promise<void>;
}

/**
 * `stop`, when aborted, ends the command: SIGTERM, then SIGKILL if it is still running after
 * STOP_GRACE_MS (a command that ignores SIGTERM must not keep mirrord alive).
 */
export function runCommand(command: string[], env: NodeJS.ProcessEnv, stop?: AbortSignal, launch?: Launch): Promise<number> {
  return new Promise((resolve, reject) => {
    // The handlers go in before the command starts: the command can be running (and someone
    // can signal us) before this process is scheduled again, and an unhandled SIGTERM would
    // kill mirrord and orphan the command.
    let child: ChildProcess | undefined;
    const handlers = new Map<NodeJS.Signals, () => void>();
    for (const signal of FORWARDED) {
      const handler = () => {
        // Ctrl-C at a terminal already reached the command, which is in our foreground
        // process group; sending it again would make it look like a second Ctrl-C.
        if (signal === 'SIGINT' && process.stdin.isTTY) return;
        child?.kill(signal);
      };
      handlers.set(signal, handler);
      process.on(signal, handler);
    }
    const spawned = launch?.command ?? command;
    child = spawn(spawned[0]!, spawned.slice(1), { stdio: launch ? ['inherit', 'inherit', 'inherit', 'pipe'] : 'inherit', env });
    // The command's end is reported once its launch has settled: a launch that failed says why.
    const launched = launch?.started(child, child.stdio[3] as Duplex).catch((error: Error) => {
      child?.kill('SIGKILL');
      throw error;
    });
    launched?.catch(() => undefined);
    let killer: NodeJS.Timeout | undefined;
    const onStop = () => {
      child?.kill('SIGTERM');
      killer = setTimeout(() => child?.kill('SIGKILL'), STOP_GRACE_MS);
    };
    if (stop?.aborted) onStop();
    else stop?.addEventListener('abort', onStop, { once: true });
    const done = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      stop?.removeEventListener('abort', onStop);
      clearTimeout(killer);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      done();
      const missing = error.code === 'ENOENT';
      reject(
        new CliError(
          `cannot run "${command[0]}": ${missing ? 'command not found' : error.message}`,
          missing ? 'check the command name and PATH' : 'check that the file is executable',
          missing ? 127 : 126,
        ),
      );
    });
    child.once('exit', (code, signal) => {
      done();
      const status = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      if (!launched) return resolve(status);
      launched.then(() => launch?.ended?.()).then(() => resolve(status), reject);
    });
  });
}
