/**
 * The layer's channel: a Unix socket where each process under the layer sends one request
 * line and waits for one reply line (fields separated by tabs). Requests of one connection
 * are answered in order; connections (processes, forked children) are independent.
 */
import net from 'node:net';
import readline from 'node:readline';

export type LineHandler = (fields: string[]) => Promise<string> | string;

export function serveLines(socketPath: string, handle: LineHandler, onError: (error: Error) => void): Promise<net.Server> {
  const server = net.createServer((socket) => {
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
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve(server));
  });
}
