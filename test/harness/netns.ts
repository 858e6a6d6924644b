/**
 * A pod made of network namespaces, for integration tests:
 *
 *   workload (198.18.0.2) ──veth── pod (198.18.0.1 | 198.18.1.1) ──veth── service (198.18.1.2)
 *
 * The pod holds the app and the sidecar; the workload plays another workload in the cluster
 * that calls the pod; the service is reachable from the pod only (the workload and the host
 * have no route to it). The pod gets its own /etc/hosts and /etc/resolv.conf through
 * /etc/netns/<pod>/, so `db.internal` resolves inside it and nowhere else. The host namespace
 * gets an `unreachable` route for 198.18.0.0/15 so a failed interception errors at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { run } from './run';

export const TEST_RANGE = '198.18.0.0/15';
/** IPv6's benchmarking range (RFC 5180), as 198.18.0.0/15 is IPv4's: never routed off the machine. */
export const TEST_RANGE6 = '2001:2::/48';
export const POD_IP6 = '2001:2::1';
export const WORKLOAD_IP6 = '2001:2::2';
export const POD_SERVICE_SIDE_IP6 = '2001:2:1::1';
export const SERVICE_IP6 = '2001:2:1::2';
export const POD_IP = '198.18.0.1';
export const WORKLOAD_IP = '198.18.0.2';
export const POD_SERVICE_SIDE_IP = '198.18.1.1';
export const SERVICE_IP = '198.18.1.2';
export const SERVICE_NAME = 'db.internal';
/** lossyClient's addresses: the pod's side of the router, the router's two sides, the far client. */
export const POD_ROUTER_SIDE_IP = '198.18.2.1';
export const ROUTER_POD_SIDE_IP = '198.18.2.2';
export const ROUTER_CLIENT_SIDE_IP = '198.18.3.1';
export const FAR_CLIENT_IP = '198.18.3.2';
/** The pod's host name, which its /etc/hosts lists, as kubelet writes it. */
export const POD_HOSTNAME = 'test-pod-7f9c';

let counter = 0;

export class PodNet {
  readonly pod: string;
  readonly workload: string;
  readonly service: string;
  private readonly children = new Set<ChildProcess>();
  /** Namespaces tests added (lossyClient), removed with the others. */
  private readonly extra: string[] = [];

  private constructor(private readonly prefix: string) {
    this.pod = `${prefix}-pod`;
    this.workload = `${prefix}-wl`;
    this.service = `${prefix}-svc`;
  }

  static async create(): Promise<PodNet> {
    if (process.getuid?.() !== 0) throw new Error('the pod harness needs root: it creates network namespaces and iptables rules');
    const net = new PodNet(`mt${process.pid}x${counter++}`);
    try {
      await net.setUp();
    } catch (error) {
      await net.destroy();
      throw error;
    }
    return net;
  }

  private async setUp(): Promise<void> {
    await run('ip', ['route', 'replace', 'unreachable', TEST_RANGE]);
    await run('ip', ['-6', 'route', 'replace', 'unreachable', TEST_RANGE6]);
    for (const ns of [this.pod, this.workload, this.service]) {
      await run('ip', ['netns', 'add', ns]);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // Dual-stack, as a dual-stack cluster's pods are.
    await this.link(this.pod, 'eth0', `${POD_IP}/24`, this.workload, 'eth0', `${WORKLOAD_IP}/24`, [`${POD_IP6}/64`, `${WORKLOAD_IP6}/64`]);
    await this.link(this.pod, 'svc0', `${POD_SERVICE_SIDE_IP}/24`, this.service, 'eth0', `${SERVICE_IP}/24`, [
      `${POD_SERVICE_SIDE_IP6}/64`,
      `${SERVICE_IP6}/64`,
    ]);
    const etc = `/etc/netns/${this.pod}`;
    mkdirSync(etc, { recursive: true });
    writeFileSync(`${etc}/hosts`, `127.0.0.1 localhost\n${POD_IP} pod ${POD_HOSTNAME}\n${SERVICE_IP} ${SERVICE_NAME}\n`);
    writeFileSync(`${etc}/resolv.conf`, `nameserver ${SERVICE_IP}\noptions timeout:1 attempts:1\n`);
  }

  private async link(nsA: string, ifA: string, ipA: string, nsB: string, ifB: string, ipB: string, ipv6?: [string, string]): Promise<void> {
    await run('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    await run('ip', ['-n', nsA, 'addr', 'add', ipA, 'dev', ifA]);
    await run('ip', ['-n', nsB, 'addr', 'add', ipB, 'dev', ifB]);
    if (ipv6) {
      // nodad: usable at once, not after duplicate address detection's second or so.
      await run('ip', ['-n', nsA, '-6', 'addr', 'add', ipv6[0], 'dev', ifA, 'nodad']);
      await run('ip', ['-n', nsB, '-6', 'addr', 'add', ipv6[1], 'dev', ifB, 'nodad']);
    }
    await run('ip', ['-n', nsA, 'link', 'set', ifA, 'up']);
    await run('ip', ['-n', nsB, 'link', 'set', ifB, 'up']);
  }

  /** Runs a command to completion inside a namespace. */
  exec(ns: string, command: string, args: string[], options?: { input?: string; timeoutMs?: number }) {
    return run('ip', ['netns', 'exec', ns, command, ...args], options);
  }

  /** Starts a long-running process inside a namespace; killed by destroy(). */
  spawn(ns: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** `iptables-save -t nat` inside the pod. */
  async natRules(): Promise<string> {
    return (await this.exec(this.pod, 'iptables-save', ['-t', 'nat'])).stdout;
  }

  /**
   * Every rule of the sidecar's in the pod, one a line, in any table, and its routing rules and
   * routes (transparent pass-through): empty when a pod has none.
   */
  async sidecarRules(mark: string, routeTable: string): Promise<string[]> {
    const lines = async (command: string, args: string[]) =>
      (await this.exec(this.pod, command, args).catch(() => ({ stdout: '' }))).stdout.split('\n').filter((line) => line.trim());
    const ours = (line: string) => line.includes('MIRRORD') || line.includes(mark);
    return [
      ...(await lines('iptables-save', [])).filter(ours),
      ...(await lines('ip6tables-save', [])).filter(ours).map((line) => `ip6tables: ${line}`),
      ...(await lines('ip', ['-4', 'rule'])).filter((line) => line.includes(mark)),
      ...(await lines('ip', ['-6', 'rule'])).filter((line) => line.includes(mark)).map((line) => `ip -6: ${line}`),
      // A table that doesn't exist fails to list: no routes.
      ...(await lines('ip', ['-4', 'route', 'show', 'table', routeTable])).map((line) => `table ${routeTable}: ${line}`),
      ...(await lines('ip', ['-6', 'route', 'show', 'table', routeTable])).map((line) => `ip -6 table ${routeTable}: ${line}`),
    ];
  }

  /**
   * A client namespace one router away from the pod (FAR_CLIENT_IP), the router dropping
   * `lossRate` of the packets it forwards to the pod: lost on the way as on a real network, so the
   * client's TCP sends them again later (a drop in the client's own namespace would only make it
   * retry at once). Returns the client's namespace.
   */
  async lossyClient(lossRate: number): Promise<string> {
    const router = `${this.prefix}-rt`;
    const far = `${this.prefix}-far`;
    for (const ns of [router, far]) {
      await run('ip', ['netns', 'add', ns]);
      this.extra.push(ns);
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await this.link(this.pod, 'far0', `${POD_ROUTER_SIDE_IP}/24`, router, 'eth0', `${ROUTER_POD_SIDE_IP}/24`);
    await this.link(router, 'eth1', `${ROUTER_CLIENT_SIDE_IP}/24`, far, 'eth0', `${FAR_CLIENT_IP}/24`);
    await run('ip', ['-n', this.pod, 'route', 'add', `${FAR_CLIENT_IP}/32`, 'via', ROUTER_POD_SIDE_IP]);
    await run('ip', ['-n', far, 'route', 'add', 'default', 'via', ROUTER_CLIENT_SIDE_IP]);
    await run('ip', ['-n', router, 'route', 'add', `${POD_IP}/32`, 'via', POD_ROUTER_SIDE_IP]);
    await this.exec(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const drop = ['-o', 'eth0', '-m', 'statistic', '--mode', 'random', '--probability', String(lossRate), '-j', 'DROP'];
    await this.exec(router, 'iptables', ['-w', '5', '-A', 'FORWARD', ...drop]);
    return far;
  }

  async destroy(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    for (const ns of [this.pod, this.workload, this.service, ...this.extra]) {
      const pids = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
    rmSync(`/etc/netns/${this.pod}`, { recursive: true, force: true });
  }
}

/** Resolves with the first stderr/stdout line matching `pattern`, or rejects on exit/timeout. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) finish(() => resolve(line));
    };
    const onExit = (code: number | null) => finish(() => reject(new Error(`process exited (${code}) before printing ${pattern}:\n${seen}`)));
    const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${pattern}:\n${seen}`))), timeoutMs);
    const finish = (done: () => void) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      done();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}
