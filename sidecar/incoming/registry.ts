/**
 * Which session holds which port, and the rules that keep sessions from stepping on each
 * other: any number may mirror a port, any number may steal it with HTTP filters, an
 * unfiltered steal is exclusive, and a port is either mirrored or stolen, not both.
 */
import { ErrorCode, RemoteError } from '../../protocol/errors';
import type { HttpFilter } from '../../protocol/messages';
import type { Logger } from '../../common/log';
import { compileFilter } from './filter';
import { PortInterceptor, type IncomingSink, type Subscription } from './interceptor';
import type { Iptables } from './iptables';

interface Entry {
  interceptor: PortInterceptor;
  ready: Promise<void>;
}

export class IncomingRegistry {
  private readonly ports = new Map<number, Entry>();

  constructor(
    private readonly iptables: Iptables,
    private readonly log: Logger,
    /** Ports that must never be intercepted (the agent's own). */
    private readonly reserved: number[],
  ) {}

  async subscribe(sink: IncomingSink, port: number, mode: 'steal' | 'mirror', filter?: HttpFilter): Promise<void> {
    if (this.reserved.includes(port)) throw new RemoteError(ErrorCode.Invalid, `port ${port} is the agent's own port and cannot be intercepted`);
    if (filter && mode !== 'steal') throw new RemoteError(ErrorCode.Invalid, 'HTTP filters apply to steal mode only');
    let matches;
    try {
      matches = filter ? compileFilter(filter) : undefined;
    } catch (error) {
      throw new RemoteError(ErrorCode.Invalid, (error as Error).message);
    }
    const entry = this.ports.get(port) ?? this.open(port);
    checkConflicts(entry.interceptor.subscriptions, sink, port, mode, filter);
    const subscription: Subscription = { sink, mode, filter, matches };
    entry.interceptor.subscriptions.push(subscription);
    try {
      await entry.ready;
    } catch (error) {
      this.remove(entry, subscription);
      throw new RemoteError(ErrorCode.Internal, `could not intercept port ${port}: ${(error as Error).message}`);
    }
  }

  async unsubscribe(sink: IncomingSink, port: number): Promise<boolean> {
    const entry = this.ports.get(port);
    const subscription = entry?.interceptor.subscriptions.find((s) => s.sink === sink);
    if (!entry || !subscription) return false;
    await this.remove(entry, subscription);
    return true;
  }

  /** Everything `sink` held, released (its session ended). */
  async release(sink: IncomingSink): Promise<void> {
    const held = [...this.ports.values()].flatMap((entry) =>
      entry.interceptor.subscriptions.filter((s) => s.sink === sink).map((s) => this.remove(entry, s)),
    );
    await Promise.allSettled(held);
  }

  subscriptionsOf(sink: IncomingSink): { port: number; mode: 'steal' | 'mirror'; filter?: HttpFilter }[] {
    return [...this.ports.values()].flatMap(({ interceptor }) =>
      interceptor.subscriptions.filter((s) => s.sink === sink).map((s) => ({ port: interceptor.port, mode: s.mode, filter: s.filter })),
    );
  }

  private open(port: number): Entry {
    const interceptor = new PortInterceptor(port, this.log.child({ port }), (socket) => this.iptables.track(socket));
    const ready = interceptor.listen().then(async (toPort) => {
      try {
        await this.iptables.redirect(port, toPort);
      } catch (error) {
        interceptor.close();
        throw error;
      }
    });
    ready.catch(() => this.ports.get(port)?.interceptor === interceptor && this.ports.delete(port));
    const entry = { interceptor, ready };
    this.ports.set(port, entry);
    return entry;
  }

  private async remove(entry: Entry, subscription: Subscription): Promise<void> {
    const { interceptor } = entry;
    const index = interceptor.subscriptions.indexOf(subscription);
    if (index >= 0) interceptor.subscriptions.splice(index, 1);
    if (interceptor.subscriptions.length || this.ports.get(interceptor.port) !== entry) return;
    this.ports.delete(interceptor.port);
    try {
      await entry.ready.catch(() => undefined);
      await this.iptables.unredirect(interceptor.port);
    } finally {
      interceptor.close();
    }
  }
}

function checkConflicts(existing: Subscription[], sink: IncomingSink, port: number, mode: string, filter?: HttpFilter): void {
  if (existing.some((s) => s.sink === sink)) {
    throw new RemoteError(ErrorCode.PortConflict, `this session already subscribed port ${port}; unsubscribe it first`);
  }
  const other = existing[0];
  if (!other) return;
  if (other.mode !== mode) {
    throw new RemoteError(
      ErrorCode.PortConflict,
      `port ${port} is ${other.mode === 'steal' ? 'stolen' : 'mirrored'} by session ${other.sink.id}; a port is either mirrored or stolen, not both`,
    );
  }
  if (mode === 'steal') {
    const exclusive = existing.find((s) => !s.filter);
    if (exclusive) {
      throw new RemoteError(
        ErrorCode.PortConflict,
        `port ${port} is already stolen without a filter by session ${exclusive.sink.id}; an unfiltered steal is exclusive (end that session, or both use HTTP filters)`,
      );
    }
    if (!filter) {
      throw new RemoteError(
        ErrorCode.PortConflict,
        `port ${port} is stolen with HTTP filters by session ${other.sink.id}; an unfiltered steal would take its traffic (add an HTTP filter)`,
      );
    }
  }
}
