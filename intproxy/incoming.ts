/**
 * Incoming traffic for the app's listening sockets: the layer binds them to free local ports;
 * here each is subscribed as the port the app asked for (or its `port_mapping` remote port),
 * and each stolen or mirrored stream is connected to the app's real local port. The proxy
 * remembers which pod-side client each local connection stands for, so the layer's accept()
 * can report it.
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import type { IncomingConnection, ClientApi } from '../protocol/client';
import type { HttpFilter, Mode } from '../protocol/messages';
import { pipeBothWays, pipeOneWay } from '../protocol/pipe';
import type { Logger } from '../common/log';
import { isLoopback } from './address-filter';
import type { Reply } from './channel';
import { errorReply } from './errno';

export interface IncomingOptions {
  mode: Mode | 'off';
  httpFilter?: HttpFilter;
  /** The (remote) ports the HTTP filter applies to; the others are stolen whole. Absent: every port. */
  httpFilterPorts?: number[];
  portMapping: [number, number][];
  ports?: number[];
  ignorePorts: number[];
  /** A listener bound to a loopback address stays local (mirrord's incoming.ignore_localhost). */
  ignoreLocalhost?: boolean;
}

type Endpoint = { address: string; port: number };

/** How often the ports are checked for listeners that went away without a close (a child that exited). */
const SWEEP_MS = 1000;

export class IncomingPorts {
  /** remote port -> local port the app really listens on */
  private readonly targets = new Map<number, number>();
  /** local source port of our connection to the app -> who it stands for */
  private readonly peers = new Map<number, { remote: Endpoint; local: Endpoint }>();
  /** peer() calls that arrived before our side saw its connect complete */
  private readonly waiting = new Map<number, () => void>();
  /** connections to the app whose local port isn't known yet */
  private connecting = 0;
  private sweeper?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly client: ClientApi,
    private readonly options: IncomingOptions,
    private readonly log: Logger,
  ) {
    client.onIncoming((incoming) => this.deliver(incoming));
  }

  private remotePort(localPort: number): number {
    return this.options.portMapping.find(([local]) => local === localPort)?.[1] ?? localPort;
  }

  /** Whether a bind to `address`:`port` is intercepted. */
  intercepts(address: string, port: number): boolean {
    if (this.options.mode === 'off' || this.options.ignorePorts.includes(port)) return false;
    // incoming.ignore_localhost: a server bound to loopback is only for this machine.
    if (this.options.ignoreLocalhost && isLoopback(address)) return false;
    const remote = this.remotePort(port);
    return !this.options.ports || this.options.ports.includes(remote);
  }

  /** The local port the program listens on for `requestedPort`, when it does: its own connections go there. */
  listener(requestedPort: number): number | undefined {
    return this.targets.get(this.remotePort(requestedPort));
  }

  async listen(requestedPort: number, actualPort: number): Promise<Reply<'listen'>> {
    const remote = this.remotePort(requestedPort);
    const known = this.targets.has(remote);
    this.targets.set(remote, actualPort);
    this.sweeper ??= setInterval(() => void this.release(), SWEEP_MS).unref();
    if (known || this.options.mode === 'off') return { kind: 'ok' };
    const filter = this.filterFor(remote);
    try {
      await this.client.subscribe({ port: remote, mode: this.options.mode, filter });
      this.log.info(`subscribed port ${remote} (${this.options.mode}${filter ? ', HTTP filter' : ''}) -> local port ${actualPort}`);
      return { kind: 'ok' };
    } catch (error) {
      this.targets.delete(remote);
      this.log.error(`could not ${this.options.mode} port ${remote}: ${(error as Error).message}`);
      // The app's listen() fails (a port another session holds: EADDRINUSE), so that it stops
      // instead of running as if it received the pod's traffic.
      return errorReply(error);
    }
  }

  /** As mirrord: the filter applies to the ports of http_filter.ports (all without it); the others are stolen or mirrored whole. */
  private filterFor(remote: number): HttpFilter | undefined {
    const { mode, httpFilter, httpFilterPorts } = this.options;
    if (mode === 'off' || !httpFilter) return undefined;
    return !httpFilterPorts || httpFilterPorts.includes(remote) ? httpFilter : undefined;
  }

  /**
   * A descriptor of the listener for `requestedPort` was closed: once no socket listens on its
   * local port any more (a dup or a forked child's copy may), the pod's port is given back, so
   * the pod's clients reach the app again while the program goes on.
   */
  closed(requestedPort: number): Reply<'closed'> {
    // Not awaited: the program's close() must not wait on the pod (or on a reconnection).
    void this.release(this.remotePort(requestedPort));
    return { kind: 'ok' };
  }

  /** Unsubscribes the ports (or `only`) whose local port nothing listens on any more. */
  private async release(only?: number): Promise<void> {
    const candidates = [...this.targets].filter(([remote]) => only === undefined || remote === only);
    if (!candidates.length) return;
    const listening = await listeningPorts();
    for (const [remote, local] of candidates) {
      if (listening.has(local) || this.targets.get(remote) !== local) continue; // still served, or listened on again
      this.targets.delete(remote);
      if (!this.targets.size) this.pause();
      if (this.options.mode === 'off') continue;
      try {
        await this.client.unsubscribe(remote);
        this.log.info(`port ${remote} is no longer listened on: unsubscribed`);
      } catch (error) {
        // After stop() the session is ending, and takes its subscriptions with it.
        if (!this.stopped) this.log.warn(`could not unsubscribe port ${remote}: ${(error as Error).message}`);
      }
    }
  }

  /** The proxy is closing: no more sweeps, and a failed unsubscribe is the session ending. */
  stop(): void {
    this.stopped = true;
    this.pause();
  }

  private pause(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /**
   * Who the app's accepted connection from `localPort` stands for. The app can accept before
   * this process has handled its own connect completion, so a miss waits briefly for it.
   */
  async peer(localPort: number): Promise<Reply<'peer'>> {
    // With none of our connections under way, one we don't know is a local client's.
    if (!this.peers.has(localPort) && this.connecting > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiting.set(localPort, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.waiting.delete(localPort);
    }
    const peer = this.peers.get(localPort);
    return peer ? { kind: 'ok', client: peer.remote, pod: peer.local } : { kind: 'unknown' };
  }

  private deliver({ socket, port, remote, local, mode }: IncomingConnection): void {
    const target = this.targets.get(port);
    if (target === undefined) {
      socket.destroy();
      return;
    }
    const app = net.connect({ host: '127.0.0.1', port: target, allowHalfOpen: true, noDelay: true });
    this.connecting++;
    let counted = true;
    const settled = () => {
      if (counted) this.connecting--;
      counted = false;
    };
    app.once('close', settled);
    app.once('connect', () => {
      settled();
      const key = app.localPort!;
      this.peers.set(key, { remote, local });
      this.waiting.get(key)?.();
      app.once('close', () => this.peers.delete(key));
    });
    // A whole connection's mirrored copy: its answers would only be dropped by the sidecar, so they
    // are not sent back. (A filtered mirror's HTTP/2 copy needs the local server's frames: its
    // flow control.)
    if (mode === 'mirror' && !this.filterFor(port)) pipeOneWay(socket, app);
    else pipeBothWays(socket, app);
  }
}

/** The local TCP ports something listens on (this host's network namespace, IPv4 and IPv6). */
async function listeningPorts(): Promise<Set<number>> {
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === LISTEN && local) ports.add(parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
    }
  }
  return ports;
}

/** The TCP_LISTEN state in /proc/net/tcp. */
const LISTEN = '0A';
