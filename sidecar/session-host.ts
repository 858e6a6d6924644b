/**
 * Everything sessions need, loaded on the first session's upgrade and not before: the WebSocket
 * server, the protocol and its schemas, the incoming-traffic stack, the app's files and the
 * ticket checks. The sidecar sits in every pod of a labeled namespace and most of them are never
 * attached to, so an idle sidecar holds none of this (about 17 MiB; see docs/benchmarks.md).
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type VerifyClientCallbackAsync } from 'ws';
import type { Logger } from '../common/log';
import { CloseCode } from '../protocol/errors';
import { emptyBufferPool, MAX_FRAME } from '../protocol/frame';
import { Peer } from '../protocol/peer';
import { appViews } from './app-view';
import { TicketKeyring, TicketVerifier } from './auth';
import type { SidecarConfig } from './config';
import { AppCertificate } from './incoming/app-certificate';
import { PacketCapture } from './incoming/capture';
import type { DualStackIptables } from './incoming/dual-stack';
import { probedPorts } from './incoming/probes';
import { IncomingRegistry } from './incoming/registry';
import { LIMITS } from './limits';
import type { MemoryReclaimer } from './memory';
import { Session } from './session';
import { ThrottledLog } from './throttled-log';

export class SessionHost {
  private readonly sessions = new Set<Session>();
  private readonly wss: WebSocketServer;
  private readonly incoming: IncomingRegistry;
  /** Sessions opened since the sidecar started. */
  opened = 0;

  constructor(config: SidecarConfig, log: Logger, iptables: DualStackIptables, memory: MemoryReclaimer) {
    memory.beforeCollect = emptyBufferPool;
    const incomingLog = log.child({ component: 'incoming' });
    const certificate = config.tlsDir ? new AppCertificate(config.tlsDir, incomingLog) : undefined;
    this.incoming = new IncomingRegistry(
      iptables,
      incomingLog,
      [config.agentPort],
      probedPorts(config.probes),
      certificate,
      config.mirrorCapture ? new PacketCapture(incomingLog) : undefined,
    );
    const app = appViews(config, log.child({ component: 'app' }));
    const { auth } = config;
    const tickets =
      auth.mode === 'required'
        ? new TicketVerifier(new TicketKeyring(auth.keysFile, log.child({ component: 'auth' }), auth.inlineKeys), auth.podUid)
        : undefined;

    const refusals = new ThrottledLog(log, 1);
    // A flood of connections is refused before the WebSocket handshake, the cheapest point at
    // which the client can still be told why (an HTTP 503 with the reason).
    const verifyClient: VerifyClientCallbackAsync = (_info, accept) => {
      const pending = [...this.sessions].filter((session) => !session.isStarted).length;
      if (pending < LIMITS.pendingConnections) return accept(true);
      refusals.warn(`refused a connection: ${pending} are waiting for their hello`, { pending });
      accept(false, 503, `${pending} connections are waiting for their hello: try again`, { 'Retry-After': '1' });
    };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME, perMessageDeflate: false, verifyClient });

    const context = { config, incoming: this.incoming, app, log, tickets, sessions: () => [...this.sessions] };
    this.wss.on('connection', (socket) => {
      socket.on('error', (error) => log.debug('session socket error', { error: error.message }));
      const session = new Session(new Peer(socket, { role: 'sidecar', heartbeatMs: config.heartbeatMs }), context);
      this.sessions.add(session);
      memory.watch(this.sessions.size);
      this.opened++;
      void session.ended.then(() => {
        this.sessions.delete(session);
        memory.watch(this.sessions.size);
        memory.reclaimSoon();
      });
    });
  }

  get count(): number {
    return this.sessions.size;
  }

  upgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(request, socket, head, (ws) => this.wss.emit('connection', ws, request));
  }

  /** Ends every session, then removes every rule. */
  async stop(reason: string): Promise<void> {
    const sessions = [...this.sessions];
    for (const session of sessions) session.end(CloseCode.Shutdown, reason);
    await Promise.allSettled(sessions.map((session) => session.ended));
    await this.incoming.stop();
    await new Promise((resolve) => this.wss.close(resolve));
  }
}
