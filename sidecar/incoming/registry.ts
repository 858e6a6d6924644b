/**
 * Which session holds which port: each subscribed port has a dispatcher listening for its
 * redirected connections, and a REDIRECT (from the injected redirector) from its first
 * subscriber until its last one goes. What may share a port is decided in sharing.ts.
 */
import { ErrorCode, RemoteError } from '../../protocol/errors';
import type { Subscription } from '../../protocol/messages';
import type { Logger } from '../../common/log';
import type { AppCertificate } from './app-certificate';
import { PortDispatcher } from './dispatcher';
import { compileFilter, type RequestMatcher } from './filter';
import type { ProbedPaths } from './probes';
import type { MirrorCapture } from './capture';
import type { Redirector } from './redirector';
import { sharingConflict } from './sharing';
import type { IncomingSink, Subscriber } from './subscriber';

interface Entry {
  port: number;
  subscribers: Subscriber[];
  dispatcher: PortDispatcher;
  /** Settles once the listener is open and the REDIRECT is in place, or the capture is on. */
  ready: Promise<void>;
  /** Mirrored by packet capture (no REDIRECT: the app's connections go straight to it). */
  captured: boolean;
}

export class IncomingRegistry {
  private readonly ports = new Map<number, Entry>();

  constructor(
    private readonly redirector: Redirector,
    private readonly log: Logger,
    /** Ports that must never be intercepted (the agent's own). */
    private readonly reserved: readonly number[],
    /** kubelet's HTTP probe paths by port: their requests always reach the app. */
    private readonly probed: ReadonlyMap<number, ProbedPaths> = new Map(),
    /** The certificate the app serves, when the pod gave it (mirrord.dev/tls-secret). */
    private readonly certificate?: AppCertificate,
    /** Mirrors ports off the path, when the pod allows a packet socket; else through the sidecar. */
    private readonly capture?: MirrorCapture,
  ) {}

  /** Clears what a crashed predecessor left, before the first subscription. */
  start(): Promise<void> {
    return this.redirector.removeStale();
  }

  /** Removes every rule of ours (shutdown, once the sessions are gone). */
  stop(): Promise<void> {
    return this.redirector.removeAll();
  }

  async subscribe(sink: IncomingSink, subscription: Subscription): Promise<void> {
    const { port, mode, filter } = subscription;
    if (this.reserved.includes(port)) throw new RemoteError(ErrorCode.Invalid, `port ${port} is the agent's own port and cannot be intercepted`);
    let matches: RequestMatcher | undefined;
    try {
      matches = filter ? compileFilter(filter) : undefined;
    } catch (error) {
      throw new RemoteError(ErrorCode.Invalid, (error as Error).message);
    }
    const conflict = sharingConflict(this.ports.get(port)?.subscribers ?? [], sink, subscription);
    if (conflict) throw new RemoteError(ErrorCode.PortConflict, conflict);
    const entry = this.ports.get(port) ?? this.open(port, mode);
    const subscriber: Subscriber = { sink, port, mode, filter, matches };
    entry.subscribers.push(subscriber);
    try {
      await entry.ready;
    } catch (error) {
      this.remove(entry, subscriber);
      throw new RemoteError(ErrorCode.Internal, `could not intercept port ${port}: ${(error as Error).message}`);
    }
  }

  async unsubscribe(sink: IncomingSink, port: number): Promise<boolean> {
    const entry = this.ports.get(port);
    const subscriber = entry?.subscribers.find((s) => s.sink === sink);
    if (!entry || !subscriber) return false;
    await this.remove(entry, subscriber);
    return true;
  }

  /** Everything `sink` held, released (its session ended). */
  async release(sink: IncomingSink): Promise<void> {
    const held = [...this.ports.values()].flatMap((entry) => entry.subscribers.filter((s) => s.sink === sink).map((s) => this.remove(entry, s)));
    await Promise.allSettled(held);
  }

  subscriptionsOf(sink: IncomingSink): Subscription[] {
    return [...this.ports.values()].flatMap(({ subscribers }) =>
      subscribers.filter((s) => s.sink === sink).map(({ port, mode, filter }) => ({ port, mode, filter })),
    );
  }

  private open(port: number, mode: Subscription['mode']): Entry {
    const subscribers: Subscriber[] = [];
    const dispatcher = new PortDispatcher(
      port,
      subscribers,
      this.log.child({ port }),
      (socket) => this.redirector.track(socket),
      this.probed.get(port),
      this.certificate,
    );
    const entry: Entry = { port, subscribers, dispatcher, ready: Promise.resolve(), captured: false };
    entry.ready = (mode === 'mirror' && this.capture ? this.captureInto(entry, this.capture) : Promise.resolve(false)).then(async (captured) => {
      if (captured) return;
      const toPort = await dispatcher.listen();
      try {
        await this.redirector.redirect(port, toPort);
      } catch (error) {
        dispatcher.close();
        throw error;
      }
    });
    entry.ready.catch(() => this.ports.get(port) === entry && this.ports.delete(port));
    this.ports.set(port, entry);
    return entry;
  }

  /** Mirrors the entry's port by capture; false when the pod allows none (it is redirected then). */
  private async captureInto(entry: Entry, capture: MirrorCapture): Promise<boolean> {
    const loopbackOnly = await this.redirector.meshed();
    try {
      capture.watch(entry.port, loopbackOnly, (connection, origin) => entry.dispatcher.copy(connection, origin));
      entry.captured = true;
      this.log.info('mirrored by packet capture', { port: entry.port, loopbackOnly });
      return true;
    } catch (error) {
      this.log.warn(`mirroring port ${entry.port} through the sidecar: no packet capture in this pod (${(error as Error).message})`);
      return false;
    }
  }

  private async remove(entry: Entry, subscriber: Subscriber): Promise<void> {
    const index = entry.subscribers.indexOf(subscriber);
    if (index >= 0) entry.subscribers.splice(index, 1);
    if (entry.subscribers.length || this.ports.get(entry.port) !== entry) return;
    this.ports.delete(entry.port);
    try {
      await entry.ready.catch(() => undefined);
      if (entry.captured) this.capture?.unwatch(entry.port);
      else await this.redirector.unredirect(entry.port);
    } finally {
      entry.dispatcher.close();
    }
  }
}
