/**
 * The sidecar: a WebSocket server on the pod's loopback, one Session per connection. At start
 * it removes rules a crashed predecessor left; at stop it ends every session and removes its own.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type VerifyClientCallbackAsync } from 'ws';
import { CloseCode } from '../protocol/errors';
import { MAX_FRAME } from '../protocol/frame';
import { Peer } from '../protocol/peer';
import type { SidecarConfig } from './config';
import { appViews } from './app-view';
import { healthListener } from './health';
import { probedPorts } from './incoming/probes';
import { AppCertificate } from './incoming/app-certificate';
import { IncomingRegistry } from './incoming/registry';
import { Iptables } from './incoming/iptables';
import type { Logger } from '../common/log';
import { LIMITS } from './limits';
import { Session } from './session';
import { ThrottledLog } from './throttled-log';
import { MemoryReclaimer } from './memory';
import { Watchdog } from './watchdog';
import { TicketKeyring, TicketVerifier } from './auth';

export class Sidecar {
  private keyring: TicketKeyring | undefined;
  private constructor(
    private readonly sessions: Set<Session>,
    private readonly server: http.Server,
    private readonly wss: WebSocketServer,
    private readonly incoming: IncomingRegistry,
    private readonly watchdog: Watchdog,
    private readonly memory: MemoryReclaimer,
    readonly port: number,
  ) {}

  static async start(config: SidecarConfig, log: Logger): Promise<Sidecar> {
    const iptables = new Iptables(config.chain, log.child({ component: 'iptables' }), config.iptables);
    const incomingLog = log.child({ component: 'incoming' });
    const certificate = config.tlsDir ? new AppCertificate(config.tlsDir, incomingLog) : undefined;
    const incoming = new IncomingRegistry(iptables, incomingLog, [config.agentPort], probedPorts(config.probes), certificate);
    await incoming.start();
    const app = appViews(config, log.child({ component: 'app' }));

    const watchdog = new Watchdog({
      stallMs: config.watchdogMs,
      iptables: config.iptables,
      chain: config.chain,
      onRecovered: () => restoreJump(iptables, log),
    });
    const sessions = new Set<Session>();
    let opened = 0;
    const memory = new MemoryReclaimer(log.child({ component: 'memory' }));
    // Connections that never complete a request (nor upgrade) must not linger: a few seconds for the headers.
    const server = http.createServer(
      { headersTimeout: LIMITS.helloTimeoutMs, requestTimeout: LIMITS.helloTimeoutMs },
      healthListener(() => ({ sessions: sessions.size, opened, loopDelayMs: watchdog.takeWorstDelayMs() })),
    );
    const waiting = () => [...sessions].filter((session) => !session.isStarted).length;
    const refusals = new ThrottledLog(log, 1);
    // A flood of connections is refused before the WebSocket handshake, the cheapest point at
    // which the client can still be told why (an HTTP 503 with the reason).
    const verifyClient: VerifyClientCallbackAsync = (_info, accept) => {
      const pending = waiting();
      if (pending < LIMITS.pendingConnections) return accept(true);
      refusals.warn(`refused a connection: ${pending} are waiting for their hello`, { pending });
      accept(false, 503, `${pending} connections are waiting for their hello: try again`, { 'Retry-After': '1' });
    };
    const wss = new WebSocketServer({ server, maxPayload: MAX_FRAME, perMessageDeflate: false, verifyClient });
    server.listen(config.agentPort, '127.0.0.1');
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
    } catch (error) {
      watchdog.stop();
      memory.stop();
      throw error;
    }
    const port = (server.address() as AddressInfo).port;
    const keyring =
      config.auth.mode === 'required' ? new TicketKeyring(config.auth.keysFile, log.child({ component: 'auth' }), config.auth.inlineKeys) : undefined;
    const tickets = keyring && config.auth.mode === 'required' ? new TicketVerifier(keyring, config.auth.podUid) : undefined;
    const sidecar = new Sidecar(sessions, server, wss, incoming, watchdog, memory, port);
    sidecar.keyring = keyring;

    const context = { config, incoming, app, log, tickets, sessions: () => [...sessions] };
    wss.on('connection', (socket) => {
      socket.on('error', (error) => log.debug('session socket error', { error: error.message }));
      const session = new Session(new Peer(socket, { role: 'sidecar', heartbeatMs: config.heartbeatMs }), context);
      sessions.add(session);
      opened++;
      void session.ended.then(() => {
        sessions.delete(session);
        memory.reclaimSoon();
      });
    });
    log.info('sidecar listening', {
      address: `127.0.0.1:${port}`,
      appRoot: config.appRoot,
      mounts: config.appMounts,
      wholeRoot: config.wholeRoot,
      wholeContainer: config.wholeContainer,
      chain: config.chain,
      auth: config.auth.mode,
    });
    return sidecar;
  }

  /** Ends every session, removes every rule, stops listening. */
  async stop(reason = 'sidecar shutting down'): Promise<void> {
    const sessions = [...this.sessions];
    for (const session of sessions) session.end(CloseCode.Shutdown, reason);
    await Promise.allSettled(sessions.map((session) => session.ended));
    await this.incoming.stop();
    this.watchdog.stop();
    this.memory.stop();
    this.keyring?.stop();
    await new Promise((resolve) => this.wss.close(resolve));
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Puts the jump back after a stall, trying again each second until it is back or no longer wanted. */
function restoreJump(iptables: Iptables, log: Logger): void {
  iptables.restoreJump().catch((error: Error) => {
    log.error(`could not restore the jump after a stall (trying again in 1 s): ${error.message}`);
    setTimeout(() => restoreJump(iptables, log), 1000).unref();
  });
}
