/**
 * The keep-alive pool of a filtered steal: the requests a client sends on one connection reuse
 * one stream to each session that steals them (and the local server's one connection) while both
 * ends keep it alive, so a stolen request costs no new stream, no new local connection, and the
 * peer the app sees is still that client.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { MuxStream } from '../../protocol/stream';
import { StreamAgent } from './stream-agent';
import type { Subscriber } from './subscriber';

/** Opens a stream to `thief`, announced with `request`. */
export type OpenRequestStream = (request: http.IncomingMessage, thief: Subscriber) => MuxStream | undefined;

interface Slot {
  agent: StreamAgent;
  /** The client request most recently handed to `agent`. */
  latest: http.IncomingMessage;
}

export class StreamPool {
  /** per client connection, the agent of each session that stole requests from it */
  private readonly byClient = new WeakMap<net.Socket, Map<Subscriber, Slot>>();

  constructor(private readonly open: OpenRequestStream) {}

  /** The kept-alive agent for `thief`'s requests from the client connection `req` came on. */
  agentFor(req: http.IncomingMessage, thief: Subscriber): StreamAgent {
    const client = req.socket;
    let slots = this.byClient.get(client);
    if (!slots) {
      const created = new Map<Subscriber, Slot>();
      this.byClient.set(client, (slots = created));
      client.once('close', () => created.forEach(({ agent }) => agent.destroy()));
    }
    let slot = slots.get(thief);
    if (!slot) {
      // A new stream is announced with the request it is opened for: the latest one routed here.
      const opened: Slot = { latest: req, agent: new StreamAgent(() => this.open(opened.latest, thief), true) };
      slots.set(thief, (slot = opened));
    }
    slot.latest = req;
    return slot.agent;
  }

  /** An agent for `req` alone, never pooled: an upgraded connection, or a request sent again. */
  oneOff(req: http.IncomingMessage, thief: Subscriber): StreamAgent {
    return new StreamAgent(() => this.open(req, thief), false);
  }
}
