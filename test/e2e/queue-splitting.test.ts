/**
 * Queue splitting on the real cluster with each real broker (RabbitMQ, Kafka, ElasticMQ for SQS;
 * started by the test and reached by the pods at the node's address): the deployed app consumes
 * `orders`; two developers attach with different message filters. Every message reaches exactly
 * the consumer its filter names, none is lost; a session killed with SIGKILL loses none of its
 * messages; after the sessions the app consumes `orders` again and no temporary queue is left. A
 * broker that refuses the credentials (or isn't there), and an unknown queue id, fail the attach
 * with a clear error and leave the workload as it was.
 */
import http from 'node:http';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, rolledOut, webhookReady } from './cluster';
import { manifests } from './manifests';
import { eventually, FIXTURES, mirrord, type Mirrord } from './mirrord';
import { startE2eBroker, type E2eBroker, type QueueType, type TestMessage } from './queue-brokers';
import { stoppedAfterEach } from './stopped-after-each';

/** The node's address: the pods reach the brokers' published ports and the reports' server there. */
const NODE_IP = '10.240.0.1';
const CONSUMER = join(FIXTURES, 'queue-consumer.js');
const sessions = stoppedAfterEach();

let reportServer: http.Server;
let reportUrl = '';
let image = '';
/** Each message id with who consumed it, every time it was consumed. */
const consumed = new Map<string, string[]>();

beforeAll(async () => {
  reportServer = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const { by, id } = JSON.parse(body) as { by: string; id: string };
      consumed.set(id, [...(consumed.get(id) ?? []), by]);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => reportServer.listen(0, '0.0.0.0', resolve));
  reportUrl = `http://${NODE_IP}:${(reportServer.address() as { port: number }).port}/`;
  await webhookReady();
  await rolledOut('mirrord-system', 'mirrord-operator', 180);
  image = (await kubectl(['-n', 'mirrord-system', 'get', 'deployment', 'mirrord-operator', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])).trim();
}, 300_000);

afterAll(async () => {
  await new Promise((resolve) => reportServer?.close(resolve));
});

/** Waits until `count` distinct messages were consumed. */
const consumedAtLeast = (count: number, timeoutMs: number) =>
  eventually(
    async () => {
      if (consumed.size < count) throw new Error(`${consumed.size} of ${count} messages consumed`);
    },
    timeoutMs,
    500,
  );

describe.each<QueueType>(['RabbitMQ', 'Kafka', 'SQS'])('queue splitting on %s', (type) => {
  const namespace = `e2e-queues-${type.toLowerCase()}-${process.pid}`;
  let broker: E2eBroker;

  /** The consumer app, as a Deployment of the operator's image (node and the brokers' clients are in it), its script from a ConfigMap. */
  function consumerApp(name: string, queue: string): string {
    const labels = { app: name };
    const env = { QUEUE: queue, BROKER_TYPE: type, REPORT_URL: reportUrl, NODE_PATH: '/app/node_modules', ...broker.consumerEnv(name) };
    return JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 2,
            containers: [
              {
                name: 'app',
                image,
                imagePullPolicy: 'Never',
                command: [realpathSync(process.execPath), '/consumer/queue-consumer.js'],
                env: [
                  ...Object.entries(env).map(([key, value]) => ({ name: key, value })),
                  { name: 'BROKER_URL', valueFrom: { secretKeyRef: { name: 'broker', key: 'url' } } },
                ],
                volumeMounts: [{ name: 'consumer', mountPath: '/consumer' }],
              },
            ],
            volumes: [{ name: 'consumer', configMap: { name: 'queue-consumer' } }],
          },
        },
      },
    });
  }

  function registry(name: string, secret: string): string {
    return JSON.stringify({
      apiVersion: 'mirrord.dev/v1',
      kind: 'MirrordWorkloadQueueRegistry',
      metadata: { name, namespace },
      spec: {
        consumer: { name, workloadType: 'Deployment', container: 'app' },
        queues: { orders: { queueType: type, nameSource: { envVar: 'QUEUE' }, ...broker.registryQueue, broker: broker.registryBroker(secret) } },
      },
    });
  }

  function configFile(name: string, splitQueues: unknown): string {
    const path = join(tmpdir(), `mirrord-e2e-queues-${process.pid}-${type}-${name}.json`);
    writeFileSync(path, JSON.stringify({ feature: { split_queues: splitQueues, network: { incoming: 'off' } } }));
    return path;
  }

  /** A developer's local copy of the consumer, attached to deploy/NAME with this filter on `user`. */
  function developer(who: string, user: string, target = 'deploy/app', extraEnv: Record<string, string> = {}): Mirrord {
    const config = configFile(who, { orders: { queue_type: type, message_filter: { user } } });
    const session = mirrord(['attach', target, '-n', namespace, '--kubeconfig', kubeconfigPath(), '-f', config, '--', 'node', CONSUMER], {
      env: { ...process.env, CONSUMER: who, ...extraEnv },
    });
    sessions.push(session);
    return session;
  }

  const templateAnnotation = async (name: string) =>
    (await kubectl(['-n', namespace, 'get', 'deployment', name, '-o', `jsonpath={.spec.template.metadata.annotations.mirrord\\.dev/split-queues}`])).trim();
  const splitState = (name: string) => kubectl(['-n', namespace, 'get', 'configmaps', '--ignore-not-found', `mirrord-split-deployment-${name}`, '-o', 'name']);

  /** The temporary queues of the running split of deploy/app, as its state names them. */
  async function temporaries(): Promise<string[]> {
    const text = await kubectl(['-n', namespace, 'get', 'configmap', 'mirrord-split-deployment-app', '-o', 'jsonpath={.data.split\\.json}']);
    const state = JSON.parse(text) as { split: string; members: Record<string, unknown> };
    const member = (key: string) => key.replace(/-/g, '').slice(0, 12);
    return [`orders-mirrord-${state.split}-app`, ...Object.keys(state.members).map((key) => `orders-mirrord-${state.split}-${member(key)}`)];
  }

  /** Once deploy/app is back on `orders`: its split over, the state removed. */
  async function splitOver(): Promise<void> {
    await eventually(
      async () => {
        if ((await splitState('app')).trim()) throw new Error('the split is still there');
        if (await templateAnnotation('app')) throw new Error('deploy/app still points at its split queues');
      },
      180_000,
      1000,
    );
    await rolledOut(namespace, 'app', 120);
  }

  beforeAll(async () => {
    broker = await startE2eBroker(type, NODE_IP);
    await createNamespaces({ labeled: [namespace] });
    for (const queue of ['orders', 'orders-wrong']) await broker.create(queue);
    const secret = (name: string, usable: boolean) =>
      JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData: broker.secretData(usable) });
    await kubectl(['apply', '-f', '-'], {
      input: manifests(
        secret('broker', true),
        secret('broker-unusable', false),
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'queue-consumer', namespace },
          data: { 'queue-consumer.js': readFileSync(CONSUMER, 'utf8') },
        }),
        registry('app', 'broker'),
        registry('wrong', 'broker-unusable'),
        consumerApp('app', 'orders'),
        // Its own queue: it must not take the app's messages.
        consumerApp('wrong', 'orders-wrong'),
      ),
    });
    await Promise.all([rolledOut(namespace, 'app', 120), rolledOut(namespace, 'wrong', 120)]);
  }, 600_000);

  afterAll(async () => {
    await deleteNamespaces(namespace);
    await broker?.stop();
  }, 120_000);

  it('gives each developer the messages their filter names and the app the rest, 1,000 of them, none lost; then the app has its queue back', async () => {
    consumed.clear();
    const alice = developer('alice', '^alice$');
    await alice.waitFor(/alice consumes orders-mirrord-\w+-\w+/, 'stdout', 240_000);
    const bob = developer('bob', '^bob$');
    await bob.waitFor(/bob consumes orders-mirrord-\w+-\w+/, 'stdout', 120_000);
    const names = await temporaries();

    const users = ['alice', 'bob', 'carol', 'dave'];
    const messages: TestMessage[] = Array.from({ length: 1000 }, (_, i) => ({ id: `m${i}`, user: users[i % users.length]! }));
    await broker.publish('orders', messages);
    await consumedAtLeast(messages.length, 180_000);
    const wrong = messages.filter(({ id, user }) => {
      const by = consumed.get(id) ?? [];
      const expected = user === 'alice' || user === 'bob' ? user : 'app-';
      return by.length !== 1 || !by[0]!.startsWith(expected);
    });
    expect(wrong.map(({ id, user }) => `${id} (${user}): ${consumed.get(id)?.join(', ')}`)).toEqual([]);

    await Promise.all([alice.stop(), bob.stop()]);
    await splitOver();
    for (const name of names) expect([name, await broker.exists(name)]).toEqual([name, false]);
    // The app consumes the original queue again: every user's messages are its own.
    consumed.clear();
    await broker.publish(
      'orders',
      users.map((user) => ({ id: `after-${user}`, user })),
    );
    await consumedAtLeast(users.length, 120_000);
    expect([...consumed.values()].every((by) => by.length === 1 && by[0]!.startsWith('app-'))).toBe(true);
  }, 900_000);

  it("loses none of a SIGKILLed developer's messages: what its process hadn't taken goes back to be split again", async () => {
    consumed.clear();
    const alice = developer('alice', '^alice$', 'deploy/app', { DELAY_MS: '50' });
    await alice.waitFor(/alice consumes orders-mirrord-/, 'stdout', 240_000);
    const messages: TestMessage[] = Array.from({ length: 300 }, (_, i) => ({ id: `k${i}`, user: 'alice' }));
    await broker.publish('orders', messages);
    await consumedAtLeast(20, 120_000);
    process.kill(-alice.child.pid!, 'SIGKILL');
    await alice.done;
    expect([...consumed.values()].filter((by) => by.includes('alice')).length).toBeLessThan(messages.length);
    // Her queue is given back once the operator sees her session gone: the app takes the rest.
    await eventually(
      async () => {
        const missing = messages.filter(({ id }) => !consumed.has(id)).length;
        if (missing) throw new Error(`${missing} of alice's messages not consumed by anyone`);
      },
      300_000,
      1000,
    );
    expect([...consumed.values()].flat().filter((by) => by.startsWith('app-')).length).toBeGreaterThan(0);
    await splitOver();
  }, 900_000);

  it('a broker it cannot use: a clear error, and the workload untouched', async () => {
    const session = developer('carol', '^carol$', 'deploy/wrong');
    const { code, stderr } = await session.done;
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/queue split of deployment\/wrong could not start, and deployment\/wrong was left as it is/);
    expect(stderr).toMatch(broker.unusable);
    expect(await templateAnnotation('wrong')).toBe('');
    const pods = await kubectl([
      '-n',
      namespace,
      'get',
      'pods',
      '-l',
      'app=wrong',
      '-o',
      `jsonpath={.items[*].metadata.annotations.mirrord\\.dev/split-queues}`,
    ]);
    expect(pods.trim()).toBe('');
    // The failed split is kept a little for the error to be read, then removed: nothing is left behind.
    await eventually(async () => {
      if ((await splitState('wrong')).trim()) throw new Error('the failed split is still there');
    }, 60_000);
  }, 180_000);

  it('an unknown queue id: the CLI names it and what the registry declares, before anything changes', async () => {
    const config = configFile('unknown', { payments: { queue_type: type, message_filter: { user: '^me$' } } });
    const session = mirrord(['attach', 'deploy/app', '-n', namespace, '--kubeconfig', kubeconfigPath(), '-f', config, '--', 'node', CONSUMER]);
    sessions.push(session);
    const { code, stderr } = await session.done;
    expect(code).not.toBe(0);
    expect(stderr).toContain(`feature.split_queues.payments: MirrordWorkloadQueueRegistry ${namespace}/app declares no queue "payments"; it declares "orders"`);
    expect(await templateAnnotation('app')).toBe('');
    expect(await splitState('app')).toBe('');
  }, 120_000);
});
