/**
 * Where the program's connection or datagram to a destination goes instead: the endpoint of this
 * machine that stands for it. The resolver files' name server is served by resolver.ts's
 * servers; a destination the proxy sends through the pod, by the proxy's relay (with the pod-side
 * source the connection has there); the program's own intercepted listener, by its real local
 * port. 'local' where the proxy leaves the destination alone; the answer for a failure.
 */
import type { Endpoint } from '../../layer/syscall/native';
import type { ChannelHandlers } from '../channel';
import { relayLoopback } from '../outgoing';
import { otherwise, type Answer } from './answer';

/** The name server the resolver files name, and the endpoints of this machine it is served at. */
export interface NameServer {
  address: string;
  udpPort: number;
  tcpPort: number;
}

export interface StandIn {
  endpoint: Endpoint;
  /** A relayed connection's source in the pod. */
  podLocal?: Endpoint;
}

export class StandIns {
  constructor(
    private readonly handlers: ChannelHandlers,
    private readonly nameServer?: NameServer,
  ) {}

  async for(protocol: 'tcp' | 'udp', to: Endpoint): Promise<StandIn | 'local' | Answer> {
    const server = this.nameServer;
    if (server && to.address === server.address && to.port === 53) {
      return { endpoint: { address: '127.0.0.1', port: protocol === 'udp' ? server.udpPort : server.tcpPort } };
    }
    const reply = await this.handlers.connect({ op: 'connect', protocol, address: to.address, port: to.port });
    if (reply.kind === 'local') return 'local';
    if (reply.kind === 'error') return otherwise(reply);
    // A relay listens on the loopback of the destination's family, the program's listener on IPv4's.
    if (reply.kind === 'listener') return { endpoint: { address: '127.0.0.1', port: reply.localPort } };
    return { endpoint: { address: relayLoopback(to.address), port: reply.relayPort }, podLocal: reply.podLocal };
  }
}
