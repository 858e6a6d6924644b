/**
 * A steal session against an injected pod, driven the way the CLI drives it: the API server's
 * port-forward to the sidecar's loopback port, then protocol/'s client. While the session holds
 * the port, another pod's requests to the app reach this test; when it ends, the sidecar's
 * iptables rules are gone and the app answers again.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_AGENT_PORT } from '../../common/pod-contract';
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, podReady, webhookReady } from './cluster';
import { eventually } from './mirrord';

const namespace = `e2e-steal-${process.pid}`;

const manifests = ['app', 'client']
  .map((name) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: { containers: [{ name: 'app', image: 'mirrord.local/demo:dev', imagePullPolicy: 'Never', args: ['serve'] }] },
    }),
  )
  .join('\n---\n');

let appUrl = '';

const fetchFromClient = () => kubectl(['-n', namespace, 'exec', 'client', '-c', 'app', '--', '/demo', 'get', appUrl]);

beforeAll(async () => {
  await webhookReady();
  await createNamespaces({ labeled: [namespace] });
  await kubectl(['apply', '-f', '-'], { input: manifests });
  for (const pod of ['app', 'client']) {
    await podReady(namespace, pod);
  }
  const ip = (await kubectl(['-n', namespace, 'get', 'pod', 'app', '-o', 'jsonpath={.status.podIP}'])).trim();
  appUrl = `http://${ip}:8080/`;
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace);
}, 10 * 60_000);

test('a stolen port answers from the session, and from the app again once the session ends', async () => {
  expect(await eventually(fetchFromClient)).toContain('hello from app');

  // Needs `npm run build` (test:e2e runs it): the session runs from dist/, as the CLI does.
  const driver = spawn(
    process.execPath,
    [join(__dirname, 'fixtures', 'steal-session.js'), kubeconfigPath(), namespace, 'app', String(DEFAULT_AGENT_PORT), '8080'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  driver.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => driver.on('exit', resolve));
  const subscribed = new Promise<void>((resolve, reject) => {
    driver.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('subscribed')) resolve();
    });
    void exited.then((code) => reject(new Error(`the session ended with ${code}: ${stderr}`)));
  });
  try {
    await subscribed;
    const out = await fetchFromClient();
    expect(out).toContain('status 200\nstolen by the test');
    expect(stdout).toContain('stolen');
  } finally {
    driver.stdin.end();
    const stuck = setTimeout(() => driver.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(stuck);
  }

  // The rules go with the session: the app answers again, without any restart.
  await eventually(async () => {
    const out = await fetchFromClient();
    if (!out.includes('hello from app')) throw new Error(`still stolen: ${out}`);
    return out;
  });
}, 300_000);
