/**
 * Test support: the sidecar's real Session behind a WebSocketServer on loopback, with an app
 * root of its own (holding `hello.txt`) and a nat chain name no real sidecar uses. Incoming
 * subscriptions would program iptables, so the tests that use it don't subscribe. Used by unit
 * tests; nothing in the product imports it.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { MAX_FRAME } from '../../protocol/frame';
import { Peer } from '../../protocol/peer';
import { openRoot } from '../../sidecar/files';
import { IncomingRegistry } from '../../sidecar/incoming/registry';
import { Iptables } from '../../sidecar/incoming/iptables';
import { createLogger } from '../../common/log';
import { loadConfig } from '../../sidecar/config';
import { Session } from '../../sidecar/session';

export interface TestSidecar {
  url: string;
  root: string;
  sessions: Session[];
  close(): Promise<void>;
}

export async function startTestSidecar(): Promise<TestSidecar> {
  const root = mkdtempSync(join(tmpdir(), 'mirrord-protocol-'));
  writeFileSync(join(root, 'hello.txt'), 'hello from the pod\n');
  const log = createLogger('error', {}, () => true);
  const appRoot = openRoot(root);
  if (appRoot instanceof Error) throw appRoot;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX_FRAME, perMessageDeflate: false });
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  const sessions: Session[] = [];
  const config = {
    ...loadConfig({ MIRRORD_CHAIN: 'MIRRORD_UNIT', MIRRORD_LOG_LEVEL: 'error' }),
    agentPort: port,
    appRoot: root,
    appMounts: ['/'],
    wholeRoot: false,
    appEnv: { DATABASE_URL: 'postgres://db:5432/app' },
    pod: { name: 'app-0', namespace: 'default', ip: '10.0.0.5' },
  };
  const context = {
    config,
    incoming: new IncomingRegistry(new Iptables({ chain: 'MIRRORD_UNIT', log }), log, [port]),
    app: () => ({ root: appRoot, env: config.appEnv, close: () => undefined }),
    log,
    sessions: () => sessions,
  };
  wss.on('connection', (socket) => {
    socket.on('error', () => undefined);
    const session = new Session(new Peer(socket, { role: 'sidecar' }), context);
    sessions.push(session);
    void session.ended.then(() => sessions.splice(sessions.indexOf(session), 1));
  });
  return {
    url: `ws://127.0.0.1:${port}/`,
    root,
    sessions,
    close: async () => {
      for (const socket of wss.clients) socket.terminate();
      await new Promise((resolve) => wss.close(resolve));
      rmSync(root, { recursive: true, force: true });
    },
  };
}
