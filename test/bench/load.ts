/**
 * The traffic of the benchmark: HTTP load from the other workload's namespace (so it passes
 * the pod's nat rules like a real client's), the "local process" that stolen requests reach,
 * and bulk TCP echo through a session or straight from the pod.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { Client } from '../../protocol/client';
import { packagePath } from '../../common/package-root';
import { replayedSocket } from '../../common/replayed-socket';
import { POD_IP, POD_IP6, waitForOutput } from '../harness/netns';
import { APP_PORT, type TestPod } from '../harness/pod';
import { MAIN } from '../e2e/mirrord';
import { cpuSeconds, TreeCpuSampler } from './proc';
import type { LoadResult } from './stats';

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  headers?: Record<string, string>;
  path?: string;
  /** HTTP/2 with prior knowledge over one connection, `concurrency` streams in flight. */
  h2?: boolean;
  /** To the pod's IPv6 address (the harness's pod is dual-stack). */
  ipv6?: boolean;
  /** A new connection for each request (`Connection: close`), so a connection's set-up is in each round trip. */
  newConnections?: boolean;
}

/** Runs test/bench/loadgen.js in the workload namespace against the pod's app port; every request must succeed. */
export async function runLoad(pod: TestPod, options: LoadOptions): Promise<LoadResult> {
  const result = await measureLoad(pod, options);
  if (result.errors) throw new Error(`${result.errors} of ${result.requests} requests failed (first: ${result.firstError})`);
  if (!result.requests) throw new Error('the load generator completed no request');
  return result;
}

/** The same, with failed requests counted in the result rather than thrown: for load while something goes wrong. */
export async function measureLoad(pod: TestPod, options: LoadOptions): Promise<LoadResult> {
  const args = [
    packagePath('test/bench/loadgen.js'),
    `http://${options.ipv6 ? `[${POD_IP6}]` : POD_IP}:${APP_PORT}${options.path ?? '/bench'}`,
    '--concurrency',
    String(options.concurrency),
    '--duration',
    String(options.durationMs),
    '--warmup',
    String(options.warmupMs),
    ...Object.entries(options.headers ?? {}).flatMap(([name, value]) => ['--header', `${name}: ${value}`]),
    '--raw',
    ...(options.h2 ? ['--h2'] : []),
    ...(options.newConnections ? ['--new-connections'] : []),
  ];
  const timeoutMs = options.durationMs + options.warmupMs + 15_000;
  const { stdout } = await pod.net.exec(pod.net.workload, process.execPath, args, { timeoutMs });
  return JSON.parse(stdout) as LoadResult;
}

/** The local process: answers like the pod's app (same body, same headers but x-served-by). */
export interface LocalServer {
  port: number;
  /** Requests answered so far. */
  requests: number;
  close(): Promise<void>;
}

export async function startLocalServer(): Promise<LocalServer> {
  const sockets = new Set<net.Socket>();
  // HTTP/2 with prior knowledge too, on the same port, as the app does (test/fixtures/app.js).
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    let size = 0;
    stream.on('error', () => undefined);
    stream.on('data', (chunk: Buffer) => (size += chunk.length));
    stream.on('end', () => {
      local.requests++;
      stream.respond({ ':status': 200, 'x-served-by': 'local' });
      stream.end(`local ${headers[':method']} ${headers[':path']} body=${size}\n`);
    });
  });
  const server = http.createServer((req, res) => {
    let size = 0;
    req.on('data', (chunk: Buffer) => (size += chunk.length));
    req.on('end', () => {
      local.requests++;
      res.sendDate = false;
      res.setHeader('x-served-by', 'local');
      res.end(`local ${req.method} ${req.url} body=${size}\n`);
    });
  });
  server.keepAliveTimeout = 30_000;
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      if (chunk.toString('latin1', 0, 14) === 'PRI * HTTP/2.0') h2.emit('connection', replayedSocket(socket));
      else server.emit('connection', socket);
      socket.resume();
    });
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const local: LocalServer = {
    port: (listener.address() as net.AddressInfo).port,
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        listener.close(() => resolve());
      }),
  };
  return local;
}

/** Counts what a session received, for checking that a step exercised what it claims. */
export interface BulkResult {
  bytes: number;
  seconds: number;
  mbPerSecond: number;
}

const CHUNK = 64 * 1024;

/**
 * Writes `bytes` to the pod's echo service through a session stream while reading the echo
 * back; timed from the connection being up to the last echoed byte, as echo-client.js does.
 */
export async function sessionEcho(client: Client, host: string, port: number, bytes: number): Promise<BulkResult> {
  const { stream } = await client.connect('tcp', host, port);
  const chunk = Buffer.alloc(CHUNK, 0x61);
  const started = process.hrtime.bigint();
  try {
    await new Promise<void>((resolve, reject) => {
      let sent = 0;
      let received = 0;
      const timer = setTimeout(() => reject(new Error(`bulk echo timed out after 60 s (${received} of ${bytes} bytes back)`)), 60_000);
      stream.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      stream.on('data', (data: Buffer) => {
        received += data.length;
        if (received >= bytes) {
          clearTimeout(timer);
          resolve();
        }
      });
      const pump = () => {
        while (sent < bytes) {
          const size = Math.min(CHUNK, bytes - sent);
          sent += size;
          if (!stream.write(size === CHUNK ? chunk : chunk.subarray(0, size))) return void stream.once('drain', pump);
        }
      };
      pump();
    });
  } finally {
    stream.destroy();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { bytes, seconds, mbPerSecond: bytes / 1048576 / seconds };
}

/** The baseline: test/bench/echo-client.js run inside the pod's namespace, no session. */
export async function directEcho(pod: TestPod, host: string, port: number, bytes: number): Promise<BulkResult> {
  const { stdout } = await pod.net.exec(pod.net.pod, process.execPath, echoClient(host, port, bytes), { timeoutMs: 70_000 });
  return JSON.parse(stdout) as BulkResult;
}

/** Ports in the pod namespace for the relays of relayedEcho (the app has 8080, the sidecar 61234). */
const RELAY_PORTS = [17001, 17002] as const;

/**
 * The ceiling of any path through two Node.js processes: echo-client.js in the pod namespace,
 * through two bare relays in series (test/bench/relay.js: stream.pipe both ways, no framing) to
 * the service. The CLI and the sidecar are two Node.js processes on the path that also frame,
 * multiplex and control the flow of every byte, so a program under attach can't keep more of
 * direct than this. Also the relays' CPU per MiB echoed, together (ms).
 */
export async function relayedEcho(pod: TestPod, host: string, port: number, bytes: number): Promise<{ result: BulkResult; relaysMsPerMiB: number }> {
  const [first, second] = RELAY_PORTS;
  const relays = [
    pod.net.spawn(pod.net.pod, process.execPath, [packagePath('test/bench/relay.js'), String(second), host, String(port)]),
    pod.net.spawn(pod.net.pod, process.execPath, [packagePath('test/bench/relay.js'), String(first), '127.0.0.1', String(second)]),
  ];
  try {
    // A relay that can't listen (its port taken) exits saying why, and one that hangs is given up on.
    const pids = await Promise.all(relays.map(async (relay) => parseInt(await waitForOutput(relay, /^\d+ ready$/), 10)));
    const cpu = () => pids.reduce((total, pid) => total + cpuSeconds(pid), 0);
    const before = cpu();
    const { stdout } = await pod.net.exec(pod.net.pod, process.execPath, echoClient('127.0.0.1', first, bytes), { timeoutMs: 70_000 });
    return { result: JSON.parse(stdout) as BulkResult, relaysMsPerMiB: ((cpu() - before) * 1000) / (bytes / 1048576) };
  } finally {
    for (const relay of relays) relay.kill();
    await Promise.all(relays.map((relay) => (relay.exitCode === null && relay.signalCode === null ? once(relay, 'exit') : undefined)));
  }
}

/** test/bench/echo-client.js's arguments, writing `bytes` in CHUNK-sized writes. */
function echoClient(host: string, port: number, bytes: number): string[] {
  return [packagePath('test/bench/echo-client.js'), host, String(port), String(bytes), String(CHUNK)];
}

/** CPU per role on the path of a program's connection under `mirrord attach`, seconds. */
export interface PathCpu {
  /** The program itself (echo-client.js). */
  program: number;
  /** The CLI: the layer's local proxy and the session's end of the transport (its own connection to the sidecar: --agent-netns). */
  localProxy: number;
}

/**
 * The real path: echo-client.js run under `mirrord attach --agent-netns`, its connection made by
 * the layer through the CLI's local proxy and the sidecar. Each process's CPU is
 * counted from the connection being up to the end, so the CLI's start-up is left out.
 */
export async function attachedEcho(pod: TestPod, host: string, port: number, bytes: number): Promise<{ result: BulkResult; cpu: PathCpu }> {
  const child = spawn(process.execPath, [MAIN, 'attach', '--agent-netns', pod.agentNetns, '-q', '--', process.execPath, ...echoClient(host, port, bytes)], {
    env: { ...process.env, ECHO_CLIENT_ANNOUNCE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sampler = new TreeCpuSampler(child.pid!);
  let stdout = '';
  let stderr = '';
  let connected = false;
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (!connected && /^connected$/m.test(stderr)) {
      connected = true;
      sampler.mark();
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 70_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  const usage = sampler.stop();
  if (code !== 0) throw new Error(`mirrord attach -- echo-client.js exited with ${code}: ${stderr}`);
  const sum = (match: (command: string) => boolean) => usage.filter((p) => match(p.command)).reduce((total, p) => total + p.cpuSeconds, 0);
  // The CLI's command line names the program too.
  const isCli = (command: string) => command.includes(`${MAIN} attach`);
  const isProgram = (command: string) => !isCli(command) && command.includes('echo-client.js');
  return {
    result: JSON.parse(stdout) as BulkResult,
    cpu: { program: sum(isProgram), localProxy: sum(isCli) },
  };
}
