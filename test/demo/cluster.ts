/**
 * The demo: a real cluster with the mirrord webhook and operator, a sample `shop` app in a labeled namespace,
 * and a local copy of the shop run under `mirrord attach deploy/shop --steal`: a request made
 * inside the cluster is answered by the local process, which itself calls a cluster-only
 * Service by name.
 */
import { spawn } from 'node:child_process';
import { packagePath } from '../../common/package-root';
import { ensureCluster, kubeconfigPath, kubectl, podReady, rolledOut, webhookReady } from '../e2e/cluster';
import { demoClient, demoDeployment, manifests } from '../e2e/manifests';
import { eventually, MAIN } from '../e2e/mirrord';

const NAMESPACE = 'mirrord-demo';
const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const step = (text: string) => console.log(`\n${bold('▸')} ${text}`);
const show = (label: string, text: string) => console.log(`  ${label.padEnd(30)} ${text.trim().split('\n').pop()}`);

const workloads = manifests(
  demoDeployment(NAMESPACE, 'shop', { service: true }),
  demoDeployment(NAMESPACE, 'inventory', { service: true }),
  demoClient(NAMESPACE, 'visitor'),
);

const visit = () => kubectl(['-n', NAMESPACE, 'exec', 'visitor', '--', '/demo', 'get', 'http://shop/checkout']);

/** `attempt`'s first value that `accept` takes, retried until `timeoutMs`. */
function until<T>(attempt: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  return eventually(async () => {
    const value = await attempt();
    if (!accept(value)) throw new Error(`gave up waiting; last: ${String(value).trim()}`);
    return value;
  }, timeoutMs);
}

async function main(): Promise<void> {
  step('Bringing up the cluster with the mirrord webhook and operator (the first time builds Kubernetes: about 12 minutes)');
  await ensureCluster();
  await webhookReady(180);
  // Sessions need the operator's ticket (policies decide what it allows; here there are none).
  await rolledOut('mirrord-system', 'mirrord-operator', 180);

  step(`Deploying the shop and its inventory in namespace ${NAMESPACE}, labeled mirrord.dev/injection=enabled`);
  await kubectl(['create', 'namespace', NAMESPACE]).catch(() => undefined);
  await kubectl(['label', 'namespace', NAMESPACE, 'mirrord.dev/injection=enabled', '--overwrite']);
  await kubectl(['apply', '-f', '-'], { input: workloads });
  for (const deployment of ['shop', 'inventory']) {
    await rolledOut(NAMESPACE, deployment, 180);
  }
  await podReady(NAMESPACE, 'visitor', 180);
  const containers = await kubectl(['-n', NAMESPACE, 'get', 'pods', '-l', 'app=shop', '-o', 'jsonpath={.items[0].spec.initContainers[*].name}']);
  show('the shop pod got a sidecar:', containers || '(none!)');
  show('a visitor pod asks the shop:', await until(visit, (out) => out.includes('hello from')));

  step('Running a local copy of the shop: mirrord attach deploy/shop --steal -- node local-shop.js');
  const started = Date.now();
  const session = spawn(
    process.execPath,
    [
      MAIN,
      'attach',
      'deploy/shop',
      '-n',
      NAMESPACE,
      '--kubeconfig',
      kubeconfigPath(),
      '--steal',
      '--',
      process.execPath,
      packagePath('test/demo/local-shop.js'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  session.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  session.stderr.on('data', (chunk: Buffer) => {
    log += chunk.toString();
    for (const line of chunk.toString().split('\n').filter(Boolean)) console.log(`  ${line}`);
  });
  try {
    await until(
      async () => log,
      (text) => text.includes('local shop listening'),
      30_000,
    );
    show('attached and listening after:', `${Date.now() - started} ms`);
    const answer = await until(visit, (out) => out.includes('your laptop'), 30_000);
    show('the visitor pod asks again:', answer);
  } finally {
    session.kill('SIGTERM');
    await new Promise((resolve) => session.once('close', resolve));
  }

  step('Detached: the shop in the cluster answers again, and the pod has no rules of ours');
  show('the visitor pod asks:', await until(visit, (out) => out.includes('hello from shop')));
  const pod = (await kubectl(['-n', NAMESPACE, 'get', 'pods', '-l', 'app=shop', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  const rules = await until(
    () => kubectl(['-n', NAMESPACE, 'exec', pod, '-c', 'mirrord-agent', '--', 'iptables-save', '-t', 'nat']),
    (text) => !text.includes('MIRRORD'),
    15_000,
  );
  show('nat rules in the pod:', rules.includes('REDIRECT') ? 'some left (a bug!)' : 'none of mirrord’s');
  console.log(`\n${bold('Done.')} The cluster is still up for you to try:`);
  for (const line of tryItYourself(kubeconfigPath(), process.env.SUDO_USER)) console.log(`  ${line}`);
}

/**
 * The commands to go on with. Run through sudo, the demo leaves a kubeconfig only root can read
 * (the cluster's admin credentials): the user first takes a copy of their own.
 */
function tryItYourself(kubeconfig: string, sudoUser: string | undefined): string[] {
  const own = '~/.kube/mirrord-demo.kubeconfig';
  return [
    ...(sudoUser
      ? [`mkdir -p ~/.kube && sudo install -m 600 -o ${sudoUser} ${kubeconfig} ${own}`, `export KUBECONFIG=${own}`]
      : [`export KUBECONFIG=${kubeconfig}`]),
    `mirrord attach deploy/shop -n ${NAMESPACE} --steal -- <your command>`,
    'npm run cluster:down    # when you are finished',
  ];
}

main().catch((error: Error) => {
  console.error(`demo failed: ${error.message}`);
  process.exit(1);
});
