/**
 * The sidecar: a WebSocket server on the pod's loopback, one Session per connection. At start
 * it removes rules a crashed predecessor left; at stop it ends every session and removes its own.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { CloseCode } from '../protocol/errors';
import { MAX_FRAME } from '../protocol/frame';
import { Peer } from '../protocol/peer';
import type { SidecarConfig } from './config';
import { openRoot } from './files';
import { IncomingRegistry } from './incoming/registry';
import { Iptables } from './incoming/iptables';
import type { Logger } from '../common/log';
import { LIMITS } from './limits';
import { Session } from './session';

export class Sidecar {
  private readonly sessions = new Set<Session>();

  private constructor(
    private readonly wss: WebSocketServer,
    private readonly incoming: IncomingRegistry,
    readonly port: number,
  ) {}

  static async start(config: SidecarConfig, log: Logger): Promise<Sidecar> {
    const iptables = new Iptables(config.chain, log.child({ component: 'iptables' }));
    const incoming = new IncomingRegistry(iptables, log.child({ component: 'incoming' }), [config.agentPort]);
    await incoming.start();
    const rootFd = openRoot(config.appRoot);
    if (rootFd instanceof Error) log.warn(`file operations will fail: ${rootFd.message}`);

    const wss = new WebSocketServer({ host: '127.0.0.1', port: config.agentPort, maxPayload: MAX_FRAME, perMessageDeflate: false });
    await Promise.race([once(wss, 'listening'), once(wss, 'error').then(([error]) => Promise.reject(error))]);
    const port = (wss.address() as AddressInfo).port;
    const sidecar = new Sidecar(wss, incoming, port);

    const context = { config, incoming, rootFd, log, sessions: () => [...sidecar.sessions] };
    wss.on('connection', (socket) => {
      socket.on('error', (error) => log.debug('session socket error', { error: error.message }));
      const pending = [...sidecar.sessions].filter((session) => !session.isStarted).length;
      if (pending >= LIMITS.pendingConnections) {
        log.warn('refused a connection: too many waiting for hello', { pending });
        socket.close(CloseCode.TryAgainLater, `${pending} connections are waiting for their hello: try again`);
        return;
      }
      const session = new Session(new Peer(socket, { role: 'sidecar', heartbeatMs: config.heartbeatMs }), context);
      sidecar.sessions.add(session);
      void session.ended.then(() => sidecar.sessions.delete(session));
    });
    log.info('sidecar listening', { address: `127.0.0.1:${port}`, appRoot: config.appRoot, mounts: config.appMounts, chain: config.chain });
    return sidecar;
  }

  /** Ends every session, removes every rule, stops listening. */
  async stop(reason = 'sidecar shutting down'): Promise<void> {
    const sessions = [...this.sessions];
    for (const session of sessions) session.end(CloseCode.Shutdown, reason);
    await Promise.allSettled(sessions.map((session) => session.ended));
    await this.incoming.stop();
    await new Promise((resolve) => this.wss.close(resolve));
  }
}
