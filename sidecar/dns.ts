/**
 * Name resolution as the app would get it: getaddrinfo with the pod's resolv.conf and hosts.
 * getaddrinfo holds a thread of libuv's pool for as long as a name server takes to answer (or
 * not), and file operations need those threads too. So look-ups run at most LIMITS.lookupsAtOnce
 * at a time in all, leaving the rest of the pool to files, and each session's take turns among
 * themselves (a few at once): a session resolving names nobody answers for can't make everyone
 * else's look-ups wait behind its own, nor (alone) take every look-up's turn.
 */
import { lookup } from 'node:dns/promises';
import type { Params, Result } from '../protocol/messages';
import { Budget, within } from './budget';
import { LIMITS } from './limits';

/** Every session's look-ups together. */
const lookupsAtOnce = new Budget(LIMITS.lookupsAtOnce);

/** Where a session's look-ups wait for their turn; those still waiting when it ends are dropped. */
export interface LookupTurns {
  budget: Budget;
  signal: AbortSignal;
}

export async function resolve(params: Params<'resolve'>, turns: LookupTurns): Promise<Result<'resolve'>> {
  const found = await inTurn(turns, () => lookup(params.host, { all: true, family: params.family, verbatim: true }));
  return { addresses: found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 })) };
}

/** The first address of `host`, for a connection from the pod. */
export function resolveOne(host: string, turns: LookupTurns): Promise<{ address: string; family: number }> {
  return inTurn(turns, () => lookup(host, { verbatim: true }));
}

function inTurn<T>(turns: LookupTurns, lookUp: () => Promise<T>): Promise<T> {
  return within(turns.budget, 1, () => within(lookupsAtOnce, 1, lookUp, turns.signal), turns.signal);
}
