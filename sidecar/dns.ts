/**
 * Name resolution as the app would get it: getaddrinfo with the pod's resolv.conf and hosts.
 * getaddrinfo holds a thread of libuv's pool for as long as a name server takes to answer (or
 * not), and look-ups may take only half of the pool; so each session's look-ups take turns
 * among themselves (a few at once), and a session resolving names nobody answers for can't make
 * everyone else's look-ups wait behind its own.
 */
import { lookup } from 'node:dns/promises';
import type { Params, Result } from '../protocol/messages';
import { type Budget, within } from './budget';

/** Where a session's look-ups wait for their turn; those still waiting when it ends are dropped. */
export interface LookupTurns {
  budget: Budget;
  signal: AbortSignal;
}

export async function resolve(params: Params<'resolve'>, turns: LookupTurns): Promise<Result<'resolve'>> {
  const found = await within(turns.budget, 1, () => lookup(params.host, { all: true, family: params.family, verbatim: true }), turns.signal);
  return { addresses: found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 })) };
}

/** The first address of `host`, for a connection from the pod. */
export function resolveOne(host: string, turns: LookupTurns): Promise<{ address: string; family: number }> {
  return within(turns.budget, 1, () => lookup(host, { verbatim: true }), turns.signal);
}
