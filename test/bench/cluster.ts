/**
 * `npm run bench:cluster`: mirrord on a real cluster (brought up when none answers). How long
 * `mirrord attach deploy/…` takes until the user's program runs, and a stolen request's round
 * trip through the API server's port-forward against a direct request to the app, in one run.
 * The load generator runs on the node (this machine), whose traffic enters the pod through its
 * network interface as any other client's does.
 */
import { packagePath } from '../../common/package-root';
import { createNamespaces, deleteNamespaces, ensureCluster, kubeconfigPath, kubectl, rolledOut, webhookReady } from '../e2e/cluster';
import { demoDeployment } from '../e2e/manifests';
import { mirrord } from '../e2e/mirrord';
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

async function main(): Promise<void> {
  const undo = await ensureCluster();
  const target = ['deploy/app', '-n', NAMESPACE, '--kubeconfig', kubeconfigPath()];
  try {
    await webhookReady(180);
    await createNamespaces({ labeled: [NAMESPACE] });
    await kubectl(['apply', '-f', '-'], { input: demoDeployment(NAMESPACE) });
    await rolledOut(NAMESPACE, 'app', 180);
    const ip = (await kubectl(['-n', NAMESPACE, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
    const url = `http://${ip}:8080/bench`;

    const start = { attach: [] as number[], direct: [] as number[] };
    for (let i = 0; i < RUNS; i++) {
      start.direct.push(Number((await run('python3', ['-c', STARTED, now()])).stdout));
      const attach = await mirrord(['attach', ...target, '-q', '--', 'python3', '-c', STARTED, now()]).done;
      if (attach.code !== 0) throw new Error(`attach failed: ${attach.stderr}`);
      start.attach.push(Number(attach.stdout));
    }

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

    const ms = (value: number) => `${fixed(value, 3)} ms`;
    console.log('mirrord on a cluster (the API server, the node and this machine share its cores)\n');
    console.log(
      table(
        ['figure', 'direct', 'through mirrord', 'difference'],
        [
          [
            'program starts after (median of 7)',
            ms(median(start.direct)),
            ms(median(start.attach)),
            `+${fixed(median(start.attach) - median(start.direct), 1)} ms`,
          ],
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
