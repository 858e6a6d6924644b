/**
 * Filtered mirroring: on a port mirrored with HTTP filters, a copy of what each client sends is
 * parsed (HTTP/1.x, or HTTP/2 in cleartext with prior knowledge), and each request a session's
 * filter matches is sent to that session as a request of its own, each matching session getting
 * its copy: HTTP/1.x ones each on a stream of its own (an `incoming` of kind `request`), HTTP/2
 * ones on one HTTP/2 connection per client connection and session. The connection itself goes on
 * to the app untouched, and nothing here can slow it: the copy is parsed as it comes, a session's
 * copy that lacks credit is cut off (mirror.ts), and a connection whose copy is not HTTP, breaks
 * the parser or falls MAX_BACKLOG behind is no longer copied. What the local process answers is
 * dropped.
 */
import http from 'node:http';
import http2 from 'node:http2';
import { Duplex, type Readable } from 'node:stream';
import type { Logger } from '../../common/log';
import { hasJsonBody, whenFilterable } from './body';
import type { RequestLine } from './filter';
import { forwardedHeaders, requestLineOf } from './h2-filtered-steal';
import { clientFrames, SETTINGS_ACK } from './h2-preface';
import { copyOrCutOff, cutOff, type ByteSource, type Copy } from './mirror';
import type { Origin } from './origin';
import { protocolOf } from './sniff';
import { warnOnce, type IncomingMeta, type IncomingSink, type Subscriber } from './subscriber';

/** How far the parsing of a connection's copy may fall behind the connection before it stops. */
const MAX_BACKLOG = 1 << 20;
/** How long a request's copy waits for the local answer (dropped) before its stream is closed; an HTTP/2 copy, for the end of its connection's copies. */
const ANSWER_WAIT_MS = 30_000;
/** What a client connection's HTTP/2 copies to one session may have waiting for the local server's flow control before they are cut off. */
const MAX_H2_HELD = 1 << 20;
/** HTTP/2's largest flow-control window: the copy never refuses what the app let the client send. */
const MAX_WINDOW = 2 ** 31 - 1;

/**
 * The copy's HTTP/2 server takes whatever the app agreed to: the client follows the app's
 * SETTINGS, never sees these, and is told they were acknowledged (h2-preface.ts).
 */
const COPY_SERVER_OPTIONS: http2.ServerOptions = {
  maxSessionMemory: 10,
  settings: { initialWindowSize: MAX_WINDOW, headerTableSize: 65_536, maxHeaderListSize: 256 * 1024 },
};

export class FilteredMirror {
  /** Parses the copies of HTTP/1.x connections; what it answers goes nowhere. */
  private readonly http = http.createServer({ keepAliveTimeout: 0, requestTimeout: 0 });
  private readonly origins = new WeakMap<Duplex, Origin>();
  /** The sessions told that TLS connections are not copied. */
  private readonly toldTls = new WeakSet<IncomingSink>();

  constructor(
    private readonly port: number,
    /** The port's subscribers, all mirrors (the registry keeps them); read per request. */
    private readonly subscribers: readonly Subscriber[],
    private readonly log: Logger,
  ) {
    this.http.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.copyRequest(req, res));
    this.http.on('upgrade', (req: http.IncomingMessage, copy: Duplex, head: Buffer) => this.copyUpgrade(req, copy, head));
    this.http.on('clientError', (error: Error, copy: Duplex) => this.stopCopying(copy, error.message));
  }

  /** Copies `socket`'s requests to the sessions that filter them; the socket itself is the caller's. */
  accept(socket: ByteSource, origin: Origin): void {
    if (!this.filtered().length) return;
    // What the client sends, for the parser; what the parser answers is discarded.
    const copy = new Duplex({ read: () => undefined, write: (_chunk, _encoding, done) => done() });
    copy.on('error', () => undefined);
    this.origins.set(copy, origin);
    let passOn: ((chunk: Buffer) => Buffer) | undefined;
    const feed = (chunk: Buffer) => {
      if (!passOn) {
        const protocol = protocolOf(chunk);
        if (protocol === 'tls') this.tellTlsNotCopied();
        if (protocol === 'other' || protocol === 'tls') return stop();
        passOn = protocol === 'h2' ? clientFrames({ insert: SETTINGS_ACK, dropAcks: true }) : (bytes) => bytes;
        if (protocol === 'h2') this.copyH2(copy, origin);
        else this.http.emit('connection', copy);
      }
      if (copy.readableLength > MAX_BACKLOG) {
        // Its parser waits for the local servers (a laptop that doesn't read): the sessions lose
        // this connection's copies, and are told so.
        this.stopCopying(copy, 'the copy fell behind the connection');
        for (const { sink } of this.filtered()) cutOff(sink, this.port, () => undefined);
        return;
      }
      copy.push(passOn(chunk));
    };
    const stop = () => {
      socket.off('data', feed);
      copy.destroy();
    };
    socket.on('data', feed);
    socket.once('end', () => copy.push(null));
    socket.once('close', stop);
    copy.once('close', () => socket.off('data', feed));
  }

  close(): void {
    this.http.close();
  }

  /** Tells each filtered mirror, once, that TLS connections are not copied (a copy can't be decrypted). */
  private tellTlsNotCopied(): void {
    warnOnce(
      this.toldTls,
      this.filtered().map((s) => s.sink),
      `TLS connections on port ${this.port} are not copied: a filtered mirror can't read TLS (mirror without a filter for their bytes)`,
    );
  }

  private filtered(): Subscriber[] {
    return this.subscribers.filter((s) => s.mode === 'mirror' && s.matches);
  }

  /** The mirroring sessions whose filter matches the request. */
  private matching(request: RequestLine, body?: Buffer): Subscriber[] {
    return this.filtered().filter((s) => s.matches!(request, body));
  }

  private stopCopying(copy: Duplex, why: string): void {
    this.log.debug('no longer copying the requests of a mirrored connection', { port: this.port, why });
    copy.destroy();
  }

  private copyRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    // The parser's answer, to nobody, once the request is read: it then reads the next one.
    req.once('end', () => res.end());
    whenFilterable(req, hasJsonBody(req.rawHeaders), this.filtered(), (body, replay) => this.sendCopies(req, this.matching(req, body), replay ?? req));
  }

  /** Sends `req` (its body from `body`) to each of `to`, on a stream of its own; `body` is read either way. */
  private sendCopies(req: http.IncomingMessage, to: Subscriber[], body: Readable): void {
    const origin = this.origins.get(req.socket as Duplex)!;
    const copies = to.flatMap((subscriber) => {
      const stream = subscriber.sink.openIncoming(requestCopy(origin, req));
      if (!stream) return [];
      stream.on('error', () => undefined);
      const out = http.request({ createConnection: () => stream, method: req.method, path: req.url, headers: req.rawHeaders, setHost: false });
      out.on('error', () => undefined);
      const timer = setTimeout(() => stream.destroy(), ANSWER_WAIT_MS);
      stream.once('close', () => clearTimeout(timer));
      // The stream closes once the local answer (dropped) has ended and the whole request is
      // sent: a local server may answer before the body has come (an upload it refuses).
      out.on('response', (answer) => {
        answer.resume();
        answer.once('end', () => (out.writableFinished ? stream.destroy() : out.once('finish', () => stream.destroy())));
      });
      return [{ sink: subscriber.sink, stream, out }];
    });
    body.on('data', (chunk: Buffer) => {
      for (const copy of copies) copyOrCutOff(copy, chunk, origin.port, copy.out.writableLength, (bytes) => copy.out.write(bytes));
    });
    body.once('end', () => copies.forEach(({ stream, out }) => stream.destroyed || out.end()));
    body.resume();
  }

  /** A matched upgrade (a WebSocket): the request and everything after it go to each matching session. */
  private copyUpgrade(req: http.IncomingMessage, copy: Duplex, head: Buffer): void {
    const origin = this.origins.get(copy)!;
    const copies = this.matching(req).flatMap((subscriber): Copy[] => {
      const stream = subscriber.sink.openIncoming(requestCopy(origin, req));
      if (!stream) return [];
      stream.on('error', () => undefined);
      stream.resume();
      return [{ sink: subscriber.sink, stream }];
    });
    if (!copies.length) return void copy.destroy();
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    const send = (chunk: Buffer) => copies.forEach((one) => copyOrCutOff(one, chunk, origin.port));
    send(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), head]));
    copy.on('data', send);
    copy.once('end', () => copies.forEach(({ stream }) => stream.end()));
    copy.once('close', () => copies.forEach(({ stream }) => stream.writableEnded || stream.destroy()));
  }

  /** An HTTP/2 connection's copy: each stream a filter matches goes to its sessions, over one HTTP/2 connection to each. */
  private copyH2(copy: Duplex, origin: Origin): void {
    const server = http2.createServer(COPY_SERVER_OPTIONS);
    const upstreams = new Map<Subscriber, H2Upstream>();
    server.on('session', (session) => {
      session.on('error', (error: Error) => this.stopCopying(copy, error.message));
      session.once('connect', () => session.setLocalWindowSize(MAX_WINDOW));
      session.once('close', () => {
        // The copies under way still go on to the local server (at its pace), for ANSWER_WAIT_MS at most.
        upstreams.forEach(({ session: upstream }) => {
          upstream.close();
          setTimeout(() => upstream.destroy(), ANSWER_WAIT_MS).unref();
        });
        copy.destroy();
      });
    });
    server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
      stream.on('error', () => undefined);
      // The parser's answer, to nobody, once the request is read.
      stream.once('end', () => stream.closed || stream.respond({ ':status': 204 }, { endStream: true }));
      const request = requestLineOf(headers);
      whenFilterable(stream, hasJsonBody(request.rawHeaders, !stream.readableEnded), this.filtered(), (body, replay) =>
        this.sendH2Copies(stream, headers, this.matching(request, body), replay ?? stream, origin, upstreams),
      );
    });
    server.emit('connection', copy);
  }

  private sendH2Copies(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    to: Subscriber[],
    body: Readable,
    origin: Origin,
    upstreams: Map<Subscriber, H2Upstream>,
  ): void {
    const outs = to.flatMap((subscriber) => {
      const upstream = this.h2Upstream(subscriber, origin, upstreams);
      if (!upstream) return [];
      try {
        const out = upstream.session.request(forwardedHeaders(headers));
        out.on('error', () => undefined);
        out.resume(); // the local answer is dropped
        upstream.outs.add(out);
        out.once('close', () => upstream.outs.delete(out));
        return [{ upstream, out }];
      } catch {
        return [];
      }
    });
    body.on('data', (chunk: Buffer) => {
      for (const { upstream, out } of outs) {
        if (out.destroyed || upstream.session.destroyed) continue;
        // HTTP/2's flow control paces the copies to the local server; what waits for it, all the
        // requests of the connection together, is bounded: past it the session's copies of this
        // connection are cut off.
        if (held(upstream) + chunk.length <= MAX_H2_HELD) out.write(chunk);
        else
          cutOff(upstream.copy.sink, origin.port, () => {
            upstream.session.destroy();
            upstream.copy.stream.destroy();
          });
      }
    });
    body.once('end', () => outs.forEach(({ out }) => out.destroyed || out.end()));
    stream.once('close', () => outs.forEach(({ out }) => out.writableEnded || out.close(http2.constants.NGHTTP2_CANCEL)));
    body.resume();
  }

  /** The HTTP/2 connection carrying this client connection's copies to `to`, made on first use. */
  private h2Upstream(to: Subscriber, origin: Origin, upstreams: Map<Subscriber, H2Upstream>): H2Upstream | undefined {
    const open = upstreams.get(to);
    if (open && !open.session.closed && !open.session.destroyed && !open.copy.stream.destroyed) return open;
    const stream = to.sink.openIncoming({ ...origin, mode: 'mirror', kind: 'connection' });
    if (!stream) return undefined;
    stream.on('error', () => undefined);
    const session = http2.connect('http://mirrord-session', { createConnection: () => stream });
    session.on('error', () => undefined);
    const upstream: H2Upstream = { copy: { sink: to.sink, stream }, session, outs: new Set() };
    upstreams.set(to, upstream);
    return upstream;
  }
}

/** One HTTP/2 connection carrying a client connection's copies to a session. */
interface H2Upstream {
  copy: Copy;
  session: http2.ClientHttp2Session;
  /** Its requests not yet closed. */
  outs: Set<http2.ClientHttp2Stream>;
}

/** The bytes an upstream's requests have written that wait for the local server. */
function held(upstream: H2Upstream): number {
  let bytes = 0;
  for (const out of upstream.outs) bytes += out.writableLength;
  return bytes;
}

/** How a request's copy is announced to a session. */
function requestCopy(origin: Origin, req: http.IncomingMessage): IncomingMeta {
  return { ...origin, mode: 'mirror', kind: 'request', request: { method: req.method ?? '', path: req.url ?? '' } };
}
