/**
 * What an idle sidecar costs its pod (it sits in every pod of a labeled namespace): its resident
 * memory against the floor any node process pays, a bare `node` with the same flags holding one
 * listening socket, started in the same run; and the CPU each uses while nothing happens.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpuSeconds, rssKiB } from './proc';

/** V8 shrinks a fresh process's heap during its first seconds: both are measured once settled. */
const SETTLE_MS = 10_000;
const CPU_WINDOW_MS = 5_000;

export interface IdleFigures {
  sidecarKiB: number;
  floorKiB: number;
  /** CPU seconds used over the window. */
  sidecarCpuSeconds: number;
  floorCpuSeconds: number;
  windowSeconds: number;
}

/** Measures the sidecar (no session yet, started before this) beside a bare node process. */
export async function idleFigures(sidecarPid: number): Promise<IdleFigures> {
  const floor = spawn(process.execPath, ['--max-semi-space-size=1', '-e', "require('net').createServer().listen(0, '127.0.0.1', () => console.log('ready'))"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await once(floor.stdout, 'data');
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const pid = floor.pid!;
    const before = { sidecar: cpuSeconds(sidecarPid), floor: cpuSeconds(pid) };
    await new Promise((resolve) => setTimeout(resolve, CPU_WINDOW_MS));
    return {
      sidecarKiB: rssKiB(sidecarPid),
      floorKiB: rssKiB(pid),
      sidecarCpuSeconds: cpuSeconds(sidecarPid) - before.sidecar,
      floorCpuSeconds: cpuSeconds(pid) - before.floor,
      windowSeconds: CPU_WINDOW_MS / 1000,
    };
  } finally {
    floor.kill();
  }
}
