/**
 * The benchmark (`npm run bench`): one pod in network namespaces with the real app, the real
 * sidecar and the pod-only echo service; every figure is measured in the same run as its
 * baseline without mirrord, the two alternated in rounds so that a change in the machine's
 * speed during the run hits both alike, and printed side by side. See docs/benchmarks.md.
 */
import { readlinkSync } from 'node:fs';
import os from 'node:os';
import type { HttpFilter, Mode } from '../../protocol/messages';
import { run } from '../harness/run';
import { SERVICE_IP, SERVICE_NAME } from '../harness/netns';
import { APP_PORT, forwardIncoming, TestPod } from '../harness/pod';
import { attackReport, attackSection, ATTACK_SETUP, worstAttack } from './attacks';
import { idleFigures } from './idle';
import { layerSection } from './layer';
import { syscallSection } from './syscall';
import { attachedEcho, directEcho, relayedEcho, runLoad, sessionEcho, startLocalServer, type BulkResult, type LoadOptions, type LocalServer } from './load';
import { commandLine, rssKiB, selfCpu, UsageSampler } from './proc';
import { count, fixed, loadCells, median, mergeLoads, mib, percent, signedMs, table, verdict, type LoadResult } from './stats';

/** Each HTTP step runs ROUNDS times for STEP_MS (after WARMUP_MS not counted); the rounds are merged. */
const ROUNDS = 3;
const STEP_MS = 1000;
const WARMUP_MS = 300;
const BULK_BYTES = 64 * 1024 * 1024;
const ECHO_PORT = 7000;
const FILTER: HttpFilter = { header: '^x-bench: steal$' };
const MATCHING = { 'x-bench': 'steal' };
const NOT_MATCHING = { 'x-bench': 'other' };

const DIRECT = 'direct (no session)';
const STEAL = 'steal';
/** The same over IPv6, against direct over IPv6. */
const DIRECT6 = 'direct over IPv6 (no session)';
const STEAL6 = 'steal over IPv6';
const FILTERED = 'filtered steal, matching';
const FILTERED_OTHER = 'filtered steal, not matching';
const MIRRORED = 'mirrored';
/** The same, the sidecar restarted with MIRRORD_MIRROR_CAPTURE=false: each connection through it. */
const MIRRORED_THROUGH = 'mirrored through the sidecar';
/** HTTP/2 with prior knowledge: one connection, `concurrency` streams in flight. */
const H2_DIRECT = 'h2 direct (no session)';
const H2_FILTERED = 'h2 filtered steal, matching';
/** Section 1b: requests a filtered steal lets through, from the client's address (the default) and from the pod's. */
const PASS_CLIENT = "not matching, from the client's address";
const PASS_POD = "not matching, from the pod's address";
const NEW = ', a connection per request';
const DIRECT_NEW = `${DIRECT}${NEW}`;
const PASS_THROUGH_LABELS = [PASS_CLIENT, PASS_POD, `${PASS_CLIENT}${NEW}`, `${PASS_POD}${NEW}`, DIRECT_NEW];

const progress = (text: string) => process.stderr.write(`  · ${text}\n`);

/** One run of one HTTP step, and what the sidecar and the bench process spent meanwhile. */
interface Sample {
  result: LoadResult;
  sidecarCpuSeconds: number;
  localCpuSeconds: number;
  wallSeconds: number;
  peakRssKiB: number;
}

/** The merged rounds of one step. */
interface HttpRow {
  label: string;
  result: LoadResult;
  runs: LoadResult[];
  /** Share of one core the sidecar used during the step. */
  sidecarCpu: number;
  /** Sidecar CPU time per request (warm-up requests included), µs. */
  sidecarUsPerRequest: number;
  /** Share of one core the bench process used: the laptop side (session client, local server). */
  localCpu: number;
  peakRssKiB: number;
}

class Bench {
  private readonly samples = new Map<string, { label: string; list: Sample[] }>();

  constructor(
    readonly pod: TestPod,
    readonly local: LocalServer,
    public sidecarPid: number,
  ) {}

  /** One HTTP load step; every answer must come from `expected` ('app' or 'local'). */
  async http(
    label: string,
    expected: 'app' | 'local',
    concurrency: number,
    headers?: Record<string, string>,
    h2 = false,
    newConnections = false,
    ipv6 = false,
  ): Promise<void> {
    progress(`${label}, concurrency ${concurrency}`);
    const options: LoadOptions = { concurrency, durationMs: STEP_MS, warmupMs: WARMUP_MS, headers, h2, newConnections, ipv6 };
    const usage = new UsageSampler(this.sidecarPid);
    const localCpu = selfCpu();
    const result = await runLoad(this.pod, options);
    const self = localCpu();
    const sidecar = usage.stop();
    const others = Object.keys(result.servedBy).filter((by) => by !== expected);
    if (others.length) throw new Error(`${label}: expected every answer from ${expected}, got ${JSON.stringify(result.servedBy)}`);
    const key = `${label}@${concurrency}`;
    if (!this.samples.has(key)) this.samples.set(key, { label, list: [] });
    this.samples.get(key)!.list.push({
      result,
      sidecarCpuSeconds: sidecar.cpuSeconds,
      localCpuSeconds: self.cpuSeconds,
      wallSeconds: sidecar.wallSeconds,
      peakRssKiB: sidecar.peakRssKiB,
    });
  }

  /** Every step's rounds merged, in the order the steps first ran. */
  rows(): HttpRow[] {
    return [...this.samples.values()].map(({ label, list }) => {
      const result = mergeLoads(list.map((sample) => sample.result));
      const wall = sum(list.map((sample) => sample.wallSeconds));
      const sidecarCpu = sum(list.map((sample) => sample.sidecarCpuSeconds));
      return {
        label,
        result,
        runs: list.map((sample) => sample.result),
        sidecarCpu: sidecarCpu / wall,
        sidecarUsPerRequest: (sidecarCpu * 1e6) / (result.requests + result.warmupRequests),
        localCpu: sum(list.map((sample) => sample.localCpuSeconds)) / wall,
        peakRssKiB: Math.max(...list.map((sample) => sample.peakRssKiB)),
      };
    });
  }

  /** A session subscribed as asked, its incoming streams handed to the local server. */
  async session(name: string, mode: Mode, filter?: HttpFilter) {
    const client = await this.pod.connectInNetns({ client: `bench ${name}` });
    const seen = forwardIncoming(client, this.local.port, { unfilteredMirror: mode === 'mirror' && !filter });
    await client.subscribe({ port: APP_PORT, mode, filter });
    return { client, seen };
  }

  /** The sidecar started again with `env` (its pid changes). */
  async restartSidecar(env: NodeJS.ProcessEnv = {}): Promise<void> {
    await this.pod.restartSidecar({ MIRRORD_LOG_LEVEL: 'info', MIRRORD_HEARTBEAT_MS: '2000', ...env });
    this.sidecarPid = (await findSidecarPid(this.pod)).pid;
  }

  /** Ends the step's sessions and waits until the pod has no rules of ours. */
  async endSessions(): Promise<void> {
    await this.pod.closeClients();
  }
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** pod.sidecar is `ip netns exec <pod> node …/sidecar/main.js`; ip execs node, so its pid is node's. Checked, not assumed. */
async function findSidecarPid(pod: TestPod): Promise<{ pid: number; how: string }> {
  const isSidecar = (pid: number) => {
    try {
      return /dist\/sidecar\/main\.js/.test(commandLine(pid)) && readlinkSync(`/proc/${pid}/exe`) === readlinkSync('/proc/self/exe');
    } catch {
      return false;
    }
  };
  const spawned = pod.sidecar.pid;
  if (spawned !== undefined && isSidecar(spawned))
    return { pid: spawned, how: 'pod.sidecar.pid, checked to be the node process itself: ip netns exec execs it' };
  const { stdout } = await run('ip', ['netns', 'pids', pod.net.pod]);
  const found = stdout.split(/\s+/).filter(Boolean).map(Number).find(isSidecar);
  if (found === undefined) throw new Error('could not find the sidecar process in the pod namespace');
  return { pid: found, how: `pod.sidecar.pid (${spawned}) is not node; found by its command line in the pod namespace` };
}

interface Copies {
  streams: number;
  bytes: number;
  localAnswers: number;
}

/** Sections 1 and 2: every HTTP step, round after round. */
async function httpSteps(bench: Bench): Promise<Copies> {
  const copies: Copies = { streams: 0, bytes: 0, localAnswers: 0 };
  for (let round = 1; round <= ROUNDS; round++) {
    progress(`round ${round} of ${ROUNDS}`);
    for (const c of [1, 10]) await bench.http(DIRECT, 'app', c);
    for (const c of [1, 10]) await bench.http(H2_DIRECT, 'app', c, undefined, true);
    for (const c of [1, 10]) await bench.http(DIRECT6, 'app', c, undefined, false, false, true);

    const thief = await bench.session('steal', 'steal');
    for (const c of [1, 10]) await bench.http(STEAL, 'local', c);
    for (const c of [1, 10]) await bench.http(STEAL6, 'local', c, undefined, false, false, true);
    if (!thief.seen.streams) throw new Error('the stealing session received no stream');
    await bench.endSessions();

    const filtered = await bench.session('filtered steal', 'steal', FILTER);
    for (const c of [1, 10]) await bench.http(FILTERED, 'local', c, MATCHING);
    for (const c of [1, 10]) await bench.http(FILTERED_OTHER, 'app', c, NOT_MATCHING);
    for (const c of [1, 10]) await bench.http(H2_FILTERED, 'local', c, MATCHING, true);
    if (!filtered.seen.streams) throw new Error('the filtered stealing session received no stream');
    await bench.endSessions();

    const mirror = await bench.session('mirror', 'mirror');
    const answersBefore = bench.local.requests;
    for (const c of [1, 10]) await bench.http(MIRRORED, 'app', c);
    if (!mirror.seen.streams) throw new Error('the mirroring session received no copy');
    copies.streams += mirror.seen.streams;
    copies.bytes += mirror.seen.bytes;
    copies.localAnswers += bench.local.requests - answersBefore;
    await bench.endSessions();
  }
  return copies;
}

/**
 * The steps that need the sidecar restarted with another setting, alternating with the default.
 * Section 1b: what keeping the client's address costs the requests a filtered steal passes on to
 * the app, over kept-alive connections and with a connection per request (where the transparent
 * connect is in every round trip), against MIRRORD_KEEP_CLIENT_ADDRESS=false. Section 2: mirroring
 * through the sidecar (MIRRORD_MIRROR_CAPTURE=false), against the capture's mirroring off the path.
 */
async function restartedSteps(bench: Bench): Promise<void> {
  for (let round = 1; round <= ROUNDS; round++) {
    progress(`restarted sidecar, round ${round} of ${ROUNDS}`);
    await bench.restartSidecar({ MIRRORD_MIRROR_CAPTURE: 'false' });
    await bench.session('mirror', 'mirror');
    for (const c of [1, 10]) await bench.http(MIRRORED_THROUGH, 'app', c);
    await bench.endSessions();
    await bench.restartSidecar();
    for (const c of [1, 10]) await bench.http(DIRECT_NEW, 'app', c, undefined, false, true);
    for (const keep of [true, false]) {
      if (!keep) await bench.restartSidecar({ MIRRORD_KEEP_CLIENT_ADDRESS: 'false' });
      const label = keep ? PASS_CLIENT : PASS_POD;
      await bench.session('filtered steal', 'steal', FILTER);
      for (const c of [1, 10]) await bench.http(label, 'app', c, NOT_MATCHING);
      for (const c of [1, 10]) await bench.http(`${label}${NEW}`, 'app', c, NOT_MATCHING, false, true);
      await bench.endSessions();
      if (!keep) await bench.restartSidecar();
    }
  }
}

function passThroughTable(rows: HttpRow[]): string {
  const body = rows
    .filter((row) => PASS_THROUGH_LABELS.includes(row.label))
    .map((row) => {
      const { result } = row;
      const perConnection = row.label.endsWith(NEW);
      const base = find(rows, perConnection ? DIRECT_NEW : DIRECT, result.concurrency).result;
      const podAddress = row.label.startsWith(PASS_CLIENT) ? find(rows, row.label.replace(PASS_CLIENT, PASS_POD), result.concurrency).result : undefined;
      return [
        row.label,
        String(result.concurrency),
        ...loadCells(result),
        base !== result ? signedMs(result.latencyMs.p50 - base.latencyMs.p50) : '—',
        podAddress ? signedMs(result.latencyMs.p50 - podAddress.latencyMs.p50) : '—',
        podAddress ? percent(result.rps / podAddress.rps) : '—',
        base !== result ? fixed(row.sidecarUsPerRequest, 0) : '—',
      ];
    });
  return table(
    ['requests', 'conc', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'p50 vs direct', "p50 vs pod's address", "req/s vs pod's address", 'sidecar µs/req'],
    body,
  );
}

/** CPU per MiB echoed (ms) of each process on a path; undefined where the path has no such process. */
interface MsPerMiB {
  program?: number;
  /** The two bare relays of the ceiling, together. */
  relays?: number;
  localProxy?: number;
  sidecar?: number;
}

interface BulkFigures {
  direct: BulkResult[];
  /** Through two bare Node.js relays: the ceiling of a path through two Node.js processes. */
  relayed: BulkResult[];
  relayedCpu: MsPerMiB;
  /** The session client in this process (no layer, no local proxy). */
  session: BulkResult[];
  /** A program under `mirrord attach`: the whole path. */
  attached: BulkResult[];
  peakRssKiB: number;
  sessionCpu: MsPerMiB;
  attachedCpu: MsPerMiB;
}

async function bulkSection(bench: Bench): Promise<BulkFigures> {
  const direct: BulkResult[] = [];
  const relayed: BulkResult[] = [];
  let relaysCpu = 0;
  const session: BulkResult[] = [];
  const attached: BulkResult[] = [];
  let peakRssKiB = 0;
  const cpu = { session: { sidecar: 0, local: 0 }, attached: { sidecar: 0, program: 0, localProxy: 0 } };
  /** Runs `echo` while sampling the sidecar, and adds its CPU to `into`. */
  const sampled = async <T>(into: { sidecar: number }, echo: () => Promise<T>): Promise<T> => {
    const usage = new UsageSampler(bench.sidecarPid);
    const result = await echo();
    const sidecar = usage.stop();
    peakRssKiB = Math.max(peakRssKiB, sidecar.peakRssKiB);
    into.sidecar += sidecar.cpuSeconds;
    return result;
  };
  const client = await bench.pod.connectInNetns({ client: 'bench outgoing' });
  for (let round = 1; round <= ROUNDS; round++) {
    progress(`bulk TCP echo, ${BULK_BYTES / 1048576} MiB, direct from the pod (round ${round})`);
    direct.push(await directEcho(bench.pod, SERVICE_NAME, ECHO_PORT, BULK_BYTES));
    progress(`bulk TCP echo, ${BULK_BYTES / 1048576} MiB, through two bare Node.js relays (round ${round})`);
    const ceiling = await relayedEcho(bench.pod, SERVICE_NAME, ECHO_PORT, BULK_BYTES);
    relayed.push(ceiling.result);
    relaysCpu += ceiling.relaysMsPerMiB / ROUNDS;
    progress(`bulk TCP echo, ${BULK_BYTES / 1048576} MiB, through a session client (round ${round})`);
    const self = selfCpu();
    session.push(await sampled(cpu.session, () => sessionEcho(client, SERVICE_NAME, ECHO_PORT, BULK_BYTES)));
    cpu.session.local += self().cpuSeconds;
    progress(`bulk TCP echo, ${BULK_BYTES / 1048576} MiB, a program under mirrord attach (round ${round})`);
    const run = await sampled(cpu.attached, () => attachedEcho(bench.pod, SERVICE_NAME, ECHO_PORT, BULK_BYTES));
    attached.push(run.result);
    cpu.attached.program += run.cpu.program;
    cpu.attached.localProxy += run.cpu.localProxy;
  }
  await bench.endSessions();
  const perMiB = (seconds: number) => (seconds * 1000) / ((ROUNDS * BULK_BYTES) / 1048576);
  return {
    direct,
    relayed,
    relayedCpu: { relays: relaysCpu },
    session,
    attached,
    peakRssKiB,
    sessionCpu: { sidecar: perMiB(cpu.session.sidecar), localProxy: perMiB(cpu.session.local) },
    attachedCpu: {
      sidecar: perMiB(cpu.attached.sidecar),
      program: perMiB(cpu.attached.program),
      localProxy: perMiB(cpu.attached.localProxy),
    },
  };
}

function find(rows: HttpRow[], label: string, concurrency: number): HttpRow {
  const found = rows.find((r) => r.label === label && r.result.concurrency === concurrency);
  if (!found) throw new Error(`no figures for ${label} at concurrency ${concurrency}`);
  return found;
}

function httpTable(rows: HttpRow[]): string {
  const body = rows.map((row) => {
    const { result } = row;
    const base = find(rows, row.label.includes('IPv6') ? DIRECT6 : DIRECT, result.concurrency).result;
    const compare = base !== result;
    return [
      row.label,
      String(result.concurrency),
      ...loadCells(result),
      compare ? signedMs(result.latencyMs.p50 - base.latencyMs.p50) : '—',
      compare ? percent(result.rps / base.rps) : '—',
      percent(row.sidecarCpu),
      compare ? fixed(row.sidecarUsPerRequest, 0) : '—',
      percent(row.localCpu),
    ];
  });
  return table(
    ['scenario', 'conc', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'p50 vs direct', 'req/s vs direct', 'sidecar CPU', 'sidecar µs/req', 'local CPU'],
    body,
  );
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line ? `   ${line}` : line))
    .join('\n');
}

async function main(): Promise<void> {
  const began = Date.now();
  const cpus = os.cpus();
  const loadBefore = os.loadavg()[0]!;
  console.log('mirrord benchmark');
  console.log(
    `machine: ${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, node ${process.version}`,
  );
  console.log(`load average before the run (other work on the machine): ${loadBefore.toFixed(2)}`);
  console.log(
    `HTTP steps: ${ROUNDS} alternated rounds of ${STEP_MS / 1000} s each (after a ${WARMUP_MS} ms warm-up), merged; bulk echo: ${BULK_BYTES / 1048576} MiB × ${ROUNDS}`,
  );
  console.log('load generator, app, sidecar, session client, local server and echo service all share these cores\n');

  process.stderr.write('starting the pod (network namespaces, app, echo service, sidecar)\n');
  // The sidecar as deployed (info logging; the harness's debug level logs every stream).
  const pod = await TestPod.start({ MIRRORD_LOG_LEVEL: 'info', MIRRORD_HEARTBEAT_MS: '2000' });
  let local: LocalServer | undefined;
  // Interrupted: still remove the namespaces and what runs in them.
  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: removing the pod\n`);
    void pod.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    local = await startLocalServer();
    const sidecar = await findSidecarPid(pod);
    const bench = new Bench(pod, local, sidecar.pid);
    progress('idle: the sidecar before any session, beside a bare node process');
    const idle = await idleFigures(sidecar.pid);

    const copies = await httpSteps(bench);
    const bulk = await bulkSection(bench);
    process.stderr.write('layer: attach, remote files, DNS\n');
    const layer = await layerSection(pod);
    process.stderr.write('the syscall mode: an intercepted connect, an untouched read, a stolen round trip\n');
    const syscalls = await syscallSection(pod, progress);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const rssAfter = rssKiB(sidecar.pid);
    // After the memory figures: it restarts the sidecar.
    process.stderr.write("restarted sidecar: pass-through from the client's address and from the pod's, mirroring through the sidecar\n");
    await restartedSteps(bench);
    // Last: the attacks leave the sidecar's memory grown, and the stall opens its inspector.
    process.stderr.write("attacks: the peer's traffic while hostile clients attack\n");
    const attacks = await attackSection(pod, local, bench.sidecarPid, progress);
    const rows = bench.rows();

    // ---- 1. stolen HTTP ----
    console.log('1. Stolen HTTP round trip: GET over keep-alive connections, from the workload namespace to the pod');
    console.log('   sidecar CPU / local CPU: share of one core used by the sidecar / by the bench process (the laptop side:');
    console.log('   session client and local HTTP server); sidecar µs/req: sidecar CPU time per request\n');
    console.log(indent(httpTable(rows.filter((row) => ![MIRRORED, MIRRORED_THROUGH, ...PASS_THROUGH_LABELS].includes(row.label)))));
    const directC1 = find(rows, DIRECT, 1).result;
    const directC10 = find(rows, DIRECT, 10).result;
    const stealC1 = find(rows, STEAL, 1).result;
    const filteredC1 = find(rows, FILTERED, 1).result;
    const stealOverhead = stealC1.latencyMs.p50 - directC1.latencyMs.p50;
    const filteredOverhead = filteredC1.latencyMs.p50 - directC1.latencyMs.p50;
    const stealP99Ratio = stealC1.latencyMs.p99 / directC1.latencyMs.p99;
    console.log(
      `\n   steal at concurrency 1: p50 ${signedMs(stealOverhead)} (target ≤ +0.6 ms: ${verdict(stealOverhead <= 0.6)}), ` +
        `p99 ${fixed(stealP99Ratio, 2)}× direct (target ≤ 2×: ${verdict(stealP99Ratio <= 2)})`,
    );
    console.log(`   filtered steal (matching) p50 overhead at concurrency 1: ${signedMs(filteredOverhead)}`);
    const h2DirectC1 = find(rows, H2_DIRECT, 1).result;
    const h2DirectC10 = find(rows, H2_DIRECT, 10).result;
    const h2FilteredC1 = find(rows, H2_FILTERED, 1).result;
    const h2FilteredC10 = find(rows, H2_FILTERED, 10).result;
    const h2Overhead = h2FilteredC1.latencyMs.p50 - h2DirectC1.latencyMs.p50;
    console.log(
      `   h2 filtered steal (one connection): p50 overhead at 1 stream ${signedMs(h2Overhead)}; 10 streams ${count(h2FilteredC10.rps)} req/s, ` +
        `${percent(h2FilteredC10.rps / h2DirectC10.rps)} of h2 direct, ${percent(h2FilteredC10.rps / find(rows, FILTERED, 10).result.rps)} of HTTP/1.1 filtered steal at concurrency 10`,
    );

    console.log(
      "\n1b. Requests a filtered steal passes on to the app: from the client's address (the default) and from the pod's\n" +
        '   (the sidecar restarted with MIRRORD_KEEP_CLIENT_ADDRESS=false, alternating); over kept-alive connections, and with\n' +
        "   a new connection per request, where the sidecar's connection to the app from the client's address is in each round trip\n",
    );
    console.log(indent(passThroughTable(rows)));

    // ---- 2. mirror ----
    const mirrored = find(rows, MIRRORED, 10);
    const mirrorRatio = mirrored.result.rps / directC10.rps;
    const mirroredC1 = find(rows, MIRRORED, 1).result;
    const mirrorOverhead = mirroredC1.latencyMs.p50 - directC1.latencyMs.p50;
    const throughOverhead = find(rows, MIRRORED_THROUGH, 1).result.latencyMs.p50 - directC1.latencyMs.p50;
    console.log('\n2. The app with a mirroring session (copies to the local server), by packet capture and through the sidecar\n');
    const mirrorRow = (label: string, row: HttpRow) => {
      const base = find(rows, DIRECT, row.result.concurrency);
      const held = row !== base;
      return [
        label,
        String(row.result.concurrency),
        count(row.result.rps),
        fixed(row.result.latencyMs.p50, 3),
        fixed(row.result.latencyMs.p99, 3),
        held ? signedMs(row.result.latencyMs.p50 - base.result.latencyMs.p50) : '—',
        held ? percent(row.result.rps / base.result.rps) : '—',
        percent(row.sidecarCpu),
        held ? fixed(row.sidecarUsPerRequest, 0) : '—',
        percent(row.localCpu),
      ];
    };
    console.log(
      indent(
        table(
          ['app traffic', 'conc', 'req/s', 'p50 ms', 'p99 ms', 'p50 vs no session', 'req/s vs no session', 'sidecar CPU', 'sidecar µs/req', 'local CPU'],
          [1, 10].flatMap((c) => [
            mirrorRow('no session', find(rows, DIRECT, c)),
            mirrorRow('mirrored (packet capture)', find(rows, MIRRORED, c)),
            mirrorRow('mirrored through the sidecar', find(rows, MIRRORED_THROUGH, c)),
          ]),
        ),
      ),
    );
    console.log(
      `\n   p50 added at concurrency 1: ${signedMs(mirrorOverhead)} by packet capture (target ≤ +0.05 ms: ${verdict(mirrorOverhead <= 0.05)}), ` +
        `${signedMs(throughOverhead)} through the sidecar`,
    );
    console.log(
      `   req/s at concurrency 10 while mirrored: ${percent(mirrorRatio, 1)} of no session (at saturation the app shares the 2 cores with the copies' ` +
        `own work: the local server's answers, the session client)`,
    );
    console.log(
      `   copies delivered to the session: ${count(copies.streams)} connections, ${mib(copies.bytes / 1024)}; ` +
        `the local server answered ${count(copies.localAnswers)} mirrored requests (the sidecar drops those answers)`,
    );

    // ---- 3. outgoing bulk TCP ----
    const directMBs = median(bulk.direct.map((r) => r.mbPerSecond));
    const sessionMBs = median(bulk.session.map((r) => r.mbPerSecond));
    const attachedMBs = median(bulk.attached.map((r) => r.mbPerSecond));
    const relayedMBs = median(bulk.relayed.map((r) => r.mbPerSecond));
    const bulkRatio = attachedMBs / directMBs;
    console.log(
      `\n3. Outgoing TCP bulk throughput: write ${BULK_BYTES / 1048576} MiB to ${SERVICE_NAME}:${ECHO_PORT} (echo) and read it back; median of ${ROUNDS}\n`,
    );
    console.log('   CPU per MiB echoed (ms) of each process on the path: the program (echo-client.js), the local proxy (the CLI,');
    console.log('   or the session client in the bench process: each connects to the sidecar itself, --agent-netns), the sidecar;');
    console.log('   for the ceiling, two bare relays (test/bench/relay.js: stream.pipe both ways, no framing) in the pod namespace, the');
    console.log('   most of direct that any path through two Node.js processes (here: the CLI and the sidecar) can keep\n');
    const msCell = (ms: number | undefined) => (ms === undefined ? '—' : fixed(ms, 1));
    const bulkRow = (label: string, mbs: number, results: BulkResult[], cpu?: MsPerMiB) => [
      label,
      fixed(mbs, 1),
      results.map((r) => fixed(r.mbPerSecond, 0)).join(' / '),
      percent(mbs / directMBs),
      msCell(cpu?.program),
      msCell(cpu?.relays ?? cpu?.localProxy),
      msCell(cpu?.sidecar),
    ];
    console.log(
      indent(
        table(
          ['path', 'MB/s', 'rounds (MB/s)', 'vs direct', 'program', 'local proxy (relays)', 'sidecar'],
          [
            bulkRow('direct, from the pod namespace', directMBs, bulk.direct),
            bulkRow('ceiling: two bare Node.js relays', relayedMBs, bulk.relayed, bulk.relayedCpu),
            bulkRow('a session client (no layer)', sessionMBs, bulk.session, bulk.sessionCpu),
            bulkRow('a program under mirrord attach', attachedMBs, bulk.attached, bulk.attachedCpu),
          ],
        ),
      ),
    );
    console.log(
      `\n   a program under mirrord attach / direct: ${percent(bulkRatio, 1)} (target ≥ 50%: ${verdict(bulkRatio >= 0.5)}; the two-relay ceiling: ${percent(relayedMBs / directMBs, 1)}); MB = 2^20 bytes, counted one way`,
    );

    // ---- 4. memory ----
    const peakOf = (...labels: string[]) => Math.max(...rows.filter((r) => labels.includes(r.label)).map((r) => r.peakRssKiB));
    const peakAll = Math.max(peakOf(STEAL, FILTERED, FILTERED_OTHER, MIRRORED), bulk.peakRssKiB);
    console.log(`\n4. Sidecar memory: VmRSS of pid ${sidecar.pid} (${sidecar.how})\n`);
    console.log(
      indent(
        table(
          ['when', 'VmRSS'],
          [
            ['idle, before any session', mib(idle.sidecarKiB)],
            ['peak under steal load', mib(peakOf(STEAL))],
            ['peak under filtered-steal load', mib(peakOf(FILTERED, FILTERED_OTHER))],
            ['peak under mirror load', mib(peakOf(MIRRORED))],
            ['peak under bulk TCP load', mib(bulk.peakRssKiB)],
            ['idle again, all sessions closed', mib(rssAfter)],
          ],
        ),
      ),
    );
    const idleOver = idle.sidecarKiB - idle.floorKiB;
    console.log(
      `\n   before any session: ${mib(idleOver)} over a bare node process holding one socket (${mib(idle.floorKiB)}, same flags, same run; ` +
        `target < 10 MiB: ${verdict(idleOver < 10 * 1024)}); CPU over ${idle.windowSeconds} s idle: sidecar ${fixed(idle.sidecarCpuSeconds * 1000, 0)} ms, ` +
        `bare node ${fixed(idle.floorCpuSeconds * 1000, 0)} ms. The session code loads with the first session and stays loaded.`,
    );

    // ---- 5. the layer ----
    console.log('\n5. The layer: a local python3 program under `mirrord attach --agent-netns`, against the same program run directly');
    console.log(`   (${layer.python}: the interpreter itself, so that a version manager's shim scripts aren't timed too)\n`);
    console.log(
      indent(
        table(
          ['figure', 'direct', 'with mirrord', 'difference'],
          [
            [
              'program starts after (median of 7), ms',
              fixed(layer.start.direct, 1),
              fixed(layer.start.attach, 1),
              `+${fixed(layer.start.attach - layer.start.direct, 1)} ms`,
            ],
            [
              '`true` runs and mirrord exits (median of 7), ms',
              fixed(layer.whole.direct, 1),
              fixed(layer.whole.attach, 1),
              `+${fixed(layer.whole.attach - layer.whole.direct, 1)} ms`,
            ],
            ['`node -e 0`: Node.js starts and exits (median of 7), ms', '', fixed(layer.node, 1), ''],
            ...layer.files.flatMap((f) => [
              [`open + read ${f.size} file, ms (local copy / the pod's)`, fixed(f.local, 3), fixed(f.remote, 3), `+${fixed(f.remote - f.local, 3)} ms`],
              [`  the same, again, unchanged in the pod`, fixed(f.local, 3), fixed(f.again, 3), `+${fixed(f.again - f.local, 3)} ms`],
            ]),
            [
              'getaddrinfo, ms (localhost / a pod-only name)',
              fixed(layer.resolve.local, 3),
              fixed(layer.resolve.pod, 3),
              `+${fixed(layer.resolve.pod - layer.resolve.local, 3)} ms`,
            ],
          ],
        ),
      ),
    );

    console.log(
      `\n   The CLI runs on Node.js, whose own start and exit (\`node -e 0\`) the added start-up includes: beyond it, attach adds ` +
        `+${fixed(layer.start.attach - layer.start.direct - layer.node, 1)} ms before the program runs.`,
    );

    // ---- 6. attacks ----
    console.log("\n6. Attacks: an ordinary peer's requests while a hostile session or client attacks the sidecar");
    console.log(`${indent(ATTACK_SETUP)}\n`);
    console.log(indent(attackReport(attacks)));

    // ---- 7. the syscall mode ----
    console.log('\n7. The syscall mode (seccomp user notification): a dynamically linked C timer, and a static Go server\n');
    const us = (value: number) => `${fixed(value, 1)} µs`;
    const stolen = syscalls.stolen;
    console.log(
      indent(
        table(
          ['figure', 'baseline', 'the layer', 'the syscall mode', 'syscall mode / baseline'],
          [
            [
              `connect + close to ${SERVICE_IP}:7000 (through the pod), median of 5 × 200`,
              `${us(syscalls.connect.pod)} (in the pod)`,
              us(syscalls.connect.layer),
              us(syscalls.connect.syscall),
              `+${us(syscalls.connect.syscall - syscalls.connect.pod)}`,
            ],
            [
              'read 1 byte of /dev/zero (not intercepted), median of 5 × 10^6',
              `${fixed(syscalls.read.direct, 1)} ns (no mirrord)`,
              '—',
              `${fixed(syscalls.read.syscall, 1)} ns`,
              `+${fixed(syscalls.read.syscall - syscalls.read.direct, 1)} ns (target < +25 ns: ${verdict(syscalls.read.syscall - syscalls.read.direct < 25)})`,
            ],
            [
              'sendmsg + recvmsg of 1 byte, UNIX datagram pair (trapped, let through by the addon), median of 5 × 10^5',
              `${fixed(syscalls.datagram.direct, 1)} ns (no mirrord)`,
              '—',
              `${fixed(syscalls.datagram.syscall, 1)} ns`,
              `+${us((syscalls.datagram.syscall - syscalls.datagram.direct) / 1000)} per pair`,
            ],
            [
              'stolen GET p50, concurrency 1 (Node.js under the layer; static Go under the syscall mode)',
              `${fixed(stolen.direct.latencyMs.p50, 3)} ms (the app)`,
              `${fixed(stolen.layer.latencyMs.p50, 3)} ms`,
              `${fixed(stolen.syscall.latencyMs.p50, 3)} ms`,
              signedMs(stolen.syscall.latencyMs.p50 - stolen.direct.latencyMs.p50),
            ],
          ],
        ),
      ),
    );
    console.log('   The layer cannot steal for a Go server, with cgo or without (Go listens with its own system calls); a stolen');
    console.log("   request costs the syscall mode nothing per request: accept, read and write aren't intercepted. What an untouched");
    console.log('   call pays is the kernel taking the seccomp path on every system call (the filter itself is cached: ALLOW by number).');
    console.log("   sendmsg and recvmsg are trapped whatever they concern (the filter can't read the address inside their struct msghdr):");
    console.log("   the addon's receiving thread lets through at once those naming no address, or a socket that isn't intercepted.");

    // ---- summary ----
    const stealC10 = find(rows, STEAL, 10).result;
    const filteredC10 = find(rows, FILTERED, 10).result;
    const ms = (value: number) => `${fixed(value, 3)} ms`;
    console.log('\nSummary (baselines measured in the same run)\n');
    console.log(
      indent(
        table(
          ['figure', 'direct', 'with mirrord', 'difference', 'target', ''],
          [
            [
              'stolen HTTP p50, concurrency 1',
              ms(directC1.latencyMs.p50),
              ms(stealC1.latencyMs.p50),
              signedMs(stealOverhead),
              '≤ +0.6 ms',
              verdict(stealOverhead <= 0.6),
            ],
            [
              'stolen HTTP p99, concurrency 1',
              ms(directC1.latencyMs.p99),
              ms(stealC1.latencyMs.p99),
              `${fixed(stealP99Ratio, 2)}×`,
              '≤ 2×',
              verdict(stealP99Ratio <= 2),
            ],
            [
              'stolen HTTP p50 over IPv6, concurrency 1 (vs IPv4)',
              ms(find(rows, DIRECT6, 1).result.latencyMs.p50),
              ms(find(rows, STEAL6, 1).result.latencyMs.p50),
              `${signedMs(find(rows, STEAL6, 1).result.latencyMs.p50 - find(rows, DIRECT6, 1).result.latencyMs.p50)} (IPv4 ${signedMs(stealOverhead)})`,
              '',
              '',
            ],
            ['stolen HTTP req/s, concurrency 10', count(directC10.rps), count(stealC10.rps), percent(stealC10.rps / directC10.rps), '', ''],
            ['filtered steal p50, concurrency 1', ms(directC1.latencyMs.p50), ms(filteredC1.latencyMs.p50), signedMs(filteredOverhead), '', ''],
            ['filtered steal req/s, concurrency 10', count(directC10.rps), count(filteredC10.rps), percent(filteredC10.rps / directC10.rps), '', ''],
            ...[PASS_CLIENT, `${PASS_CLIENT}${NEW}`].map((label) => {
              const kept = find(rows, label, 1).result;
              const pod = find(rows, label.replace(PASS_CLIENT, PASS_POD), 1).result;
              return [
                `filtered steal ${label}, p50 c1 (vs the pod's)`,
                ms(pod.latencyMs.p50),
                ms(kept.latencyMs.p50),
                signedMs(kept.latencyMs.p50 - pod.latencyMs.p50),
                '',
                '',
              ];
            }),
            ['h2 filtered steal p50, 1 stream', ms(h2DirectC1.latencyMs.p50), ms(h2FilteredC1.latencyMs.p50), signedMs(h2Overhead), '', ''],
            [
              'h2 filtered steal req/s, 10 streams, 1 connection',
              count(h2DirectC10.rps),
              count(h2FilteredC10.rps),
              percent(h2FilteredC10.rps / h2DirectC10.rps),
              '',
              '',
            ],
            [
              'app p50 while mirrored, concurrency 1',
              ms(directC1.latencyMs.p50),
              ms(mirroredC1.latencyMs.p50),
              signedMs(mirrorOverhead),
              '≤ +0.05 ms',
              verdict(mirrorOverhead <= 0.05),
            ],
            ['app req/s while mirrored, concurrency 10', count(directC10.rps), count(mirrored.result.rps), percent(mirrorRatio), '', ''],
            [
              'outgoing TCP echo of a program under attach, MB/s',
              fixed(directMBs, 1),
              fixed(attachedMBs, 1),
              percent(bulkRatio),
              '≥ 50%',
              verdict(bulkRatio >= 0.5),
            ],
            [
              'idle sidecar VmRSS over a bare node holding a socket',
              mib(idle.floorKiB),
              mib(idle.sidecarKiB),
              `+${mib(idleOver)}`,
              '< +10 MiB',
              verdict(idleOver < 10 * 1024),
            ],
            [
              'idle sidecar CPU, ms per second',
              fixed((idle.floorCpuSeconds * 1000) / idle.windowSeconds, 1),
              fixed((idle.sidecarCpuSeconds * 1000) / idle.windowSeconds, 1),
              '',
              '0',
              verdict(idle.sidecarCpuSeconds === 0),
            ],
            ['sidecar VmRSS, peak', '', mib(peakAll), '', '', ''],
            ...(['p99', 'max'] as const).map((figure) => {
              const worst = worstAttack(attacks, figure);
              const what = figure === 'p99' ? 'peer p99' : "peer's slowest request";
              return [
                `${what} under attack (worst: attack ${worst.attack})`,
                ms(worst.baselineMs),
                ms(worst.ms),
                signedMs(worst.ms - worst.baselineMs),
                '',
                '',
              ];
            }),
            ['sidecar VmRSS under attack, peak', '', mib(Math.max(...attacks.map((a) => a.rssPeakKiB))), '', '', ''],
            [
              'attach until the program runs, ms',
              fixed(layer.start.direct, 1),
              fixed(layer.start.attach, 1),
              `+${fixed(layer.start.attach - layer.start.direct, 1)} ms`,
              '≤ +50 ms',
              verdict(layer.start.attach - layer.start.direct <= 50),
            ],
            ["  of which Node.js's own start and exit (`node -e 0`), ms", '', fixed(layer.node, 1), '', '', ''],
          ],
        ),
      ),
    );
    if (loadBefore > 1)
      console.log(
        `\nthe load average before the run was ${loadBefore.toFixed(2)}: other processes competed for the CPUs, so these figures are noisy and pessimistic`,
      );
    console.log(`\nwhole run: ${((Date.now() - began) / 1000).toFixed(0)} s`);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await local?.close();
    await pod.stop();
  }
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
