/**
 * The layer's channel: a Unix socket where each process under the layer sends one request
 * line and waits for one reply line (fields separated by tabs). Requests of one connection
 * are answered in order; connections (processes, forked children) are independent.
 */
import net from 'node:net';
import readline from 'node:readline';

export type LineHandler = (fields: string[]) => Promise<string> | string;

export interface LineServer {
  /** Stops serving; processes still holding a channel (a daemon the command left) are cut off. */
  close(): Promise<void>;
}

export async function serveLines(socketPath: string, handle: LineHandler, onError: (error: Error) => void): Promise<LineServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const lines = readline.createInterface({ input: socket, crlfDelay: Infinity });
    let queue = Promise.resolve();
    lines.on('line', (line) => {
      queue = queue.then(async () => {
        let reply: string;
        try {
          reply = await handle(line.split('\t'));
        } catch (error) {
          onError(error as Error);
          reply = 'local'; // when in doubt the process behaves as it would without the layer
        }
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
