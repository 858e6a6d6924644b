/**
 * `npm run bench:cluster`: mirrord on a real cluster (brought up when none answers). How long
 * `mirrord attach deploy/…` takes until the user's program runs (to a 1-replica and a 5-replica
 * Deployment, a session on each pod, alternating), and a stolen request's round
 * trip through the API server's port-forward against a direct request to the app, in one run.
 * The load generator runs on the node (this machine), whose traffic enters the pod through its
 * network interface as any other client's does. Attach is measured with the operator (a ticket
 * per session) and without it: the operator's APIService is removed for that part, the app's pod
 * recreated without ticket checks, and both restored afterwards.
 */
import { packagePath } from '../../common/package-root';
import { createNamespaces, deleteNamespaces, ensureCluster, kubeconfigPath, kubectl, rolledOut, webhookReady } from '../e2e/cluster';
import { demoDeployment, manifests } from '../e2e/manifests';
import { eventually, mirrord } from '../e2e/mirrord';
import { OPERATOR_API_SERVICE } from '../../protocol/operator-api';
import { run } from '../harness/run';
import { fixed, median, table, type LoadResult } from './stats';

const NAMESPACE = `bench-${process.pid}`;
const RUNS = 7;
const STARTED = 'import sys, time; print((time.time_ns() - int(sys.argv[1])) / 1e6)';
const LOCAL_SERVER =
  "require('http').createServer((q, s) => { s.setHeader('x-served-by', 'local'); s.end('local\\n'); }).listen(8080, () => console.log('local listening'))";

const now = () => String(Math.round((performance.timeOrigin + performance.now()) * 1e6));

async function load(url: string, concurrency: number): Promise<LoadResult> {
  const { stdout } = await run(
    process.execPath,
    [packagePath('test/bench/loadgen.js'), url, '--concurrency', String(concurrency), '--duration', '3000', '--warmup', '500'],
    { timeoutMs: 30_000 },
  );
  const result = JSON.parse(stdout) as LoadResult;
  if (result.errors) throw new Error(`${result.errors} of ${result.requests} requests failed (first: ${result.firstError})`);
  return result;
}

/** Whether the app's pod requires tickets; `recreate` restarts it first, so it takes the webhook's current mode. */
async function appAuth(expectRequired: boolean, recreate = false): Promise<boolean> {
  if (recreate) {
    await kubectl(['-n', NAMESPACE, 'rollout', 'restart', 'deployment/app']);
    await rolledOut(NAMESPACE, 'app', 180);
  }
  const env = await kubectl([
    '-n',
    NAMESPACE,
    'get',
    'pods',
    '-l',
    'app=app',
    '--field-selector=status.phase=Running',
    '-o',
    'jsonpath={.items[*].spec.initContainers[*].env[*].name} {.items[*].spec.containers[*].env[*].name}',
  ]);
  const required = env.split(/\s+/).includes('MIRRORD_AUTH');
  if (recreate && required !== expectRequired) throw new Error(`the app's new pod ${required ? 'still requires' : 'does not require'} tickets`);
  return required;
}

/** Runs `measure` with the operator uninstalled (its APIService gone, the app's pod recreated), then puts it back. */
async function withoutOperator(measure: () => Promise<void>): Promise<void> {
  await kubectl(['delete', 'apiservice', OPERATOR_API_SERVICE]);
  try {
    // The webhook looks every 5 s; a pod admitted before it noticed still requires tickets.
    await eventually(() => appAuth(false, true), 120_000, 1_000);
    await measure();
  } finally {
    await kubectl(['apply', '-k', packagePath('manifests/operator')]);
    // A new APIService has no caBundle until an operator starts and writes it.
    await kubectl(['-n', 'mirrord-system', 'rollout', 'restart', 'deployment/mirrord-operator']);
    await rolledOut('mirrord-system', 'mirrord-operator', 180);
    await eventually(() => appAuth(true, true), 120_000, 1_000);
  }
}

async function main(): Promise<void> {
  const undo = await ensureCluster();
  const target = ['deploy/app', '-n', NAMESPACE, '--kubeconfig', kubeconfigPath()];
  try {
    await webhookReady(180);
    await createNamespaces({ labeled: [NAMESPACE] });
    await kubectl(['apply', '-f', '-'], { input: manifests(demoDeployment(NAMESPACE), demoDeployment(NAMESPACE, 'five', { replicas: 5 })) });
    await Promise.all([rolledOut(NAMESPACE, 'app', 180), rolledOut(NAMESPACE, 'five', 180)]);
    const ip = (await kubectl(['-n', NAMESPACE, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
    const url = `http://${ip}:8080/bench`;

    const start = { attach: [] as number[], direct: [] as number[], open: [] as number[], five: [] as number[] };
    const started = async (workload: string[]) => {
      const attach = await mirrord(['attach', ...workload, '-q', '--', 'python3', '-c', STARTED, now()]).done;
      if (attach.code !== 0) throw new Error(`attach failed: ${attach.stderr}`);
      return Number(attach.stdout);
    };
    /** Attach to the 1-replica Deployment (into `into`) and, when asked, to the 5-replica one, turn about. */
    const attachStarts = async (into: number[], five?: number[]) => {
      for (let i = 0; i < RUNS; i++) {
        start.direct.push(Number((await run('python3', ['-c', STARTED, now()])).stdout));
        into.push(await started(target));
        if (five) five.push(await started(fiveReplicas));
      }
    };
    const fiveReplicas = ['deploy/five', ...target.slice(1)];
    const operator = await appAuth(true);
    await attachStarts(start.attach, start.five);

    const direct = [await load(url, 1), await load(url, 10)];
    const session = mirrord(['attach', ...target, '--steal', '--', process.execPath, '-e', LOCAL_SERVER]);
    let stolen: LoadResult[];
    try {
      await session.waitFor(/local listening/, 'stdout', 60_000);
      await session.waitFor(/subscribed port 8080/, 'stderr', 60_000);
      stolen = [await load(url, 1), await load(url, 10)];
      if (!stolen.every((r) => r.servedBy.local === r.requests))
        throw new Error(`not every request was stolen: ${JSON.stringify(stolen.map((r) => r.servedBy))}`);
    } finally {
      await session.stop();
    }
    if (operator) {
      await withoutOperator(() => attachStarts(start.open));
    }

    const ms = (value: number) => `${fixed(value, 3)} ms`;
    console.log('mirrord on a cluster (the API server, the node and this machine share its cores)\n');
    console.log(
      table(
        ['figure', 'direct', 'through mirrord', 'difference'],
        [
          [
            `program starts after${operator ? ', with the operator' : ''} (median of 7)`,
            ms(median(start.direct)),
            ms(median(start.attach)),
            `+${fixed(median(start.attach) - median(start.direct), 1)} ms`,
          ],
          [
            `program starts after, 5 replicas${operator ? ', with the operator' : ''}`,
            ms(median(start.direct)),
            ms(median(start.five)),
            `+${fixed(median(start.five) - median(start.direct), 1)} ms (4 more replicas: +${fixed(median(start.five) - median(start.attach), 1)} ms)`,
          ],
          ...(start.open.length
            ? [
                [
                  'program starts after, without the operator',
                  ms(median(start.direct)),
                  ms(median(start.open)),
                  `+${fixed(median(start.open) - median(start.direct), 1)} ms (the operator: +${fixed(median(start.attach) - median(start.open), 1)} ms)`,
                ],
              ]
            : []),
          [
            'request round trip p50, concurrency 1',
            ms(direct[0]!.latencyMs.p50),
            ms(stolen[0]!.latencyMs.p50),
            `+${fixed(stolen[0]!.latencyMs.p50 - direct[0]!.latencyMs.p50, 3)} ms`,
          ],
          [
            'request round trip p99, concurrency 1',
            ms(direct[0]!.latencyMs.p99),
            ms(stolen[0]!.latencyMs.p99),
            `+${fixed(stolen[0]!.latencyMs.p99 - direct[0]!.latencyMs.p99, 3)} ms`,
          ],
          ['req/s, concurrency 10', fixed(direct[1]!.rps, 0), fixed(stolen[1]!.rps, 0), `${fixed((100 * stolen[1]!.rps) / direct[1]!.rps, 0)}%`],
        ],
      ),
    );
    console.log('\ndirect: this machine to the pod, the app answering; through mirrord: the same requests stolen by');
    console.log('`mirrord attach deploy/app --steal` and answered by a local node server, over the port-forward.');
  } finally {
    await deleteNamespaces(NAMESPACE);
    await undo();
  }
}

main().catch((error: Error) => {
  console.error(`bench failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
