/**
 * Filtered steal: the connections of a port stolen with HTTP filters are parsed as HTTP/1.x; each
 * request that matches a session's filter (first subscriber first) goes to that session over the
 * keep-alive pool, the others to the app over keep-alive connections of its own. WebSocket
 * upgrades are routed the same way; an h2c upgrade turns the connection into a filtered HTTP/2 one.
 * HTTPS is filtered the same way when the pod gives the sidecar the app's certificate: the
 * client's TLS ends here, the app is reached over TLS again, the session in cleartext.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex, Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import type { MuxStream } from '../../protocol/stream';
import type { Logger } from '../../common/log';
import { ANNOTATION } from '../../common/pod-contract';
import { replayedSocket } from '../../common/replayed-socket';
import type { AppCertificate } from './app-certificate';
import type { Origin } from './origin';
import { H2FilteredSteal, type AppTls } from './h2-filtered-steal';
import { isH2cUpgrade, SWITCHING_TO_H2C, upgradedRequestFrame } from './h2c-upgrade';
import { hasJsonBody, whenFilterable } from './body';
import { connectToApp, passThrough } from './pass-through';
import { protocolOf } from './sniff';
import { steal } from './steal';
import { isKubeletProbe, type ProbedPaths } from './probes';
import { StreamAgent } from './stream-agent';
import { StreamPool } from './stream-pool';
import { warnOnce, type IncomingSink, type Subscriber } from './subscriber';

/** How long a connection on a filtered port may stay silent before it goes to the app as is. */
const FIRST_BYTES_TIMEOUT_MS = 1000;
/** Where the proxy sends a stolen request: the agent's stream decides, the host is never looked up. */
const SESSION_TARGET = 'http://mirrord-session';
/** How long a client whose TLS is terminated here may take to finish its handshake (and the app, asked what it speaks). */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long what the app agrees to over TLS is taken as known. */
const APP_PROTOCOLS_MS = 60_000;

export class FilteredSteal {
  private readonly http: http.Server;
  private readonly proxy = httpProxy.createProxyServer({ xfwd: false });
  /**
   * Each client connection's own way to the app (one kept-alive connection, made from the
   * client's address where the pod allows it: the app sees who called), closed with it.
   */
  private readonly appAgents = new WeakMap<net.Socket, http.Agent>();
  /** To the app over TLS, for the clients whose TLS was terminated here: the app is in the pod, its certificate is not checked. */
  /** The decrypted sides of the client connections whose TLS was terminated here, with the name each asked for (SNI). */
  private readonly secured = new WeakMap<net.Socket, AppTls>();
  /** What the app agrees to over TLS (appProtocols), and when it was asked. */
  private appAlpn?: { at: number; protocols: Promise<string[]> };
  /** The sessions told that TLS connections on this port reach the app unfiltered. */
  private readonly toldUnfiltered = new WeakSet<IncomingSink>();
  private readonly pool = new StreamPool((req, thief) => this.openRequestStream(req, thief));
  private readonly h2: H2FilteredSteal;
  /** Where each connection handed to the HTTP parser came from and was going. */
  private readonly origins = new WeakMap<net.Socket, Origin>();
  /** the request each client request was proxied as */
  private readonly sent = new WeakMap<http.IncomingMessage, http.ClientRequest>();

  constructor(
    private readonly port: number,
    /** The port's subscribers, all steals (the registry keeps them); read per request. One without a filter takes every request. */
    private readonly stealers: readonly Subscriber[],
    private readonly log: Logger,
    /** kubelet's HTTP probe paths on this port: their requests always go to the app. */
    private readonly probed?: ProbedPaths,
    /** The certificate the app serves, when the pod gave it: TLS connections are then terminated and filtered. */
    private readonly certificate?: AppCertificate,
  ) {
    this.h2 = new H2FilteredSteal(stealers, log);
    this.http = http.createServer({ keepAliveTimeout: 60_000 });
    this.http.on('request', (req, res) => this.routeRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => this.routeUpgrade(req, socket as net.Socket, head));
    this.http.on('clientError', (_error, socket) => socket.destroy());
    this.proxy.on('error', (error, _req, res) => this.proxyFailed(error, res));
    this.proxy.on('proxyReq', (proxyReq, req) => this.sent.set(req, proxyReq));
    this.proxy.on('proxyRes', (answer) => StreamAgent.heard(answer));
  }

  /**
   * HTTP/1.x connections are parsed here, HTTP/2 ones (h2c with prior knowledge) by
   * H2FilteredSteal, TLS ones once decrypted with the app's certificate (when the pod gives it;
   * without, they go to the app untouched and the sessions are told); a connection of another
   * protocol (a server-speaks-first one that sends nothing) goes to the app untouched. Where a
   * session steals the port without a filter (a probed port: its HTTP/1.x requests come here so
   * kubelet's reach the app), a connection that is not HTTP/1.x goes to that session whole, as on
   * any other port.
   */
  accept(socket: net.Socket, origin: Origin): void {
    this.origins.set(socket, origin);
    let decided = false;
    const decide = (chunk?: Buffer) => {
      if (decided) return;
      decided = true;
      clearTimeout(timer);
      socket.off('data', decide);
      socket.pause();
      if (chunk) socket.unshift(chunk);
      const protocol = protocolOf(chunk);
      if (protocol === 'http1') this.http.emit('connection', socket);
      else if (this.stealWhole(socket, origin)) {
        // taken whole by the session that steals the port without a filter
      } else if (protocol === 'h2') this.h2.accept(socket, origin);
      else if (protocol !== 'tls' || !this.terminateTls(socket, origin)) {
        if (protocol === 'tls') this.tellUnfiltered();
        passThrough(socket, origin, this.log);
      }
      socket.resume();
    };
    const timer = setTimeout(() => decide(), FIRST_BYTES_TIMEOUT_MS);
    socket.on('data', decide);
    socket.once('close', () => clearTimeout(timer));
  }

  /**
   * Terminates a client's TLS with the app's certificate and routes what it carries as any other
   * connection (HTTP/2 when the client and the sidecar agree on it by ALPN, else HTTP/1.x); false
   * when there is no usable certificate. A client that doesn't finish its handshake within
   * HANDSHAKE_TIMEOUT_MS is dropped.
   */
  private terminateTls(socket: net.Socket, origin: Origin): boolean {
    const secureContext = this.certificate?.current();
    if (!secureContext) return false;
    // What the client sends meanwhile waits in the replayed socket (bounded: it pauses the socket).
    const client = replayedSocket(socket);
    void this.appProtocols(origin).then((ALPNProtocols) => socket.destroyed || this.handshake(socket, client, origin, secureContext, ALPNProtocols));
    return true;
  }

  /**
   * The protocols offered to a client by ALPN: HTTP/2 only when the app agrees to it over TLS
   * (a client that can speak it would otherwise pick it, and an HTTP/1.1-only app could not be
   * reached with its requests). Asked of the app once per APP_PROTOCOLS_MS.
   */
  private appProtocols(origin: Origin): Promise<string[]> {
    const known = this.appAlpn;
    if (known && Date.now() - known.at < APP_PROTOCOLS_MS) return known.protocols;
    const protocols = new Promise<string[]>((resolve) => {
      const { address, port } = origin.local;
      const probe = tls.connect({ host: address, port, ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false, timeout: HANDSHAKE_TIMEOUT_MS });
      const settle = (h2: boolean) => {
        probe.destroy();
        resolve(h2 ? ['h2', 'http/1.1'] : ['http/1.1']);
      };
      probe.once('secureConnect', () => settle(probe.alpnProtocol === 'h2'));
      probe.once('error', () => settle(false));
      probe.once('timeout', () => settle(false));
    });
    this.appAlpn = { at: Date.now(), protocols };
    return protocols;
  }

  private handshake(socket: net.Socket, client: Duplex, origin: Origin, secureContext: tls.SecureContext, ALPNProtocols: string[]): void {
    const secure = new tls.TLSSocket(client, { isServer: true, secureContext, ALPNProtocols });
    const timer = setTimeout(() => secure.destroy(), HANDSHAKE_TIMEOUT_MS);
    secure.on('error', (error) => this.log.debug('TLS from a client failed', { port: this.port, error: error.message }));
    secure.once('close', () => {
      clearTimeout(timer);
      socket.destroy();
    });
    secure.once('secure', () => {
      clearTimeout(timer);
      const appTls = { servername: secure.servername || undefined };
      this.origins.set(secure, origin);
      this.secured.set(secure, appTls);
      if (secure.alpnProtocol === 'h2') this.h2.accept(secure, origin, { appTls });
      else this.http.emit('connection', secure);
    });
  }

  /** Tells each stealing session, once, that a TLS connection went to the app unfiltered, and why. */
  private tellUnfiltered(): void {
    const why = this.certificate
      ? this.certificate.why()
      : `the pod gives the sidecar no certificate to read it with (annotate it with ${ANNOTATION.tlsSecret}: a kubernetes.io/tls Secret of the app's certificate)`;
    warnOnce(
      this.toldUnfiltered,
      this.stealers.map((s) => s.sink),
      `a TLS connection on port ${this.port} reached the app unfiltered: ${why}`,
    );
  }

  /** Parses no new connections; those already parsed keep flowing until they end. */
  close(): void {
    this.http.close();
  }

  private routeRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    whenFilterable(req, hasJsonBody(req.rawHeaders), this.stealers, (body, replay) => this.routeRead(req, res, body, replay));
  }

  /** `body`: the request's body when it was read (`replay` sends it on in place of the request stream). */
  private routeRead(req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer, replay?: Readable): void {
    const thief = this.thiefOf(req, body);
    const buffer = replay && { buffer: replay };
    if (!thief) return void this.proxy.web(req, res, { ...this.toApp(req), ...buffer });
    this.proxy.web(req, res, { target: SESSION_TARGET, agent: this.pool.agentFor(req, thief), ...buffer }, (error) => {
      // A kept-alive stream the local server closed while this request was on its way fails
      // before any answer; a request that can be sent again goes once more, on a new stream.
      if (!this.sent.get(req)?.reusedSocket || res.headersSent || !canResend(req)) return this.proxyFailed(error, res);
      this.proxy.web(req, res, { target: SESSION_TARGET, agent: this.pool.oneOff(req, thief) }, (again) => this.proxyFailed(again, res));
    });
  }

  private routeUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    socket.on('error', () => undefined);
    // (Over TLS, HTTP/2 is agreed by ALPN, never by an h2c upgrade.)
    const request = !this.secured.has(socket) && isH2cUpgrade(req) ? upgradedRequestFrame(req) : undefined;
    if (request) return this.upgradeToH2(req, socket, head, request);
    this.routeWholeUpgrade(req, socket, head);
  }

  /**
   * An h2c `Upgrade` the app would accept (it answers HTTP/2) is accepted here, and the connection
   * is filtered request by request as HTTP/2; to an app that doesn't speak HTTP/2 it goes as any
   * upgrade, and the app answers it over HTTP/1.1.
   */
  private upgradeToH2(req: http.IncomingMessage, socket: net.Socket, head: Buffer, request: Buffer): void {
    const origin = this.origins.get(socket)!;
    socket.pause();
    void this.h2.connectApp(origin).then((app) => {
      if (socket.destroyed) return void app?.destroy();
      if (!app) return this.routeWholeUpgrade(req, socket, head);
      socket.write(SWITCHING_TO_H2C);
      this.h2.accept(socket, origin, { upgraded: { head, request, app } });
    });
  }

  /** An upgraded connection goes whole where its first request goes. */
  private routeWholeUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const thief = this.thiefOf(req);
    // An upgraded connection keeps its stream to itself: a one-off agent, never pooled.
    if (thief) this.proxy.ws(req, socket, head, { target: SESSION_TARGET, agent: this.pool.oneOff(req, thief) });
    else this.proxy.ws(req, socket, head, this.toApp(req));
  }

  /** A connection that isn't HTTP/1.x, to the session that steals the port without a filter; false when there is none. */
  private stealWhole(socket: net.Socket, origin: Origin): boolean {
    const thief = this.stealers.find((s) => s.mode === 'steal' && !s.matches && s.sink.answering);
    return thief !== undefined && steal(socket, origin, thief.sink);
  }

  private thiefOf(req: http.IncomingMessage, body?: Buffer): Subscriber | undefined {
    if (isKubeletProbe(req, this.probed)) return undefined;
    return this.stealers.find((s) => s.mode === 'steal' && s.sink.answering && (s.matches?.(req, body) ?? true));
  }

  private openRequestStream(req: http.IncomingMessage, thief: Subscriber): MuxStream | undefined {
    return thief.sink.openIncoming({
      ...this.origins.get(req.socket)!,
      mode: 'steal',
      kind: 'request',
      request: { method: req.method ?? '', path: req.url ?? '' },
    });
  }

  /** Where and how a request goes to the app: at its original destination, over TLS when its client's TLS was terminated here. */
  private toApp(req: http.IncomingMessage): httpProxy.ServerOptions {
    const app = this.origins.get(req.socket)!.local;
    const host = net.isIPv6(app.address) ? `[${app.address}]` : app.address;
    if (!this.secured.has(req.socket)) return { target: `http://${host}:${app.port}`, agent: this.appAgentOf(req.socket) };
    // The app's certificate is not checked (the app is in the pod); SNI is the Host the client asked for.
    return { target: `https://${host}:${app.port}`, agent: this.appAgentOf(req.socket, 'tls'), secure: false };
  }

  /** `overTls`: to the app over TLS, for a client whose TLS was terminated here (the app is in the pod: its certificate is not checked). */
  private appAgentOf(client: net.Socket, overTls?: 'tls'): http.Agent {
    let agent = this.appAgents.get(client);
    if (!agent) {
      const origin = this.origins.get(client)!;
      if (overTls) {
        agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
        agent.createConnection = (options: tls.ConnectionOptions) => tls.connect({ ...options, socket: connectToApp(origin, this.log) });
      } else {
        agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        agent.createConnection = () => connectToApp(origin, this.log);
      }
      this.appAgents.set(client, agent);
      client.once('close', () => agent!.destroy());
    }
    return agent;
  }

  private proxyFailed(error: Error, res: http.ServerResponse | net.Socket): void {
    this.log.debug('proxied request failed', { port: this.port, error: error.message });
    if (res instanceof http.ServerResponse) {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain', connection: 'close' });
      res.end(`mirrord: ${error.message}\n`);
    } else {
      res.destroy();
    }
  }
}

/** Safe to send again: a method without side effects, and no body (which was already read). */
function canResend(req: http.IncomingMessage): boolean {
  return ['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? '') && !req.headers['content-length'] && !req.headers['transfer-encoding'];
}
