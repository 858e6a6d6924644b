/**
 * The built `mirrord` CLI as the end-to-end suites run it: a real process (from dist/, so
 * `npx tsc -p tsconfig.build.json` or `npm run build` must have run) whose stdout and stderr
 * are collected, with waits that have deadlines rather than sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packagePath } from '../../common/package-root';
import { eventually as retry } from '../harness/eventually';

// Found from the sources (jest) and from dist/ (the benchmark) alike.
export const MAIN = packagePath('dist/cli/launch.js');
export const FIXTURES = join(__dirname, 'fixtures');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Mirrord {
  child: ChildProcess;
  /** Settles when the CLI's output has closed, i.e. the CLI and the command have both ended. */
  done: Promise<Run>;
  output(): Run;
  /** Resolves once stdout or stderr (as chosen) matches; rejects with all output at the deadline or when the CLI ends first. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<void>;
  /** Ends the CLI and the command it runs (their process group); idempotent. */
  stop(): Promise<Run>;
}

/**
 * Starts `mirrord ARGS`. It leads its own process group, which the user's command joins, so a
 * test that SIGKILLs the CLI can still clean up the command it orphaned.
 */
export function mirrord(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Mirrord {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const run: Run = { code: null, signal: null, stdout: '', stderr: '' };
  const changed = new Set<() => void>();
  const notify = () => changed.forEach((listener) => listener());
  child.stdout!.on('data', (chunk: Buffer) => ((run.stdout += chunk.toString()), notify()));
  child.stderr!.on('data', (chunk: Buffer) => ((run.stderr += chunk.toString()), notify()));
  let closed = false;
  child.on('exit', (code, signal) => ((run.code = code), (run.signal = signal)));
  const done = new Promise<Run>((resolve) =>
    child.on('close', () => {
      closed = true;
      resolve({ ...run });
      notify();
    }),
  );
  const describe = () => `mirrord ${args.join(' ')}\n--- stdout\n${run.stdout}--- stderr\n${run.stderr}`;

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group is gone already.
    }
  };

  return {
    child,
    done,
    output: () => run,
    waitFor: (pattern, stream = 'stderr', timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(run[stream])) finish(resolve);
          else if (closed) {
            finish(() => reject(new Error(`the CLI ended (${run.code ?? run.signal}) before ${stream} matched ${pattern}\n${describe()}`)));
          }
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`${stream} did not match ${pattern} within ${timeoutMs} ms\n${describe()}`))), timeoutMs);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          changed.delete(check);
          settle();
        };
        changed.add(check);
        check();
      }),
    stop: async () => {
      signalGroup('SIGTERM');
      const killer = setTimeout(() => signalGroup('SIGKILL'), 10_000);
      const result = await done;
      clearTimeout(killer);
      // A command the CLI left behind (after a SIGKILL of the CLI) still holds the group.
      signalGroup('SIGKILL');
      return result;
    },
  };
}

/** The harness's retry with the cluster's slower pace: 30 s, every 500 ms. */
export function eventually<T>(attempt: () => Promise<T>, timeoutMs = 30_000, intervalMs = 500): Promise<T> {
  return retry(attempt, timeoutMs, intervalMs);
}

/** `promise`, or a rejection with `explain()` if it hasn't settled within `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, explain: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(explain())), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
