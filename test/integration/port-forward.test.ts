/**
 * `mirrord port-forward` (the built CLI) against the pod: a local port reaches a pod-only
 * service by its pod-only name, and the pod's app port comes to a local server, stolen; stopping
 * it leaves no rule behind.
 */
import { spawn } from 'node:child_process';
import { MAIN } from '../e2e/mirrord';
import { SERVICE_NAME } from '../harness/netns';
import { APP_PORT } from '../harness/pod';
import { freePort } from '../harness/free-port';
import { httpGet } from '../harness/http-get';
import { noRulesLeft, podSuite } from './suite';

jest.setTimeout(60_000);

describe('mirrord port-forward', () => {
  const suite = podSuite();

  it('-L reaches a pod-only name from the pod, -R steals the app port to a local server, and Ctrl-C removes the rules', async () => {
    const [local, forwarded] = [suite.local.port, await freePort()];
    const child = spawn(process.execPath, [
      MAIN,
      'port-forward',
      '--agent-cmd',
      suite.pod.agentCommand,
      '-L',
      `${forwarded}:${SERVICE_NAME}:7080`,
      '-R',
      `${local}:${APP_PORT}`,
    ]);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => (stderr.includes(`pod port ${APP_PORT} (steal) -> 127.0.0.1:${local}`) ? resolve() : undefined);
        child.stderr.on('data', check);
        child.on('close', () => reject(new Error(`port-forward ended: ${stderr}`)));
      });
      expect(stderr).toContain(`127.0.0.1:${forwarded} -> ${SERVICE_NAME}:7080, from pod default/test-pod`);
      expect(await httpGet('127.0.0.1', forwarded, '/through')).toBe('svc GET /through\n');
      expect((await suite.pod.request('/stolen')).body).toBe('local GET /stolen body=0\n');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    await noRulesLeft(suite.pod);
    expect((await suite.pod.request('/after')).body).toBe('app GET /after body=0\n');
  });

  it('a spec that does not parse is one line and exit code 2', async () => {
    const child = spawn(process.execPath, [MAIN, 'port-forward', '--agent-cmd', suite.pod.agentCommand, '-L', 'db']);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(2);
    expect(stderr).toBe('mirrord: -L db: expected [LOCAL_PORT:]HOST:PORT\nhint: e.g. -L 5432:db.internal:5432, or -L db:5432 (the same port here)\n');
  });
});
