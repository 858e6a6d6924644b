/** Where a redirected connection came from and where it was going before the REDIRECT. */
import type net from 'node:net';
import type { Address } from '../../protocol/messages';
import type { Logger } from '../../common/log';
import { native } from '../native';
import type { IncomingMeta } from './subscriber';

/** A redirected connection, as its `incoming` events describe it. */
export type Origin = Omit<IncomingMeta, 'mode' | 'kind'>;

/** `socket`'s origin; `port` is the intercepted port, the destination when the kernel can't tell. */
export function originOf(socket: net.Socket, port: number, log: Logger): Origin {
  return {
    port,
    remote: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
    local: originalDestination(socket, port, log),
  };
}

function originalDestination(socket: net.Socket, port: number, log: Logger): Address {
  // Node has no public accessor for a socket's descriptor; SO_ORIGINAL_DST needs it.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  try {
    if (fd !== undefined && fd >= 0) {
      const { address, port: original } = native.originalDestination(fd);
      return { address, port: original };
    }
  } catch (error) {
    log.debug('no original destination; assuming the intercepted port', { error: (error as Error).message });
  }
  return { address: socket.localAddress ?? '127.0.0.1', port };
}
