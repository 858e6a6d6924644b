/**
 * One intercepted port: a listener that receives the connections iptables REDIRECTs to it (or,
 * for a mirrored port, the connections the capture copies: capture.ts), and
 * hands each to the job its subscribers call for: an unfiltered steal, the filtered steal, or the
 * app with copies for mirroring sessions (of the whole connection, or of the requests a filter
 * matches). The sharing rules keep a port's subscribers all of one
 * kind, so the first that fits decides. On a port kubelet probes over HTTP, an unfiltered steal
 * takes every request but the probes (as a filter that matches all), never whole connections.
 */
import net from 'node:net';
import type { Logger } from '../../common/log';
import type { AppCertificate } from './app-certificate';
import { FilteredMirror } from './filtered-mirror';
import { FilteredSteal } from './filtered-steal';
import { mirror, type ByteSource } from './mirror';
import { originOf, type Origin } from './origin';
import { passThrough } from './pass-through';
import { podHasIpv6 } from './pod-ipv6';
import type { ProbedPaths } from './probes';
import type { Redirector } from './redirector';
import { steal } from './steal';
import type { Subscriber } from './subscriber';

export class PortDispatcher {
  private readonly server: net.Server;
  private server6?: net.Server;
  private readonly filtered: FilteredSteal;
  private readonly filteredMirror: FilteredMirror;

  constructor(
    readonly port: number,
    /** The port's subscribers (the registry keeps them); read per connection. */
    private readonly subscribers: readonly Subscriber[],
    private readonly log: Logger,
    /** Told of every redirected connection, so NAT state outlives the rule while it flows. */
    private readonly track: Redirector['track'],
    /** kubelet's HTTP probe paths on this port, if it has any. */
    private readonly probed?: ProbedPaths,
    /** The certificate the app serves, when the pod gave it: filtered steals read its TLS connections. */
    certificate?: AppCertificate,
  ) {
    this.server = this.newListener();
    this.filtered = new FilteredSteal(port, subscribers, log, probed, certificate);
    this.filteredMirror = new FilteredMirror(port, subscribers, log);
  }

  /**
   * Opens the listener; returns its port, the REDIRECT target of both IP families: in a pod with
   * IPv6 a second listener takes IPv6's on the same port number.
   */
  async listen(): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const port = await listenOn(this.server, 0, '0.0.0.0');
      if (!podHasIpv6()) return port;
      const server6 = this.newListener();
      try {
        await listenOn(server6, port, '::');
        this.server6 = server6;
        return port;
      } catch (error) {
        // Someone holds the same port number for IPv6: another one for both, a few times.
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) {
          await new Promise((resolve) => this.server.close(resolve));
          continue;
        }
        this.log.warn(`IPv6 connections to port ${this.port} can't be intercepted: ${(error as Error).message}`);
        return port;
      }
    }
  }

  /** Stops accepting; connections already here keep flowing until they end. */
  close(): void {
    this.server.close();
    this.server6?.close();
    this.filtered.close();
    this.filteredMirror.close();
  }

  private newListener(): net.Server {
    return net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => undefined);
    this.track(socket);
    const origin = originOf(socket, this.port, this.log);
    const thief = this.subscribers.find((s) => s.mode === 'steal' && !s.matches);
    if (thief && !this.probed) {
      if (thief.sink.answering && steal(socket, origin, thief.sink)) return;
    } else if (this.subscribers.some((s) => s.mode === 'steal')) {
      return this.filtered.accept(socket, origin);
    }
    passThrough(socket, origin, this.log);
    this.copy(socket, origin);
  }

  /**
   * Copies of what a client sends for the mirroring sessions: of the whole connection, or of the
   * requests their filters match. `source` is the connection itself when it was redirected here,
   * or its capture (capture.ts) when it went straight to the app.
   */
  copy(source: ByteSource, origin: Origin): void {
    mirror(
      source,
      origin,
      this.subscribers.filter((s) => s.mode === 'mirror' && !s.matches).map((s) => s.sink),
    );
    this.filteredMirror.accept(source, origin);
  }
}

function listenOn(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ipv6Only: host === '::' }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}
