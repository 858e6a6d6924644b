/**
 * A test pod: the namespaces of PodNet with the app, the pod-only service and the real
 * sidecar running in them, and a files root standing in for the app's volumes.
 */
import { TRANSPARENT_MARK, TRANSPARENT_ROUTE_TABLE } from '../../sidecar/incoming/transparent';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectThroughCommand, type CommandTransport } from '../../cli/transport/command';
import { connectInNetns, parseNetnsAgent } from '../../cli/transport/netns';
import { Client, type ClientOptions } from '../../protocol/client';
import { pipeBothWays, pipeOneWay } from '../../protocol/pipe';
import { packagePath } from '../../common/package-root';
import { eventually } from './eventually';
import { run } from './run';
import { PodNet, POD_HOSTNAME, POD_IP, waitForOutput } from './netns';

export const APP_PORT = 8080;
export const AGENT_PORT = 61234;

export interface HttpAnswer {
  status: number;
  /** The raw response (status line, headers, body) as the client received it. */
  raw: string;
  body: string;
}

export class TestPod {
  sidecar!: ChildProcess;
  sidecarLog = '';
  private readonly clients = new Set<Client>();
  private constructor(
    readonly net: PodNet,
    readonly appRoot: string,
  ) {}

  static async start(env: NodeJS.ProcessEnv = {}): Promise<TestPod> {
    const podNet = await PodNet.create();
    const appRoot = mkdtempSync(join(tmpdir(), 'mirrord-approot-'));
    const pod = new TestPod(podNet, appRoot);
    try {
      mkdirSync(join(appRoot, 'etc/config'), { recursive: true });
      writeFileSync(join(appRoot, 'etc/config/app.yaml'), 'greeting: hello from the pod\n');
      symlinkSync('/etc/hostname', join(appRoot, 'etc/config/escape-absolute'));
      symlinkSync('../../../../../../etc/hostname', join(appRoot, 'etc/config/escape-relative'));
      const app = podNet.spawn(podNet.pod, process.execPath, [packagePath('test/fixtures/app.js')], { PORT: String(APP_PORT) });
      const service = podNet.spawn(podNet.service, process.execPath, [packagePath('test/fixtures/service.js')]);
      await Promise.all([waitForOutput(app, /app listening/), waitForOutput(service, /service listening/)]);
      await pod.startSidecar(env);
    } catch (error) {
      await pod.stop();
      throw error;
    }
    return pod;
  }

  async startSidecar(env: NodeJS.ProcessEnv = {}): Promise<void> {
    // A UTS namespace of its own, named as the pod: a pod's containers share one.
    const inPodUts = ['unshare', '--uts', 'sh', '-c', 'hostname "$0" && exec "$@"', POD_HOSTNAME];
    this.sidecar = this.net.spawn(
      this.net.pod,
      inPodUts[0],
      [...inPodUts.slice(1), process.execPath, '--max-semi-space-size=1', packagePath('dist/sidecar/main.js')],
      {
        MIRRORD_AGENT_PORT: String(AGENT_PORT),
        MIRRORD_APP_ROOT: this.appRoot,
        // What the tests serve: the sidecar refuses every path outside these.
        MIRRORD_APP_MOUNTS: '/etc/config,/srv',
        MIRRORD_APP_ENV_GREETING: 'hello from the pod',
        MIRRORD_APP_ENV_DATABASE_URL: 'postgres://db.internal:5432/app',
        MIRRORD_POD_NAME: 'test-pod',
        MIRRORD_POD_NAMESPACE: 'default',
        MIRRORD_POD_IP: POD_IP,
        MIRRORD_HEARTBEAT_MS: '500',
        MIRRORD_LOG_LEVEL: 'debug',
        ...env,
      },
    );
    this.sidecar.stderr?.on('data', (chunk: Buffer) => (this.sidecarLog += chunk.toString()));
    await waitForOutput(this.sidecar, /sidecar listening/);
  }

  /** Stops the sidecar (SIGTERM) and starts it again with `env` on top of the usual settings. */
  async restartSidecar(env: NodeJS.ProcessEnv = {}): Promise<void> {
    this.sidecar.kill('SIGTERM');
    if (this.sidecar.exitCode === null && this.sidecar.signalCode === null) await once(this.sidecar, 'exit');
    this.sidecarLog = '';
    await this.startSidecar(env);
  }

  /**
   * Blocks the sidecar's event loop (only the loop: its other threads run on) for `ms`, through
   * the inspector SIGUSR1 opens. Resolves once the stall has begun.
   */
  async stallSidecar(ms: number): Promise<void> {
    if (!/Debugger listening/.test(this.sidecarLog)) {
      this.sidecar.kill('SIGUSR1');
      await eventually(async () => {
        if (!/Debugger listening/.test(this.sidecarLog)) throw new Error('the sidecar did not open its inspector');
      });
    }
    await this.net.exec(this.net.pod, process.execPath, [packagePath('test/fixtures/stall-event-loop.js'), String(ms)]);
  }

  /**
   * A volume of the app's: a tmpfs (with mount(8)'s `options`) at the app's `path`, in the
   * sidecar's mount namespace (ip netns exec gives it one of its own, which mounts made here
   * don't reach). `dir` is the volume as the sidecar sees it; `remount` changes its options.
   */
  async mountVolume(path: string, options: string): Promise<{ dir: string; remount(options: string): Promise<void>; unmount(): Promise<void> }> {
    const target = join(this.appRoot, path);
    mkdirSync(target, { recursive: true });
    await this.inSidecarMounts('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target]);
    return {
      dir: `/proc/${this.sidecar.pid}/root${target}`,
      remount: async (more) => void (await this.inSidecarMounts('mount', ['-o', `remount,${more}`, target])),
      unmount: async () => void (await this.inSidecarMounts('umount', [target])),
    };
  }

  /**
   * A volume of the app's that can be frozen (fsfreeze(8)): an 8 MiB ext4 image at the app's
   * `path`, in the sidecar's mount namespace. While frozen, whatever changes it waits, as on a
   * network volume whose server stopped answering.
   */
  async freezableVolume(path: string): Promise<{ freeze(): Promise<void>; thaw(): Promise<void>; unmount(): Promise<void> }> {
    const target = join(this.appRoot, path);
    const image = `${this.appRoot}.${path.replace(/\W/g, '_')}.ext4`;
    mkdirSync(target, { recursive: true });
    await run('truncate', ['-s', '8M', image]);
    await run('mkfs.ext4', ['-q', '-F', image]);
    await this.inSidecarMounts('mount', ['-o', 'loop', image, target]);
    return {
      freeze: async () => void (await this.inSidecarMounts('fsfreeze', ['-f', target])),
      thaw: async () => void (await this.inSidecarMounts('fsfreeze', ['-u', target])),
      unmount: async () => {
        await this.inSidecarMounts('umount', [target]);
        rmSync(image, { force: true });
      },
    };
  }

  private inSidecarMounts(command: string, args: string[]) {
    return run('nsenter', ['-t', String(this.sidecar.pid), '-m', command, ...args]);
  }

  /** The agent command a client (or the CLI's --agent-cmd) uses to reach this sidecar. */
  get agentCommand(): string {
    return `ip netns exec ${this.net.pod} socat -b 262144 - TCP:127.0.0.1:${AGENT_PORT}`;
  }

  /** A session over the agent command, as the CLI would open it. */
  async connect(options: ClientOptions = {}): Promise<Client> {
    return (await this.connectVia(options)).client;
  }

  /** The pod's network namespace for `--agent-netns`: the CLI connects to the sidecar there itself, no relay process. */
  get agentNetns(): string {
    return this.net.pod;
  }

  /** A session over a connection the CLI's --agent-netns transport makes (no relay process on its path). */
  async connectInNetns(options: ClientOptions = {}): Promise<Client> {
    const client = await Client.start(await connectInNetns(parseNetnsAgent(this.agentNetns)), { client: 'integration test', ...options });
    this.clients.add(client);
    return client;
  }

  /** A session and the agent command process that carries it. */
  async connectVia(options: ClientOptions = {}): Promise<{ client: Client; transport: CommandTransport }> {
    const transport = await connectThroughCommand(this.agentCommand);
    const client = await Client.start(transport.socket, { client: 'integration test', ...options });
    this.clients.add(client);
    return { client, transport };
  }

  /** Closes every session the test opened and waits until the pod has no rules of ours. */
  async closeClients(): Promise<void> {
    for (const client of this.clients) client.close();
    await Promise.all([...this.clients].map((client) => client.closed()));
    this.clients.clear();
    await eventually(async () => {
      const left = await this.sidecarRules();
      if (left.length) throw new Error(`rules left after the sessions closed:\n${left.join('\n')}`);
    });
  }

  /** The sidecar's rules in the pod, in every table, and its routing rules: none without a session. */
  sidecarRules(): Promise<string[]> {
    return this.net.sidecarRules(`0x${TRANSPARENT_MARK.toString(16)}`, TRANSPARENT_ROUTE_TABLE);
  }

  /** An HTTP request from the other workload to the pod's app port. */
  async request(path: string, headers: Record<string, string> = {}, extra: string[] = []): Promise<HttpAnswer> {
    const args = [
      '-sS',
      '-i',
      '--max-time',
      '10',
      ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
      ...extra,
      `http://${POD_IP}:${APP_PORT}${path}`,
    ];
    const { stdout } = await this.net.exec(this.net.workload, 'curl', args);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(stdout)?.[1] ?? 0);
    return { status, raw: stdout, body: stdout.split('\r\n\r\n').slice(1).join('\r\n\r\n') };
  }

  async stop(): Promise<void> {
    await this.net.destroy();
    rmSync(this.appRoot, { recursive: true, force: true });
  }
}

/** The "local process" of a test: an HTTP server on this machine answering `local ...`. */
export async function startLocalServer(): Promise<{ port: number; requests: string[]; close(): void }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    let size = 0;
    req.on('data', (chunk: Buffer) => (size += chunk.length));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      res.setHeader('x-served-by', 'local');
      res.end(`local ${req.method} ${req.url} body=${size}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, requests, close: () => server.close() };
}

/** Counts of what a forwarding client received. */
export interface IncomingCount {
  streams: number;
  bytes: number;
}

/**
 * Hands every incoming stream of `client` to a local port, as the CLI's proxy does; with
 * `unfilteredMirror` (the client mirrors without a filter), as it does for those copies too.
 */
export function forwardIncoming(client: Client, localPort: number, options: { unfilteredMirror?: boolean } = {}): IncomingCount {
  const seen: IncomingCount = { streams: 0, bytes: 0 };
  client.onIncoming(({ socket, mode }) => {
    seen.streams++;
    socket.on('data', (chunk: Buffer) => (seen.bytes += chunk.length));
    const local = net.connect({ host: '127.0.0.1', port: localPort, allowHalfOpen: true, noDelay: true });
    // As the CLI does for an unfiltered mirror (intproxy/incoming.ts): its answers are not sent back.
    if (mode === 'mirror' && options.unfilteredMirror) pipeOneWay(socket, local);
    else pipeBothWays(socket, local);
  });
  return seen;
}
