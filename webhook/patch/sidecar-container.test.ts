import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { loopbackConnectScript } from './sidecar-container';

const run = promisify(execFile);

/** Runs the readiness probe's exact command, as the kubelet would inside the pod. */
async function probe(port: number): Promise<number> {
  try {
    await run(process.execPath, ['-e', loopbackConnectScript(port)], { timeout: 10_000 });
    return 0;
  } catch (error) {
    return (error as { code: number }).code;
  }
}

describe('the readiness probe command', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('succeeds when the agent accepts on loopback', async () => {
    expect(await probe(port)).toBe(0);
  });

  it('fails when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await probe(freePort)).toBe(1);
  });
});
