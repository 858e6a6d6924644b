/**
 * The port-sharing rules (docs/protocol.md, "Incoming connections"): any number of sessions may
 * mirror a port, any number may steal it with HTTP filters, an unfiltered steal is exclusive, and
 * a port is either mirrored or stolen, not both. A session holds a port at most once.
 */
import type { HttpFilter, Mode, Subscription } from '../../protocol/messages';

/** A subscription, as the rules see it: whose it is, its mode, its filter. */
export interface Holding {
  readonly sink: { readonly id: string };
  readonly mode: Mode;
  readonly filter?: HttpFilter;
}

/**
 * Why `sink` may not add `wanted` to the subscriptions already `held` on its port (a message
 * naming the session in the way), or undefined when it may.
 */
export function sharingConflict(held: readonly Holding[], sink: Holding['sink'], wanted: Subscription): string | undefined {
  const { port, mode, filter } = wanted;
  if (held.some((s) => s.sink === sink)) return `this session already subscribed port ${port}; unsubscribe it first`;
  const other = held[0];
  if (!other) return undefined;
  if (other.mode !== mode) {
    return `port ${port} is ${other.mode === 'steal' ? 'stolen' : 'mirrored'} by session ${other.sink.id}; a port is either mirrored or stolen, not both`;
  }
  if (mode === 'mirror') return undefined;
  const exclusive = held.find((s) => !s.filter);
  if (exclusive) {
    return `port ${port} is already stolen without a filter by session ${exclusive.sink.id}; an unfiltered steal is exclusive (end that session, or both use HTTP filters)`;
  }
  if (!filter) {
    return `port ${port} is stolen with HTTP filters by session ${other.sink.id}; an unfiltered steal would take its traffic (add an HTTP filter)`;
  }
  return undefined;
}
