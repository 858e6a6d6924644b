/**
 * What the syscall mode costs, each figure against its baseline in the same run: a connect it
 * intercepts (to the pod-only echo service, through the pod) against the same connect made in
 * the pod's namespace and under the layer; a read it does not intercept (one byte of /dev/zero)
 * against the same read without mirrord, which must not be slower; a sendmsg/recvmsg pair on a
 * UNIX socket, calls the mode traps but lets through without JavaScript (they could name an
 * address or an intercepted socket; these don't); and a stolen HTTP round trip
 * to a static Go server under the syscall mode against one to a Node.js server under the layer
 * (the layer can't steal for a Go server, cgo or not: Go listens with its own system calls) and
 * against the app answering directly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mirrord, type Mirrord } from '../e2e/mirrord';
import { SERVICE_IP } from '../harness/netns';
import { APP_PORT, type TestPod } from '../harness/pod';
import { buildC, buildGo } from '../harness/programs';
import { run } from '../harness/run';
import { measureLoad } from './load';
import { median, type LoadResult } from './stats';

const RUNS = 5;
const CONNECTS = 200;
const READS = 1_000_000;
const DATAGRAMS = 100_000;
const ECHO_PORT = 7000;
const LOAD = { concurrency: 1, durationMs: 1500, warmupMs: 300 };

export interface SyscallFigures {
  /** µs per TCP connect + close to the pod-only service */
  connect: { pod: number; layer: number; syscall: number };
  /** ns per one-byte read of /dev/zero, a call the mode leaves alone */
  read: { direct: number; syscall: number };
  /** ns per sendmsg + recvmsg of one byte on a UNIX datagram socket pair: trapped, let through by the addon */
  datagram: { direct: number; syscall: number };
  /** a stolen GET at concurrency 1 (unfiltered steal): the app directly, Node.js under the layer, Go under the syscall mode */
  stolen: { direct: LoadResult; layer: LoadResult; syscall: LoadResult };
}

export async function syscallSection(pod: TestPod, progress: (text: string) => void): Promise<SyscallFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'mirrord-bench-syscall-'));
  try {
    progress('building the call timer and the demo app (static Go)');
    const [timer, demo] = await Promise.all([buildC(dir, 'call-timer', 'call-timer.c', ['-O2']), buildGo(dir, 'demo', false, 'kind/images/demo')]);
    const attach = (interception: string, command: string[], flags = ['-q']) =>
      mirrord(['attach', '--agent-cmd', pod.agentCommand, '--interception', interception, ...flags, '--', ...command]);
    const figure = async (running: Promise<{ stdout: string }>) => Number((await running).stdout);
    const connectArgs = ['connect', SERVICE_IP, String(ECHO_PORT), String(CONNECTS)];

    progress(`connect (${CONNECTS} per run, ${RUNS} runs each way), read (${READS} per run) and sendmsg/recvmsg (${DATAGRAMS} per run)`);
    const connect = { pod: [] as number[], layer: [] as number[], syscall: [] as number[] };
    const read = { direct: [] as number[], syscall: [] as number[] };
    const datagram = { direct: [] as number[], syscall: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      connect.pod.push(await figure(pod.net.exec(pod.net.pod, timer, connectArgs)));
      connect.layer.push(await figure(attach('preload', [timer, ...connectArgs]).done));
      connect.syscall.push(await figure(attach('syscall', [timer, ...connectArgs]).done));
      read.direct.push(await figure(run(timer, ['read', String(READS)])));
      read.syscall.push(await figure(attach('syscall', [timer, 'read', String(READS)]).done));
      datagram.direct.push(await figure(run(timer, ['datagram', String(DATAGRAMS)])));
      datagram.syscall.push(await figure(attach('syscall', [timer, 'datagram', String(DATAGRAMS)]).done));
    }

    progress('stolen GET: the app, Node.js under the layer, Go under the syscall mode');
    const direct = await measureLoad(pod, LOAD);
    const node = `require('http').createServer((q, s) => s.end('node')).listen(${APP_PORT}, () => console.log('listening'))`;
    const layer = await underSteal(attach('preload', [process.execPath, '-e', node], ['--steal']), pod);
    const syscall = await underSteal(attach('syscall', ['env', `PORT=${APP_PORT}`, 'GRPC_PORT=0', demo, 'serve'], ['--steal']), pod);
    const medians = <T extends Record<string, number[]>>(lists: T) =>
      Object.fromEntries(Object.entries(lists).map(([key, values]) => [key, median(values)])) as { [K in keyof T]: number };
    return { connect: medians(connect), read: medians(read), datagram: medians(datagram), stolen: { direct, layer, syscall } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The load against the pod's port while `session` steals it; the session is stopped after. */
async function underSteal(session: Mirrord, pod: TestPod): Promise<LoadResult> {
  try {
    await session.waitFor(new RegExp(`subscribed port ${APP_PORT}`), 'stderr', 30_000);
    const result = await measureLoad(pod, LOAD);
    if (result.servedBy.app || result.errors) throw new Error(`the stolen load reached the app or failed: ${JSON.stringify(result.servedBy)}`);
    return result;
  } finally {
    await session.stop();
  }
}
