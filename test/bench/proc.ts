/** What a process costs, from /proc: resident memory and CPU time, sampled while a step runs. */
import { readFileSync } from 'node:fs';

/** VmRSS of `pid` in KiB. */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

/** The process's command line, arguments joined by spaces. */
export function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
}

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux architecture node supports.
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds `pid` has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis don't.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export interface Usage {
  /** Highest VmRSS seen while sampling, KiB. */
  peakRssKiB: number;
  /** CPU used over the wall time sampled, as a share of one core (1 = one core busy). */
  cpuCores: number;
  /** CPU seconds used while sampling. */
  cpuSeconds: number;
  /** Wall time sampled, seconds. */
  wallSeconds: number;
}

/** Samples a process's RSS every `periodMs` and its CPU time at start and stop. */
export class UsageSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt = process.hrtime.bigint();
  private readonly startCpu: number;

  constructor(
    private readonly pid: number,
    periodMs = 50,
  ) {
    this.startCpu = cpuSeconds(pid);
    this.sample();
    this.timer = setInterval(() => this.sample(), periodMs);
  }

  stop(): Usage {
    clearInterval(this.timer);
    this.sample();
    const wall = Number(process.hrtime.bigint() - this.startedAt) / 1e9;
    const used = cpuSeconds(this.pid) - this.startCpu;
    return { peakRssKiB: this.peak, cpuCores: used / wall, cpuSeconds: used, wallSeconds: wall };
  }

  private sample(): void {
    try {
      this.peak = Math.max(this.peak, rssKiB(this.pid));
    } catch {
      /* the process is gone; stop() reports what was seen */
    }
  }
}

/** CPU seconds this process uses from now until the returned function is called, and the wall time. */
export function selfCpu(): () => { cpuSeconds: number; wallSeconds: number } {
  const startCpu = process.cpuUsage();
  const startedAt = process.hrtime.bigint();
  return () => {
    const used = process.cpuUsage(startCpu);
    return { cpuSeconds: (used.user + used.system) / 1e6, wallSeconds: Number(process.hrtime.bigint() - startedAt) / 1e9 };
  };
}

/** The pids of `pid`'s children (of its main thread: a node process forks from it), from /proc. */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
}

/**
 * The CPU seconds of a process and its descendants, each on its own, for processes that end
 * when the work does (a command and what it starts): sampled every `periodMs` until stop(), the
 * last figure of each process kept, so only its final few milliseconds go uncounted.
 */
export class TreeCpuSampler {
  private readonly seen = new Map<number, { command: string; cpuSeconds: number }>();
  private readonly before = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly root: number,
    periodMs = 20,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), periodMs);
  }

  /** From now on, stop() counts CPU from this moment (what each process used before is left out). */
  mark(): void {
    this.sample();
    for (const [pid, usage] of this.seen) this.before.set(pid, usage.cpuSeconds);
  }

  /** CPU seconds per process (since mark(), if called), with its command line. */
  stop(): { pid: number; command: string; cpuSeconds: number }[] {
    clearInterval(this.timer);
    this.sample();
    return [...this.seen].map(([pid, usage]) => ({ pid, command: usage.command, cpuSeconds: usage.cpuSeconds - (this.before.get(pid) ?? 0) }));
  }

  private sample(): void {
    const pending = [this.root];
    while (pending.length) {
      const pid = pending.pop()!;
      try {
        // The command is read again each time (a shell may exec what it runs), but an ending process has none.
        const command = commandLine(pid) || this.seen.get(pid)?.command || '';
        this.seen.set(pid, { command, cpuSeconds: cpuSeconds(pid) });
        pending.push(...childrenOf(pid));
      } catch {
        /* ended: its last sample stands */
      }
    }
  }
}
