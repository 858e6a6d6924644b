/**
 * One intercepted port: a listener that receives the connections iptables REDIRECTs to it,
 * and decides per connection (or, with HTTP filters, per request) where the bytes go:
 * to a stealing session, to the app with copies for mirroring sessions, or to the app alone.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import httpProxy from 'http-proxy';
import type { Event, HttpFilter } from '../../protocol/messages';
import type { MuxStream } from '../../protocol/stream';
import type { Logger } from '../../common/log';
import { native } from '../native';
import { pipeBothWays } from '../../protocol/pipe';
import type { RequestMatcher } from './filter';

export type IncomingMeta = Omit<Event<'incoming'>, 'stream'>;

/** A session, as incoming traffic sees it. */
export interface IncomingSink {
  readonly id: string;
  /** A new stream announced to the client, or undefined when the session is gone. */
  openIncoming(meta: IncomingMeta): MuxStream | undefined;
  notice(level: 'info' | 'warn', message: string): void;
}

export interface Subscription {
  sink: IncomingSink;
  mode: 'steal' | 'mirror';
  filter?: HttpFilter;
  matches?: RequestMatcher;
}

type Address = { address: string; port: number };
/** A redirected connection, as its events describe it. */
type Origin = Omit<IncomingMeta, 'mode' | 'kind'>;

const HTTP_REQUEST_START = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE|PRI) /;
/** How long a connection on a filtered port may stay silent before it goes to the app as is. */
const FIRST_BYTES_TIMEOUT_MS = 1000;

export class PortInterceptor {
  readonly subscriptions: Subscription[] = [];
  private readonly server: net.Server;
  private readonly http: http.Server;
  private readonly proxy = httpProxy.createProxyServer({ xfwd: false });
  private readonly appAgent = new http.Agent({ keepAlive: true });
  /** Where each connection handed to the HTTP parser came from and was going. */
  private readonly origins = new WeakMap<net.Socket, Origin>();
  /** per client connection, the agent of each session that stole requests from it */
  private readonly requestAgents = new WeakMap<net.Socket, Map<Subscription, StreamAgent>>();
  /** the request each client request was proxied as */
  private readonly sent = new WeakMap<http.IncomingMessage, http.ClientRequest>();

  constructor(
    readonly port: number,
    private readonly log: Logger,
    /** Told of every redirected connection, so NAT state outlives the rule while it flows. */
    private readonly track: (socket: net.Socket) => void,
  ) {
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    this.http = http.createServer({ keepAliveTimeout: 60_000 });
    this.http.on('request', (req, res) => this.routeRequest(req, res));
    this.http.on('upgrade', (req, socket, head) => this.routeUpgrade(req, socket as net.Socket, head));
    this.http.on('clientError', (_error, socket) => socket.destroy());
    this.proxy.on('error', (error, _req, res) => this.proxyFailed(error, res));
    this.proxy.on('proxyReq', (proxyReq, req) => this.sent.set(req, proxyReq));
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

  /** Opens the listener; returns its port, the REDIRECT target. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '0.0.0.0', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Stops accepting; connections already here keep flowing until they end. */
  close(): void {
    this.server.close();
    this.http.close();
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    this.track(socket);
    const origin: Origin = {
      port: this.port,
      remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
      local: this.originalDestination(socket),
    };
    const thief = this.subscriptions.find((s) => s.mode === 'steal' && !s.matches);
    if (thief) {
      const stream = thief.sink.openIncoming({ ...origin, mode: 'steal', kind: 'connection' });
      if (stream) return pipeBothWays(socket, stream);
    } else if (this.subscriptions.some((s) => s.mode === 'steal')) {
      this.origins.set(socket, origin);
      return this.routeByFirstBytes(socket, origin);
    }
    this.passThrough(socket, origin);
  }

  /**
   * Filters only apply to HTTP/1.x: a connection whose first bytes aren't a request line (another
   * protocol, TLS, a server-speaks-first protocol that sends nothing) goes to the app untouched.
   */
  private routeByFirstBytes(socket: net.Socket, origin: Origin): void {
    let decided = false;
    const decide = (chunk?: Buffer) => {
      if (decided) return;
      decided = true;
      clearTimeout(timer);
      socket.off('data', decide);
      socket.pause();
      if (chunk) socket.unshift(chunk);
      if (chunk && HTTP_REQUEST_START.test(chunk.toString('latin1', 0, 16))) this.http.emit('connection', socket);
      else this.passThrough(socket, origin);
      socket.resume();
    };
    const timer = setTimeout(() => decide(), FIRST_BYTES_TIMEOUT_MS);
    socket.on('data', decide);
    socket.once('close', () => clearTimeout(timer));
  }

  /** To the app, unchanged; mirroring sessions get a copy of what the client sends. */
  private passThrough(socket: net.Socket, origin: Origin): void {
    const upstream = net.connect({ host: origin.local.address, port: origin.local.port, allowHalfOpen: true, noDelay: true });
    pipeBothWays(socket, upstream);
    const copies = this.subscriptions
      .filter((s) => s.mode === 'mirror')
      .map((s) => ({ sink: s.sink, stream: s.sink.openIncoming({ ...origin, mode: 'mirror', kind: 'connection' }) }))
      .filter((copy): copy is { sink: IncomingSink; stream: MuxStream } => copy.stream !== undefined);
    if (!copies.length) return;
    for (const { stream } of copies) {
      stream.on('error', () => undefined);
      stream.resume(); // the local process's answers to a mirrored connection are dropped
    }
    socket.on('data', (chunk: Buffer) => {
      for (const copy of copies) {
        if (copy.stream.destroyed) continue;
        // Never wait for a slow laptop: a copy that can't take the bytes now is cut off.
        if (copy.stream.writableCredit >= chunk.length) copy.stream.write(chunk);
        else {
          copy.stream.destroy(new Error('mirror copy dropped: the client fell behind'));
          copy.sink.notice('warn', `a mirrored connection on port ${this.port} was cut off because this client could not keep up`);
        }
      }
    });
    socket.once('end', () => copies.forEach(({ stream }) => stream.end()));
    socket.once('close', () => copies.forEach(({ stream }) => stream.writableEnded || stream.destroy()));
  }

  private routeRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const thief = this.thiefOf(req);
    if (!thief) return void this.proxy.web(req, res, { target: this.appUrl(req), agent: this.appAgent });
    this.proxy.web(req, res, { target: 'http://mirrord-session', agent: this.agentFor(req, thief) }, (error) => {
      // A kept-alive stream the local server closed while this request was on its way fails
      // before any answer; a request that can be sent again goes once more, on a new stream.
      if (!this.sent.get(req)?.reusedSocket || res.headersSent || !canResend(req)) return this.proxyFailed(error, res);
      const fresh = new StreamAgent(() => this.openRequestStream(req, thief), false);
      this.proxy.web(req, res, { target: 'http://mirrord-session', agent: fresh }, (again) => this.proxyFailed(again, res));
    });
  }

  private routeUpgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    socket.on('error', () => undefined);
    const thief = this.thiefOf(req);
    // An upgraded connection keeps its stream to itself: a one-off agent, never pooled.
    if (thief) this.proxy.ws(req, socket, head, { target: 'http://mirrord-session', agent: new StreamAgent(() => this.openRequestStream(req, thief), false) });
    else this.proxy.ws(req, socket, head, { target: this.appUrl(req) });
  }

  private thiefOf(req: http.IncomingMessage): Subscription | undefined {
    return this.subscriptions.find((s) => s.mode === 'steal' && s.matches?.(req));
  }

  /**
   * The keep-alive agent for `thief`'s requests from this client connection: the requests a
   * client sends on one connection reuse one stream to the session (and the local server's
   * one connection) while both ends keep it alive, so a stolen request costs no new stream,
   * no new local connection, and the peer the app sees is still that client.
   */
  private agentFor(req: http.IncomingMessage, thief: Subscription): StreamAgent {
    const client = req.socket;
    let agents = this.requestAgents.get(client);
    if (!agents) {
      const created = new Map<Subscription, StreamAgent>();
      this.requestAgents.set(client, (agents = created));
      client.once('close', () => created.forEach((agent) => agent.destroy()));
    }
    let agent = agents.get(thief);
    if (!agent) {
      // A new stream is announced with the request it is opened for: the latest one routed here.
      const opener: StreamAgent = new StreamAgent(() => this.openRequestStream(opener.latest ?? req, thief), true);
      agents.set(thief, (agent = opener));
    }
    agent.latest = req;
    return agent;
  }

  private openRequestStream(req: http.IncomingMessage, thief: Subscription): MuxStream | undefined {
    return thief.sink.openIncoming({
      ...this.origins.get(req.socket)!,
      mode: 'steal',
      kind: 'request',
      request: { method: req.method ?? '', path: req.url ?? '' },
    });
  }

  private appUrl(req: http.IncomingMessage): string {
    const app = this.origins.get(req.socket)!.local;
    return `http://${net.isIPv6(app.address) ? `[${app.address}]` : app.address}:${app.port}`;
  }

  private originalDestination(socket: net.Socket): Address {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    try {
      if (fd !== undefined && fd >= 0) {
        const { address, port } = native.originalDestination(fd);
        return { address, port };
      }
    } catch (error) {
      this.log.debug('no original destination; assuming the intercepted port', { error: (error as Error).message });
    }
    return { address: socket.localAddress ?? '127.0.0.1', port: this.port };
  }
}

/** How long a stream kept alive for a client's later requests may stay unused. */
const IDLE_STREAM_MS = 4000;
/** Closed this long before the idle timeout a local server announces (`Keep-Alive: timeout=N`). */
const HINT_MARGIN_MS = 1000;

/** Safe to send again: a method without side effects, and no body (which was already read). */
function canResend(req: http.IncomingMessage): boolean {
  return ['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? '') && !req.headers['content-length'] && !req.headers['transfer-encoding'];
}

/**
 * An http.Agent whose connections are streams to a session: one at a time (a client connection's
 * requests are sequential), kept alive for the next request when `keepAlive`.
 */
class StreamAgent extends http.Agent {
  private readonly idle = new WeakMap<Duplex, NodeJS.Timeout>();
  /** The client request most recently handed to this agent. */
  latest?: http.IncomingMessage;

  constructor(
    private readonly open: () => MuxStream | undefined,
    keepAlive: boolean,
  ) {
    super({ keepAlive, maxSockets: 1 });
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): Duplex | undefined {
    const stream = this.open();
    if (!stream) {
      callback?.(new Error('the stealing session has ended'), undefined as unknown as Duplex);
      return undefined;
    }
    // The local server closed its connection: this stream can carry no other request.
    stream.once('end', () => stream.end());
    // What the agent does to a kept-alive TCP socket has no meaning for a stream.
    return Object.assign(stream, { ref: () => stream, unref: () => stream, setKeepAlive: () => stream });
  }

  /**
   * Idle streams are closed before the local server's keep-alive timeout would close them under
   * a request: before the one it announces, else before the usual 5 s (Node's).
   */
  override keepSocketAlive(socket: Duplex): boolean {
    const answer = (socket as { _httpMessage?: http.ClientRequest & { res?: http.IncomingMessage } })._httpMessage?.res;
    const hint = /timeout=(\d+)/.exec(String(answer?.headers['keep-alive'] ?? ''))?.[1];
    const idleMs = hint === undefined ? IDLE_STREAM_MS : Math.min(IDLE_STREAM_MS, Number(hint) * 1000 - HINT_MARGIN_MS);
    if (idleMs <= 0) return false;
    this.idle.set(socket, setTimeout(() => socket.destroy(), idleMs));
    return true;
  }

  override reuseSocket(socket: Duplex, request: http.ClientRequest): void {
    clearTimeout(this.idle.get(socket));
    super.reuseSocket(socket as net.Socket, request);
  }
}
