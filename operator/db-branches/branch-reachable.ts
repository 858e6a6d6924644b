/**
 * Whether a ready branch answers at its Service: the Pod's readiness reaches the Service's
 * endpoints and each node's proxy rules a moment later, and until then a connection to the
 * Service's address is refused. The operator connects as the local process will, through the
 * Service, before it tells the session the branch is there.
 */
import net from 'node:net';

const CONNECT_TIMEOUT_MS = 1_000;

export function branchAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
