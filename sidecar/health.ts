/**
 * The liveness endpoint: plain HTTP on the agent port, answered by the event loop itself, so a
 * stalled loop fails the probe by its timeout (a TCP connect would pass: the kernel accepts
 * connections whether or not the loop ever reads them). Everything else on the port is the
 * session WebSocket.
 */
import type http from 'node:http';
import { HEALTH_PATH } from '../common/pod-contract';

export interface Health {
  sessions: number;
  /** Sessions opened since the sidecar started (a targetless pod ends once they are all over). */
  opened: number;
  /** The worst event-loop delay since the previous check, in ms. */
  loopDelayMs: number;
}

export function healthListener(health: () => Health): http.RequestListener {
  return (req, res) => {
    if (req.method === 'GET' && req.url === HEALTH_PATH) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify({ status: 'ok', ...health() })}\n`);
    } else {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('this port speaks the mirrord session protocol over WebSocket\n');
    }
  };
}
