/** Name resolution as the app would get it: getaddrinfo with the pod's resolv.conf and hosts. */
import { lookup } from 'node:dns/promises';
import type { Params, Result } from '../protocol/messages';

export async function resolve(params: Params<'resolve'>): Promise<Result<'resolve'>> {
  const found = await lookup(params.host, { all: true, family: params.family, verbatim: true });
  return { addresses: found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 })) };
}
