/**
 * The layer's channel: a Unix socket where each process under the layer sends one request
 * line and waits for one reply line (channel.ts: the contract and its codec). Requests of one
 * connection are answered in order; connections (processes, forked children) are independent.
 */
import net from 'node:net';
import readline from 'node:readline';
import { ChannelError, decodeRequest, encodeReply, FALLBACK_REPLY, type ChannelHandlers, type Op, type Reply, type Request } from './channel';

export interface ChannelServer {
  /** Stops serving; processes still holding a channel (a daemon the command left) are cut off. */
  close(): Promise<void>;
}

export interface ChannelReports {
  /** The layer asked for an operation this proxy does not know (a newer layer). */
  unknown(op: string): void;
  /** A request that was malformed, or whose handler failed. */
  failed(error: Error): void;
}

export async function serveChannel(socketPath: string, handlers: ChannelHandlers, reports: ChannelReports): Promise<ChannelServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const lines = readline.createInterface({ input: socket, crlfDelay: Infinity });
    let queue = Promise.resolve();
    lines.on('line', (line) => {
      queue = queue.then(async () => {
        const reply = await answer(line, handlers, reports);
        if (!socket.destroyed) socket.write(`${reply}\n`);
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** One request line's reply line; when in doubt the process behaves as it would without the layer. */
async function answer(line: string, handlers: ChannelHandlers, reports: ChannelReports): Promise<string> {
  try {
    const request = decodeRequest(line);
    const handle = handlers[request.op] as (request: Request) => Reply<Op> | Promise<Reply<Op>>;
    return encodeReply(request.op, await handle(request));
  } catch (error) {
    if (error instanceof ChannelError && error.reason === 'unknown') reports.unknown(error.op!);
    else reports.failed(error as Error);
    return FALLBACK_REPLY;
  }
}
