import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { startClient } from './start-client';
import { openTransport } from './transport';

describe('opening the session', () => {
  it('gives up on an agent that never answers, within the timeout, and says through what', async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const started = Date.now();
    await expect(startClient(await openTransport({ url }, {}), { client: 'test' }, 300)).rejects.toMatchObject({
      message: `could not reach the agent through ${url}: no answer within 0.3s`,
      hint: expect.stringMatching(/port-forward/),
    });
    expect(Date.now() - started).toBeLessThan(2000);
    server.close();
  });

  it("reports an agent command's exit status and stderr rather than the broken pipe", async () => {
    await expect(startClient(await openTransport({ command: 'echo "no such namespace" >&2; exit 4' }, {}), { client: 'test' }, 3000)).rejects.toMatchObject({
      message: 'could not reach the agent through the agent command `echo "no such namespace" >&2; exit 4`: the command exited (code 4): no such namespace',
    });
  });

  it('refuses URLs that are not WebSocket URLs, and nothing to attach to', async () => {
    await expect(openTransport({ url: 'http://127.0.0.1:1' }, {})).rejects.toThrow(
      '--agent-url http://127.0.0.1:1: expected ws://HOST:PORT or wss://HOST:PORT',
    );
    await expect(openTransport({}, {})).rejects.toThrow('nothing to attach to: no target and no agent');
  });
});
