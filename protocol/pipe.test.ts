import net from 'node:net';
import { once } from 'node:events';
import { pipeOneWay } from './pipe';

/** Two connected TCP sockets on loopback. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = once(server, 'connection');
  const near = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  const [far] = (await accepted) as [net.Socket];
  server.close();
  return [near, far];
}

const read = async (socket: net.Socket) => {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await once(socket, 'end');
  return text;
};

describe('pipeOneWay', () => {
  it('carries one way only: the far side gets the bytes, its answer is dropped, and its end ends the near side', async () => {
    // sender → [copy … local] → server: the copy's side facing the sender is `copy`, the server's `local`.
    const [sender, copy] = await socketPair();
    const [local, server] = await socketPair();
    pipeOneWay(copy, local);
    const senderGets = read(sender);
    const serverGets = read(server);
    sender.end('the request');
    expect(await serverGets).toBe('the request');
    server.end('an answer nobody wants');
    expect(await senderGets).toBe('');
  });

  it('tears both down when either side is reset', async () => {
    const [sender, copy] = await socketPair();
    const [local, server] = await socketPair();
    pipeOneWay(copy, local);
    server.on('error', () => undefined);
    sender.on('error', () => undefined);
    const closed = once(copy, 'close');
    server.resetAndDestroy();
    await closed;
    expect(copy.destroyed).toBe(true);
    sender.destroy();
  });
});
