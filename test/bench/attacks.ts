/**
 * What hostile or broken clients cost the pod's other traffic and the sidecar's memory. An
 * ordinary peer sends GETs from the workload namespace to the app port while a legitimate
 * session steals that port with an HTTP filter the peer's requests don't match (so they pass
 * through the sidecar to the app), and a hostile session or client attacks; the same load with
 * no attack, measured in the same run, is the baseline. See docs/benchmarks.md.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signalGroup, type CommandTransport } from '../../cli/transport/command';
import { packagePath } from '../../common/package-root';
import type { Client } from '../../protocol/client';
import { FILE_CHUNK, type HttpFilter } from '../../protocol/messages';
import { run } from '../harness/run';
import { AGENT_PORT, APP_PORT, forwardIncoming, type TestPod } from '../harness/pod';
import { measureLoad, type LocalServer } from './load';
import { rssKiB, UsageSampler } from './proc';
import { count, fixed, loadCells, mergeLoads, mib, percent, signedMs, table, type LoadResult } from './stats';

const CONCURRENCY = 4;
const WARMUP_MS = 300;
/** Roughly how long the load generator takes to start in the workload namespace. */
const STARTUP_MS = 200;
/** The peer's measured load per step; the attack starts as it begins. */
const WINDOW_MS = 2000;
/** How long after the attacker has left the sidecar's memory is looked at again. */
const AFTER_MS = 2000;

/** The legitimate session's filter: the peer's requests (no x-user header) don't match it; attack 4 aims at it. */
const FILTER: HttpFilter = { header: '^x-user: (\\w+\\s?)+$' };
const HOSTILE_HEADER = { 'x-user': `${'a'.repeat(40)}!` };
const BIG_FILE = '/etc/config/attack-64MiB.bin';
const BIG_FILE_BYTES = 64 << 20;
const PIPELINED_READS = 300;
const UNREAD_MS = 1500;
const SILENT_SOCKETS = 500;
const FIFO = '/etc/config/attack-fifo';
const FIFO_EVERY_MS = 50;
const STALL_MS = 3000;
/** The peer's window around the stall: the stall, the inspector's start before it and the recovery after it. */
const STALL_WINDOW_MS = STALL_MS + 2000;

interface Session {
  client: Client;
  transport: CommandTransport;
}

interface AttackContext {
  pod: TestPod;
  /** The legitimate session stealing the app port. */
  thief: Session;
  windowMs: number;
  /** The sidecar's log since the step began. */
  log(): string;
}

/** Started as the peer's load is measured, an attack resolves to what ends it and says what the attacker got. */
type Attack = (context: AttackContext) => Promise<() => Promise<string>>;

interface Step {
  label: string;
  /** How the legitimate session steals the app port: with FILTER (the peer's requests pass to the app), or all of it. */
  steal: 'filtered' | 'unfiltered';
  attack?: Attack;
  windowMs?: number;
}

export interface AttackRow {
  label: string;
  steal: Step['steal'];
  attacked: boolean;
  /** The peer's requests: every run of the step merged. */
  result: LoadResult;
  runs: LoadResult[];
  /** The sidecar's CPU time and the wall time of the step (the load, the attack's end and the cleanup). */
  cpuSeconds: number;
  wallSeconds: number;
  rssBeforeKiB: number;
  rssPeakKiB: number;
  /** AFTER_MS after the attacker left. */
  rssAfterKiB?: number;
  note?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const codeOf = (error: unknown) => (error as { code?: string }).code ?? (error as Error).message;

/** Says when and why the sidecar ended `client`'s session, if it has. */
function endedBy(client: Client): () => string {
  const began = Date.now();
  let said = '';
  void client.ended().then(({ reason }) => (said = `; the session ended after ${Date.now() - began} ms: ${reason}`));
  return () => said;
}

/** 1. Many 1 MiB reads sent at once, their answers left unread for a while. */
const pipelinedReads: Attack = async ({ pod }) => {
  const { client, transport } = await pod.connectVia({ client: 'bench hostile reader' });
  const { fd } = (await client.call('fs.open', { path: BIG_FILE, flags: 0 })).result;
  const ended = endedBy(client);
  transport.socket.pause();
  let answered = 0;
  const reads = Array.from({ length: PIPELINED_READS }, (_, i) =>
    client.call('fs.read', { fd, length: FILE_CHUNK, position: (i * FILE_CHUNK) % BIG_FILE_BYTES }).then(
      () => answered++,
      () => undefined,
    ),
  );
  const resume = setTimeout(() => transport.socket.resume(), UNREAD_MS);
  return async () => {
    clearTimeout(resume);
    const note = `${PIPELINED_READS} reads of 1 MiB sent at once, nothing read for ${UNREAD_MS} ms, then as fast as it could: ${answered} answers read${ended()}`;
    signalGroup(transport.child, 'SIGKILL');
    await Promise.all(reads);
    return note;
  };
};

/** 2. Files opened one after another until the session's limit refuses one. */
const openFiles: Attack = async ({ pod }) => {
  const client = await pod.connect({ client: 'bench hostile opener' });
  let opened = 0;
  let refusal = '';
  while (!refusal && opened < 100_000) {
    await client.call('fs.open', { path: '/etc/config/app.yaml', flags: 0 }).then(
      () => opened++,
      (error: unknown) => (refusal = codeOf(error)),
    );
  }
  return async () => `${opened} files opened and held, then ${refusal || 'no refusal'}`;
};

/** 3. Connections that complete the WebSocket handshake and never say hello. */
const silentSockets: Attack = async ({ pod, windowMs }) => {
  const script = [packagePath('test/bench/silent-sockets.js'), `ws://127.0.0.1:${AGENT_PORT}/`, String(SILENT_SOCKETS), String(windowMs)];
  const holding = pod.net.exec(pod.net.pod, process.execPath, script, { timeoutMs: windowMs + 15_000 });
  return async () => {
    const held = JSON.parse((await holding).stdout) as { opened: number; closedBySidecar: Record<string, number>; failed: number; firstError?: string };
    const closed = Object.entries(held.closedBySidecar).map(([code, n]) => `${n} with ${code}`);
    return (
      `${SILENT_SOCKETS} connections without hello, held for the window: ${held.opened} opened; closed by the sidecar meanwhile: ${closed.join(', ') || 'none'}` +
      (held.failed ? `; ${held.failed} failed (${held.firstError})` : '')
    );
  };
};

/** 4. A header that would make a backtracking engine run for ever against FILTER, sent over and over. */
const hostileHeader: Attack = async ({ pod, windowMs }) => {
  const hostile = measureLoad(pod, { concurrency: 2, durationMs: windowMs - STARTUP_MS, warmupMs: 0, headers: HOSTILE_HEADER, path: '/hostile' });
  return async () => {
    const result = await hostile;
    return `a second client sent ${count(result.requests)} requests with x-user: 40 × a + '!' (answered by ${answeredBy(result)})`;
  };
};

/** 5. fs.open of a FIFO (no writer), over and over. */
const fifoOpens: Attack = async ({ pod }) => {
  const client = await pod.connect({ client: 'bench hostile fifo' });
  const outcomes: Record<string, number> = {};
  let going = true;
  const opening = (async () => {
    while (going) {
      const outcome = await client.call('fs.open', { path: FIFO, flags: 0 }).then(() => 'opened', codeOf);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      await sleep(FIFO_EVERY_MS);
    }
  })();
  return async () => {
    going = false;
    await opening;
    return `fs.open of a FIFO every ${FIFO_EVERY_MS} ms: ${Object.entries(outcomes)
      .map(([outcome, n]) => `${n} ${outcome}`)
      .join(', ')}`;
  };
};

/** 6. The stealing session's laptop freezes: its transport stops (SIGSTOP) and nothing it holds answers. */
const frozenLaptop: Attack = async ({ thief, log }) => {
  signalGroup(thief.transport.child, 'SIGSTOP');
  return async () => {
    signalGroup(thief.transport.child, 'SIGKILL');
    const silent = /the client stopped answering \(silent for ([^)]+)\).*"reset":(\d+)/.exec(log());
    return silent
      ? `the sidecar found it silent after ${silent[1]}, reset ${silent[2]} stolen connection(s) and sent new ones to the app`
      : 'the sidecar did not report the session silent';
  };
};

/** 7. The sidecar's event loop blocked (the watchdog removes the jump to its chain after MIRRORD_WATCHDOG_MS). */
const stalledLoop: Attack = async ({ pod, log }) => {
  await pod.stallSidecar(STALL_MS);
  return async () => {
    const removed = /the event loop has not run for (\d+) ms: removed (\d+) jump/.exec(log());
    const restored = /jump restored after a stall/.test(log());
    return `event loop blocked for ${STALL_MS} ms; ${removed ? `the watchdog removed ${removed[2]} jump(s) after ${removed[1]} ms` : 'the watchdog removed no jump'}${restored ? ', restored after the stall' : ''}`;
  };
};

const NO_ATTACK = 'no attack';
const NO_ATTACK_UNFILTERED = 'no attack, unfiltered steal';

/** Baselines first and last (merged), the unfiltered one just before the attack that needs it. */
const STEPS: Step[] = [
  { label: NO_ATTACK, steal: 'filtered' },
  { label: '1. pipelined fs.read, answers unread', steal: 'filtered', attack: pipelinedReads },
  { label: '2. open files until EMFILE', steal: 'filtered', attack: openFiles },
  { label: `3. ${SILENT_SOCKETS} connections, no hello`, steal: 'filtered', attack: silentSockets },
  { label: '4. hostile header vs the filter', steal: 'filtered', attack: hostileHeader },
  { label: '5. fs.open of a FIFO', steal: 'filtered', attack: fifoOpens },
  { label: NO_ATTACK_UNFILTERED, steal: 'unfiltered' },
  { label: '6. laptop freezes, unfiltered steal', steal: 'unfiltered', attack: frozenLaptop },
  { label: `7. sidecar loop stalled ${STALL_MS / 1000} s`, steal: 'filtered', attack: stalledLoop, windowMs: STALL_WINDOW_MS },
  { label: NO_ATTACK, steal: 'filtered' },
];

async function runStep(pod: TestPod, local: LocalServer, sidecarPid: number, step: Step): Promise<AttackRow> {
  const logFrom = pod.sidecarLog.length;
  const thief = await pod.connectVia({ client: 'bench legitimate' });
  forwardIncoming(thief.client, local.port);
  await thief.client.subscribe({ port: APP_PORT, mode: 'steal', filter: step.steal === 'filtered' ? FILTER : undefined });
  const windowMs = step.windowMs ?? WINDOW_MS;
  const rssBeforeKiB = rssKiB(sidecarPid);
  const usage = new UsageSampler(sidecarPid);
  const load = measureLoad(pod, { concurrency: CONCURRENCY, durationMs: windowMs, warmupMs: WARMUP_MS, path: '/peer' });
  await sleep(STARTUP_MS + WARMUP_MS);
  const stop = await step.attack?.({ pod, thief, windowMs, log: () => pod.sidecarLog.slice(logFrom) });
  const result = await load;
  const note = await stop?.();
  await pod.closeClients();
  const { peakRssKiB: rssPeakKiB, cpuSeconds, wallSeconds } = usage.stop();
  let rssAfterKiB: number | undefined;
  if (step.attack) {
    await sleep(AFTER_MS);
    rssAfterKiB = rssKiB(sidecarPid);
  }
  return {
    label: step.label,
    steal: step.steal,
    attacked: !!step.attack,
    result,
    runs: [result],
    cpuSeconds,
    wallSeconds,
    rssBeforeKiB,
    rssPeakKiB,
    rssAfterKiB,
    note,
  };
}

/**
 * Every step in turn, each cleaned up (sessions closed, the pod's rules gone) before the next.
 * A baseline's runs are merged, but its memory is the first run's: before any attack.
 */
export async function attackSection(pod: TestPod, local: LocalServer, sidecarPid: number, progress: (text: string) => void): Promise<AttackRow[]> {
  writeFileSync(join(pod.appRoot, BIG_FILE), Buffer.alloc(BIG_FILE_BYTES, 7));
  await run('mkfifo', [join(pod.appRoot, FIFO)]);
  const rows: AttackRow[] = [];
  try {
    for (const step of STEPS) {
      progress(`attack: ${step.label}`);
      const row = await runStep(pod, local, sidecarPid, step);
      const earlier = rows.find((r) => r.label === row.label);
      if (!earlier) rows.push(row);
      else {
        earlier.runs.push(row.result);
        earlier.result = mergeLoads(earlier.runs);
        earlier.cpuSeconds += row.cpuSeconds;
        earlier.wallSeconds += row.wallSeconds;
      }
    }
  } finally {
    rmSync(join(pod.appRoot, BIG_FILE), { force: true });
    rmSync(join(pod.appRoot, FIFO), { force: true });
  }
  return rows;
}

/** The no-attack row an attack's row compares with: the same kind of steal. */
function baselineOf(rows: AttackRow[], row: AttackRow): AttackRow {
  return rows.find((r) => !r.attacked && r.steal === row.steal)!;
}

/** The attack under which the peer's `figure` latency was highest, its number, and its baseline's. */
export function worstAttack(rows: AttackRow[], figure: 'p99' | 'max'): { attack: string; ms: number; baselineMs: number } {
  const worst = rows.filter((row) => row.attacked).reduce((a, b) => (b.result.latencyMs[figure] > a.result.latencyMs[figure] ? b : a));
  return { attack: worst.label.split('.')[0]!, ms: worst.result.latencyMs[figure], baselineMs: baselineOf(rows, worst).result.latencyMs[figure] };
}

function answeredBy(result: LoadResult): string {
  return Object.entries(result.servedBy)
    .filter(([by]) => by !== 'error')
    .map(([by, n]) => (Object.keys(result.servedBy).length > 1 ? `${by} ${count(n)}` : by))
    .join(', ');
}

export function attackReport(rows: AttackRow[]): string {
  const body = rows.map((row) => {
    const { result } = row;
    const base = baselineOf(rows, row).result;
    return [
      row.label,
      ...loadCells(result),
      fixed(result.latencyMs.max, 1),
      count(result.errors),
      row.attacked ? signedMs(result.latencyMs.p99 - base.latencyMs.p99) : '—',
      answeredBy(result),
      percent(row.cpuSeconds / row.wallSeconds),
      mib(row.rssBeforeKiB),
      mib(row.rssPeakKiB),
      row.rssAfterKiB === undefined ? '—' : mib(row.rssAfterKiB),
    ];
  });
  const notes = rows
    .filter((row) => row.note || row.result.errors || row.runs.length > 1)
    .map((row) => {
      const said = [
        row.note,
        row.runs.length > 1 ? `p99 of its runs ${row.runs.map((r) => fixed(r.latencyMs.p99, 1)).join(' / ')} ms (how much the run itself moves)` : undefined,
        row.result.errors ? `the peer's first error: ${row.result.firstError}` : undefined,
      ];
      return `${row.attacked ? row.label.split(' ')[0] : `${row.label}:`} ${said.filter(Boolean).join('; ')}`;
    });
  return [
    table(
      [
        'step',
        'requests',
        'req/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'errors',
        'p99 vs no attack',
        'answered by',
        'sidecar CPU',
        'RSS before',
        'RSS peak',
        `RSS ${AFTER_MS / 1000} s after`,
      ],
      body,
    ),
    '',
    ...notes,
  ].join('\n');
}

/** What the section measures, for the report's heading. */
export const ATTACK_SETUP =
  `the peer: GET at concurrency ${CONCURRENCY} over keep-alive connections from the workload namespace, ${WINDOW_MS / 1000} s per step (${STALL_WINDOW_MS / 1000} s for attack 7), after a ${WARMUP_MS} ms warm-up;\n` +
  `a legitimate session steals the app port with the filter ${FILTER.header}, which the peer's requests don't match (they pass through the sidecar to the app);\n` +
  `in attack 6 it steals the port unfiltered instead (the peer's requests go to the laptop), compared with the same steal without an attack;\n` +
  `the attack starts as the measurement does; then every session is closed and the pod's rules are gone before the next step`;
