import { execFile } from 'node:child_process';
import http from 'node:http';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { healthListener } from '../../sidecar/health';
import { livenessScript, readinessScript } from './sidecar-container';

const run = promisify(execFile);

/** Runs a probe's exact command, as the kubelet would inside the pod; its exit code. */
async function probe(script: string): Promise<number> {
  try {
    await run('bash', ['-c', script], { timeout: 10_000 });
    return 0;
  } catch (error) {
    return (error as { code: number }).code;
  }
}

async function listening<T extends Server | http.Server>(server: T): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const close = (server: Server | http.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listening(server);
  await close(server);
  return port;
}

describe('the readiness probe command', () => {
  it('succeeds when the agent accepts on loopback, fails when nothing listens', async () => {
    const server = createServer((socket) => socket.destroy());
    const port = await listening(server);
    expect(await probe(readinessScript(port))).toBe(0);
    await close(server);
    expect(await probe(readinessScript(await freePort()))).toBe(1);
  });
});

describe('the liveness probe command', () => {
  it("succeeds when the agent's health endpoint answers", async () => {
    const server = http.createServer(healthListener(() => ({ sessions: 0, opened: 0, loopDelayMs: 0 })));
    const port = await listening(server);
    expect(await probe(livenessScript(port))).toBe(0);
    await close(server);
  });

  it('fails when connections are accepted but never answered (a stalled event loop), within its own 2 s', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const server = createServer((socket) => sockets.add(socket));
    const port = await listening(server);
    const started = Date.now();
    expect(await probe(livenessScript(port))).toBe(1);
    expect(Date.now() - started).toBeLessThan(3000); // the kubelet's timeoutSeconds
    for (const socket of sockets) socket.destroy();
    await close(server);
  });

  it('fails on an answer other than 200, and when nothing listens', async () => {
    const server = http.createServer((_req, res) => res.writeHead(503).end());
    const port = await listening(server);
    expect(await probe(livenessScript(port))).toBe(1);
    await close(server);
    expect(await probe(livenessScript(await freePort()))).toBe(1);
  });
});
