/**
 * What a session will do, as the operator's ticket request says it: the incoming ports with their
 * mode and filter (port 0 for "whatever the program listens on" when the config names no ports),
 * and the pod's files.
 */
import type { IncomingOptions } from '../../intproxy/incoming';
import type { TicketSpec } from '../../protocol/operator-api';

export function ticketPorts(incoming: IncomingOptions): TicketSpec['ports'] {
  if (incoming.mode === 'off') return [];
  const mode = incoming.mode;
  const ports = incoming.ports?.length ? incoming.ports : [0];
  return ports
    .filter((port) => !incoming.ignorePorts.includes(port))
    .map((port) => {
      const filtered = incoming.httpFilter && (incoming.httpFilterPorts === undefined || incoming.httpFilterPorts.includes(port));
      return filtered ? { port, mode, filter: incoming.httpFilter } : { port, mode };
    });
}
