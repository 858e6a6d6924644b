/**
 * Incoming traffic for the app's listening sockets: the layer binds them to free local ports;
 * here each is subscribed as the port the app asked for (or its `port_mapping` remote port),
 * and each stolen or mirrored stream is connected to the app's real local port. The proxy
 * remembers which pod-side client each local connection stands for, so the layer's accept()
 * can report it.
 */
import net from 'node:net';
import { constants } from 'node:os';
import type { IncomingConnection, Session } from '../../protocol/client';
import type { HttpFilter } from '../../protocol/messages';
import { pipeBothWays } from '../../protocol/pipe';
import type { Logger } from '../../sidecar/log';
import { errnoNumber } from './errno';

export interface IncomingOptions {
  mode: 'steal' | 'mirror' | 'off';
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

export class IncomingPorts {
  /** remote port -> local port the app really listens on */
  private readonly targets = new Map<number, number>();
  /** local source port of our connection to the app -> who it stands for */
  private readonly peers = new Map<number, { remote: Endpoint; local: Endpoint }>();
  /** peer() calls that arrived before our side saw its connect complete */
  private readonly waiting = new Map<number, () => void>();

  constructor(
    private readonly client: Session,
    private readonly options: IncomingOptions,
    private readonly log: Logger,
  ) {
    client.onIncoming((incoming) => this.deliver(incoming));
  }

  remotePort(localPort: number): number {
    return this.options.portMapping.find(([local]) => local === localPort)?.[1] ?? localPort;
  }

  /** Whether a bind to `port` is intercepted. */
  intercepts(port: number): boolean {
    if (this.options.mode === 'off' || this.options.ignorePorts.includes(port)) return false;
    const remote = this.remotePort(port);
    return !this.options.ports || this.options.ports.includes(remote);
  }

  async listen(requestedPort: number, actualPort: number): Promise<string> {
    const remote = this.remotePort(requestedPort);
    const known = this.targets.has(remote);
    this.targets.set(remote, actualPort);
    if (known || this.options.mode === 'off') return 'ok';
    const filter = this.filterFor(remote);
    try {
      await this.client.subscribe(remote, this.options.mode, filter);
      this.log.info(`subscribed port ${remote} (${this.options.mode}${filter ? ', HTTP filter' : ''}) -> local port ${actualPort}`);
      return 'ok';
    } catch (error) {
      this.targets.delete(remote);
      this.log.error(`could not ${this.options.mode} port ${remote}: ${(error as Error).message}`);
      // The app's listen() fails as it would on a port someone else holds, so that it stops
      // instead of running as if it received the pod's traffic.
      const code = (error as { code?: string }).code;
      return `error\t${code === 'EPORTCONFLICT' ? constants.errno.EADDRINUSE : errnoNumber(code)}`;
    }
  }

  /** As mirrord: a steal filters the ports of http_filter.ports (all without it) and takes the others whole. */
  private filterFor(remote: number): HttpFilter | undefined {
    const { mode, httpFilter, httpFilterPorts } = this.options;
    if (mode !== 'steal' || !httpFilter) return undefined;
    return !httpFilterPorts || httpFilterPorts.includes(remote) ? httpFilter : undefined;
  }

  /**
   * Who the app's accepted connection from `localPort` stands for. The app can accept before
   * this process has handled its own connect completion, so a miss waits briefly for it.
   */
  async peer(localPort: number): Promise<string> {
    if (!this.peers.has(localPort)) {
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
    return peer ? `ok\t${peer.remote.address}\t${peer.remote.port}\t${peer.local.address}\t${peer.local.port}` : 'unknown';
  }

  private deliver({ socket, port, remote, local }: IncomingConnection): void {
    const target = this.targets.get(port);
    if (target === undefined) {
      socket.destroy();
      return;
    }
    const app = net.connect({ host: '127.0.0.1', port: target, allowHalfOpen: true, noDelay: true });
    app.once('connect', () => {
      const key = app.localPort!;
      this.peers.set(key, { remote, local });
      this.waiting.get(key)?.();
      app.once('close', () => this.peers.delete(key));
    });
    pipeBothWays(socket, app);
  }
}
