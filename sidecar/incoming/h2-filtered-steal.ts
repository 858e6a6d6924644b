/**
 * Filtered steal of HTTP/2 in cleartext (h2c: how gRPC and most service meshes talk inside a
 * cluster), with prior knowledge or after an `Upgrade` from HTTP/1.1. The client's connection is terminated here; each of its streams
 * (a request) is routed on its own: one a session's filter matches goes to that session, the
 * others to the app, each over one HTTP/2 connection of this client connection's own (to the app
 * at its original destination, to a session over one stream of the session), so the client keeps
 * one connection and every request on it lands where the filters say. Flow control is HTTP/2's
 * on each leg (bodies are piped, with back-pressure), trailers are passed on (gRPC's status is
 * one), and a reset on either side resets the other. A client that breaks the protocol (a bad
 * preface, a SETTINGS flood, headers larger than allowed) loses its own connection only: Node's
 * HTTP/2 session ends it, with its upstream connections.
 */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import type { Logger } from '../../common/log';
import { replayedSocket } from '../../common/replayed-socket';
import type { RequestLine } from './filter';
import { hasJsonBody, whenFilterable } from './body';
import { clientFrames } from './h2-preface';
import type { Origin } from './origin';
import { connectToApp } from './pass-through';
import type { Subscriber } from './subscriber';

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** What one client connection may hold: bounded, so no client can make the sidecar hold much for it. */
const SERVER_OPTIONS: http2.ServerOptions = {
  maxSessionMemory: 10, // MiB, the default: past it new streams are refused
  maxHeaderListPairs: 256,
  maxSettings: 32,
  settings: { maxConcurrentStreams: 256, maxHeaderListSize: 64 * 1024 },
};

/** How long the app may take to answer an HTTP/2 preface before an h2c `Upgrade` is left to it. */
const APP_H2_WAIT_MS = 1000;

/** Request headers that name the connection, not the request: never forwarded. */
const PSEUDO_OR_HOP = /^(:|connection$|keep-alive$|proxy-connection$|transfer-encoding$|upgrade$|http2-settings$)/;

/** The request as the filters see it: method, path, and header lines (`host` from `:authority`). */
export function requestLineOf(headers: http2.IncomingHttpHeaders): RequestLine {
  const rawHeaders: string[] = [];
  const authority = headers[':authority'];
  if (authority) rawHeaders.push('host', String(authority));
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) rawHeaders.push(name, String(one));
  }
  return { method: String(headers[':method'] ?? ''), url: String(headers[':path'] ?? ''), rawHeaders };
}

/** The headers to send upstream: the request's own, pseudo-headers included, without hop-by-hop ones. */
export function forwardedHeaders(headers: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || (PSEUDO_OR_HOP.test(name) && !['method', 'path', 'scheme', 'authority'].includes(name.slice(1)))) continue;
    out[name] = value;
  }
  return out;
}

/** The app's side of a client's TLS the sidecar terminated: what the client asked for by SNI. */
export interface AppTls {
  servername?: string;
}

/** A client connection upgraded from HTTP/1.1 (h2c-upgrade.ts). */
interface Upgraded {
  head: Buffer;
  request: Buffer;
  app: http2.ClientHttp2Session;
}

/** One client connection: where it was going, and its HTTP/2 connections upstream (the app's, and each session's). */
interface ClientConnection {
  origin: Origin;
  upstreams: Map<Subscriber | 'app', http2.ClientHttp2Session>;
  appTls?: AppTls;
}

export class H2FilteredSteal {
  constructor(
    /** The port's subscribers, all steals; read per request. One without a filter takes every request. */
    private readonly stealers: readonly Subscriber[],
    private readonly log: Logger,
  ) {}

  /**
   * `socket` is paused, with the bytes already read from it put back (or is the decrypted side
   * of a client's TLS, and the app is reached over TLS too: `appTls`). `upgraded`: the connection
   * switched from HTTP/1.1 by an h2c `Upgrade` (h2c-upgrade.ts), with the request that asked as
   * a frame to put after the client's preface, and the app's HTTP/2 connection made to learn
   * that it speaks HTTP/2.
   */
  accept(socket: net.Socket, origin: Origin, { upgraded, appTls }: { upgraded?: Upgraded; appTls?: AppTls } = {}): void {
    const server = http2.createServer(SERVER_OPTIONS);
    const connection: ClientConnection = { origin, upstreams: new Map(), appTls };
    if (upgraded) this.keep(upgraded.app, 'app', connection);
    server.on('session', (session) => {
      session.on('error', () => undefined);
      session.once('close', () => {
        for (const upstream of connection.upstreams.values()) upstream.destroy();
        connection.upstreams.clear();
      });
    });
    server.on('stream', (stream, headers) => this.route(stream, headers, connection));
    server.emit('connection', upgraded ? replayedSocket(socket, upgraded.head, clientFrames({ insert: upgraded.request })) : replayedSocket(socket));
  }

  /**
   * An HTTP/2 connection to the app, once the app has answered it with its SETTINGS: undefined
   * when it doesn't speak HTTP/2 in cleartext (most HTTP/1.1 servers answer the preface with an
   * error), within APP_H2_WAIT_MS.
   */
  connectApp(origin: Origin): Promise<http2.ClientHttp2Session | undefined> {
    const session = this.connect('app', origin);
    return new Promise((resolve) => {
      const settle = (speaks: boolean) => {
        clearTimeout(timer);
        session.off('remoteSettings', yes);
        session.off('close', no);
        if (!speaks) session.destroy();
        resolve(speaks ? session : undefined);
      };
      const yes = () => settle(true);
      const no = () => settle(false);
      const timer = setTimeout(no, APP_H2_WAIT_MS);
      session.once('remoteSettings', yes);
      session.once('close', no);
    });
  }

  private route(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, connection: ClientConnection): void {
    stream.on('error', () => undefined);
    const request = requestLineOf(headers);
    const json = hasJsonBody(request.rawHeaders, !stream.readableEnded);
    whenFilterable(stream, json, this.stealers, (body, replay) => this.forward(stream, headers, request, connection, body, replay));
  }

  /** `body`: the stream's body when it was read (`replay` sends it on in place of the stream). */
  private forward(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    request: RequestLine,
    connection: ClientConnection,
    body?: Buffer,
    replay?: Readable,
  ): void {
    const { origin } = connection;
    const thief = this.stealers.find((s) => s.mode === 'steal' && s.sink.answering && (s.matches?.(request, body) ?? true));
    const upstream = (thief && this.upstreamOf(thief, connection)) ?? this.upstreamOf('app', connection);
    if (!upstream) return void stream.close(NGHTTP2_REFUSED_STREAM);
    let out: http2.ClientHttp2Stream;
    try {
      out = upstream.request(forwardedHeaders(headers));
    } catch (error) {
      this.log.debug('h2 request could not be forwarded', { port: origin.port, error: (error as Error).message });
      return void stream.close(NGHTTP2_REFUSED_STREAM);
    }
    out.on('error', () => undefined);
    (replay ?? stream).pipe(out);
    let trailers: http2.IncomingHttpHeaders | undefined;
    out.on('response', (responseHeaders, flags) => {
      if (stream.destroyed) return;
      const { ':status': status, ...rest } = responseHeaders;
      // A response of headers alone (gRPC's trailers-only error answers) ends as it came.
      const headersOnly = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
      stream.respond({ ':status': status ?? 502, ...forwardedHeaders(rest) }, headersOnly ? { endStream: true } : { waitForTrailers: true });
      if (!headersOnly) out.pipe(stream);
    });
    out.on('trailers', (received) => (trailers = received));
    // The app's trailers (gRPC's status), or an empty trailing HEADERS frame that ends the stream.
    stream.on('wantTrailers', () => stream.sendTrailers(trailers ? forwardedHeaders(trailers) : {}));
    // A reset on either side resets the other; so does an upstream that fails before answering.
    stream.on('close', () => {
      if (!out.closed) out.close(stream.rstCode || NGHTTP2_CANCEL);
    });
    out.on('close', () => {
      if (stream.closed) return;
      if (!stream.headersSent) {
        if (out.rstCode) stream.close(out.rstCode);
        else stream.respond({ ':status': 502 }, { endStream: true });
      } else if (out.rstCode && out.rstCode !== NGHTTP2_NO_ERROR) stream.close(out.rstCode);
    });
    out.on('error', (error: Error) => this.log.debug('h2 upstream stream failed', { port: origin.port, error: error.message }));
  }

  /** This client connection's HTTP/2 connection to `to`, made on first use; undefined when a session can't take one. */
  private upstreamOf(to: Subscriber | 'app', connection: ClientConnection): http2.ClientHttp2Session | undefined {
    const open = connection.upstreams.get(to);
    if (open && !open.closed && !open.destroyed) return open;
    const session = this.connect(to, connection.origin, connection.appTls);
    return session && this.keep(session, to, connection);
  }

  /**
   * An HTTP/2 connection to the app at the original destination (over TLS with `appTls`: the app
   * is in the pod, its certificate is not checked), or over a new stream of a session (undefined
   * when it can't take one): always cleartext, the local server speaks h2c.
   */
  private connect(to: 'app', origin: Origin, appTls?: AppTls): http2.ClientHttp2Session;
  private connect(to: Subscriber | 'app', origin: Origin, appTls?: AppTls): http2.ClientHttp2Session | undefined;
  private connect(to: Subscriber | 'app', origin: Origin, appTls?: AppTls): http2.ClientHttp2Session | undefined {
    let session: http2.ClientHttp2Session;
    if (to === 'app') {
      const { address, port } = origin.local;
      const host = address.includes(':') ? `[${address}]` : address;
      // From the client's address where the pod allows it; no Nagle either way (connectToApp):
      // a response's HEADERS, DATA and trailers are small writes each.
      session = appTls
        ? http2.connect(`https://${host}:${port}`, {
            createConnection: () =>
              tls.connect({
                socket: connectToApp(origin, this.log),
                ALPNProtocols: ['h2'],
                rejectUnauthorized: false,
                servername: appTls.servername,
              }),
          })
        : http2.connect(`http://${host}:${port}`, { createConnection: () => connectToApp(origin, this.log) });
    } else {
      const stream = to.sink.openIncoming({ ...origin, mode: 'steal', kind: 'connection' });
      if (!stream) return undefined;
      session = http2.connect('http://mirrord-session', { createConnection: () => stream });
    }
    session.on('error', (error: Error) => this.log.debug('h2 upstream connection failed', { port: origin.port, error: error.message }));
    return session;
  }

  private keep(session: http2.ClientHttp2Session, to: Subscriber | 'app', { upstreams }: ClientConnection): http2.ClientHttp2Session {
    session.once('close', () => {
      if (upstreams.get(to) === session) upstreams.delete(to);
    });
    upstreams.set(to, session);
    return session;
  }
}
