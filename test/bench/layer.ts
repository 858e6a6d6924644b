/**
 * What the layer costs a local program: how long `mirrord attach` takes before the program
 * starts, opening and reading a remote file, and resolving a name in the pod — each against the
 * same thing done locally in the same run.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagePath } from '../../sidecar/package-root';
import { SERVICE_NAME } from '../harness/netns';
import type { TestPod } from '../harness/pod';
import { run } from '../harness/run';
import { median } from './stats';

const RUNS = 7;

export interface LayerFigures {
  /** ms from starting the command until the user's program runs: with `mirrord attach`, and directly */
  start: { attach: number; direct: number };
  files: { size: string; remote: number; local: number }[];
  /** ms per getaddrinfo */
  resolve: { pod: number; local: number };
}

async function output(command: string, args: string[]): Promise<number> {
  return Number((await run(command, args)).stdout);
}

/** Prints, from inside the program, how long after `begin` (ns since the epoch) it started. */
const STARTED = 'import sys, time; print((time.time_ns() - int(sys.argv[1])) / 1e6)';
/** Per-operation ms of opening and reading a file whole, `n` times. */
const READ = 'import sys, time\np, n = sys.argv[1], int(sys.argv[2])\nt = time.perf_counter()\nfor _ in range(n):\n    open(p, "rb").read()\nprint((time.perf_counter() - t) * 1000 / n)';
/** Per-call ms of getaddrinfo, `n` times. */
const RESOLVE = 'import socket, sys, time\nh, n = sys.argv[1], int(sys.argv[2])\nt = time.perf_counter()\nfor _ in range(n):\n    socket.getaddrinfo(h, 80, socket.AF_INET, socket.SOCK_STREAM)\nprint((time.perf_counter() - t) * 1000 / n)';

export async function layerSection(pod: TestPod): Promise<LayerFigures> {
  const cli = packagePath('dist/cli/main.js');
  const attach = (program: string[]) => output(process.execPath, [cli, 'attach', '--agent-cmd', pod.agentCommand, '-q', '--', ...program]);
  const python = (script: string, ...args: string[]) => ['python3', '-c', script, ...args];
  const now = () => String(Math.round((performance.timeOrigin + performance.now()) * 1e6));

  const start = { attach: [] as number[], direct: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    start.direct.push(await output('python3', ['-c', STARTED, now()]));
    start.attach.push(await attach(python(STARTED, now())));
  }

  const local = mkdtempSync(join(tmpdir(), 'mirrord-bench-'));
  const files: LayerFigures['files'] = [];
  try {
    for (const [size, bytes, n] of [['4 KiB', 4096, 200], ['4 MiB', 4 << 20, 20]] as const) {
      const name = `bench-${bytes}.bin`;
      const content = Buffer.alloc(bytes, 7);
      writeFileSync(join(pod.appRoot, 'etc/config', name), content);
      writeFileSync(join(local, name), content);
      const remote = await attach(python(READ, `/etc/config/${name}`, String(n)));
      const direct = await output('python3', ['-c', READ, join(local, name), String(n)]);
      files.push({ size, remote, local: direct });
      rmSync(join(pod.appRoot, 'etc/config', name));
    }
  } finally {
    rmSync(local, { recursive: true, force: true });
  }

  const resolve = {
    pod: await attach(python(RESOLVE, SERVICE_NAME, '200')),
    local: await output('python3', ['-c', RESOLVE, 'localhost', '200']),
  };
  return { start: { attach: median(start.attach), direct: median(start.direct) }, files, resolve };
}
