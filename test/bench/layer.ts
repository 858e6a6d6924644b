/**
 * What the layer costs a local program: how long `mirrord attach` takes before the program
 * starts, opening and reading a remote file, and resolving a name in the pod — each against the
 * same thing done locally in the same run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN } from '../e2e/mirrord';
import { SERVICE_NAME } from '../harness/netns';
import type { TestPod } from '../harness/pod';
import { run } from '../harness/run';
import { median } from './stats';

const RUNS = 7;

export interface LayerFigures {
  /** ms from starting the command until the user's program runs: with `mirrord attach`, and directly */
  start: { attach: number; direct: number };
  /** ms of a whole `mirrord attach -- true` (start, session, close), and of `true` alone */
  whole: { attach: number; direct: number };
  /** ms of a whole `node -e 0`: Node.js starting and exiting, which every start of the CLI pays before its own code runs */
  node: number;
  /** The python3 the figures use: the interpreter itself, not a version manager's shim (whose scripts would be timed too). */
  python: string;
  /** ms per open + read: the pod's file the first time (`remote`), again while unchanged (`again`), and a local copy */
  files: { size: string; remote: number; again: number; local: number }[];
  /** ms per getaddrinfo */
  resolve: { pod: number; local: number };
}

async function output(command: string, args: string[]): Promise<number> {
  return Number((await run(command, args)).stdout);
}

/** Prints, from inside the program, how long after `begin` (ns since the epoch) it started. */
const STARTED = 'import sys, time; print((time.time_ns() - int(sys.argv[1])) / 1e6)';
/** Per-file ms of opening and reading each file named, whole. */
const READ =
  'import sys, time\nt = time.perf_counter()\nfor p in sys.argv[1:]:\n    open(p, "rb").read()\nprint((time.perf_counter() - t) * 1000 / len(sys.argv[1:]))';
/** Per-call ms of getaddrinfo, `n` times. */
const RESOLVE =
  'import socket, sys, time\nh, n = sys.argv[1], int(sys.argv[2])\nt = time.perf_counter()\nfor _ in range(n):\n    socket.getaddrinfo(h, 80, socket.AF_INET, socket.SOCK_STREAM)\nprint((time.perf_counter() - t) * 1000 / n)';

export async function layerSection(pod: TestPod): Promise<LayerFigures> {
  const attach = (program: string[]) => output(process.execPath, [MAIN, 'attach', '--agent-netns', pod.agentNetns, '-q', '--', ...program]);
  const interpreter = (await run('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim();
  const python = (script: string, ...args: string[]) => [interpreter, '-c', script, ...args];
  const now = () => String(Math.round((performance.timeOrigin + performance.now()) * 1e6));
  const timed = async (command: string, args: string[]) => {
    const began = performance.now();
    await run(command, args);
    return performance.now() - began;
  };

  const start = { attach: [] as number[], direct: [] as number[] };
  const whole = { attach: [] as number[], direct: [] as number[] };
  const node: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    node.push(await timed(process.execPath, ['-e', '0']));
    start.direct.push(await output(interpreter, ['-c', STARTED, now()]));
    start.attach.push(await attach(python(STARTED, now())));
    whole.direct.push(await timed('true', []));
    whole.attach.push(await timed(process.execPath, [MAIN, 'attach', '--agent-netns', pod.agentNetns, '-q', '--', 'true']));
  }

  const local = mkdtempSync(join(tmpdir(), 'mirrord-bench-'));
  const files: LayerFigures['files'] = [];
  try {
    for (const [size, bytes, n] of [
      ['4 KiB', 4096, 100],
      ['4 MiB', 4 << 20, 10],
    ] as const) {
      const content = Buffer.alloc(bytes, 7);
      // n files read once each (every open fetches), then one of them n times (unchanged in the pod)
      const names = Array.from({ length: n }, (_, i) => `bench-${bytes}-${i}.bin`);
      for (const name of names) writeFileSync(join(pod.appRoot, 'etc/config', name), content);
      writeFileSync(join(local, names[0]), content);
      await new Promise((resolve) => setTimeout(resolve, 1100)); // a file changed within the last second is always fetched
      const remote = await attach(python(READ, ...names.map((name) => `/etc/config/${name}`)));
      const again = await attach(python(READ, ...names.map(() => `/etc/config/${names[0]}`)));
      const direct = await output(interpreter, ['-c', READ, ...names.map(() => join(local, names[0]))]);
      files.push({ size, remote, again, local: direct });
      for (const name of names) rmSync(join(pod.appRoot, 'etc/config', name));
    }
  } finally {
    rmSync(local, { recursive: true, force: true });
  }

  const resolve = {
    pod: await attach(python(RESOLVE, SERVICE_NAME, '200')),
    local: await output(interpreter, ['-c', RESOLVE, 'localhost', '200']),
  };
  return {
    start: { attach: median(start.attach), direct: median(start.direct) },
    whole: { attach: median(whole.attach), direct: median(whole.direct) },
    node: median(node),
    python: interpreter,
    files,
    resolve,
  };
}
