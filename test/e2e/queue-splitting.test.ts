/**
 * Queue splitting on the real cluster with a real RabbitMQ (test/images/rabbitmq, started by the
 * test and reached by the pods at the node's address): the deployed app consumes `orders`; two
 * developers attach with different message filters. Every message reaches exactly the consumer
 * its filter names, none is lost; a session killed with SIGKILL loses none of its messages; after
 * the sessions the app consumes `orders` again and no temporary queue is left. A broker that
 * refuses the credentials, and an unknown queue id, fail the attach with a clear error and leave
 * the workload as it was.
 */
import http from 'node:http';
import { realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, rolledOut, webhookReady } from './cluster';
import { manifests } from './manifests';
import { eventually, FIXTURES, mirrord, type Mirrord } from './mirrord';
import { stoppedAfterEach } from './stopped-after-each';
import { startRabbitMq } from '../harness/brokers/rabbitmq';
import type { RunningBroker } from '../harness/brokers/docker';

const namespace = `e2e-queues-${process.pid}`;
/** The node's address: the pods reach the broker's published port and the reports' server there. */
const NODE_IP = '10.240.0.1';
const CONSUMER = join(FIXTURES, 'queue-consumer.js');
const sessions = stoppedAfterEach();

let broker: RunningBroker;
let reportServer: http.Server;
let reportUrl = '';
/** Each message id with who consumed it, every time it was consumed. */
const consumed = new Map<string, string[]>();

const forPods = (url: string) => url.replace(/@[^:/]+:/, `@${NODE_IP}:`);

async function publish(messages: { id: string; user: string }[]): Promise<void> {
  const connection = await amqp.connect(broker.url);
  const channel = await connection.createConfirmChannel();
  for (const { id, user } of messages) channel.publish('', 'orders', Buffer.from(id), { persistent: true, headers: { id, user } });
  await channel.waitForConfirms();
  await connection.close();
}

/** Whether the broker has the queue. */
async function queueExists(name: string): Promise<boolean> {
  const connection = await amqp.connect(broker.url);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    await channel.checkQueue(name);
    return true;
  } catch {
    return false;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** The consumer app, as a Deployment of the operator's image (node and amqplib are in it), its script from a ConfigMap. */
function consumerApp(name: string, image: string, queue: string): string {
  const labels = { app: name };
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
                { name: 'QUEUE', value: queue },
                { name: 'BROKER_URL', valueFrom: { secretKeyRef: { name: 'rabbit', key: 'url' } } },
                { name: 'REPORT_URL', value: reportUrl },
                { name: 'NODE_PATH', value: '/app/node_modules' },
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
      queues: { orders: { queueType: 'RabbitMQ', nameSource: { envVar: 'QUEUE' }, broker: { url: { secretKeyRef: { name: secret, key: 'url' } } } } },
    },
  });
}

function configFile(name: string, splitQueues: unknown): string {
  const path = join(tmpdir(), `mirrord-e2e-queues-${process.pid}-${name}.json`);
  writeFileSync(path, JSON.stringify({ feature: { split_queues: splitQueues, network: { incoming: 'off' } } }));
  return path;
}

/** A developer's local copy of the consumer, attached to deploy/NAME with this filter on `user`. */
function developer(who: string, user: string, target = 'deploy/app', extraEnv: Record<string, string> = {}): Mirrord {
  const config = configFile(who, { orders: { queue_type: 'RabbitMQ', message_filter: { user } } });
  const session = mirrord(['attach', target, '-n', namespace, '--kubeconfig', kubeconfigPath(), '-f', config, '--', 'node', CONSUMER], {
    env: { ...process.env, CONSUMER: who, ...extraEnv },
  });
  sessions.push(session);
  return session;
}

const templateAnnotation = async (name: string) =>
  (await kubectl(['-n', namespace, 'get', 'deployment', name, '-o', `jsonpath={.spec.template.metadata.annotations.mirrord\\.dev/split-queues}`])).trim();

/** The temporary queues of the running split of deploy/app, as its state names them. */
async function temporaries(): Promise<string[]> {
  const text = await kubectl(['-n', namespace, 'get', 'configmap', 'mirrord-split-deployment-app', '-o', 'jsonpath={.data.split\\.json}']);
  const state = JSON.parse(text) as { split: string; members: Record<string, unknown> };
  return [
    `orders-mirrord-${state.split}-app`,
    ...Object.keys(state.members).map((member) => `orders-mirrord-${state.split}-${member.replace(/-/g, '').slice(0, 12)}`),
  ];
}

/** Once deploy/app is back on `orders`: its split over, the state removed. */
async function splitOver(): Promise<void> {
  await eventually(
    async () => {
      const maps = await kubectl(['-n', namespace, 'get', 'configmaps', '-l', 'mirrord.dev/queue-split=true', '-o', 'name']);
      if (maps.trim()) throw new Error(`the split is still there: ${maps.trim()}`);
      if (await templateAnnotation('app')) throw new Error('deploy/app still points at its split queues');
    },
    120_000,
    1000,
  );
  await rolledOut(namespace, 'app', 120);
}

beforeAll(async () => {
  broker = await startRabbitMq();
  consumed.clear();
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
  const image = (
    await kubectl(['-n', 'mirrord-system', 'get', 'deployment', 'mirrord-operator', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'])
  ).trim();
  await createNamespaces({ labeled: [namespace] });
  const connection = await amqp.connect(broker.url);
  const channel = await connection.createChannel();
  for (const queue of ['orders', 'orders-wrong']) await channel.assertQueue(queue, { durable: true });
  await connection.close();
  await kubectl(['apply', '-f', '-'], {
    input: manifests(
      JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rabbit', namespace }, stringData: { url: forPods(broker.url) } }),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'rabbit-wrong', namespace },
        stringData: { url: forPods(broker.url).replace('mirrord:mirrord@', 'mirrord:wrong@') },
      }),
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'queue-consumer', namespace }, data: { 'queue-consumer.js': consumerScript() } }),
      registry('app', 'rabbit'),
      registry('wrong', 'rabbit-wrong'),
      consumerApp('app', image, 'orders'),
      // Its own queue: it must not take the app's messages.
      consumerApp('wrong', image, 'orders-wrong'),
    ),
  });
  await Promise.all([rolledOut(namespace, 'app', 120), rolledOut(namespace, 'wrong', 120)]);
}, 600_000);

afterAll(async () => {
  await deleteNamespaces(namespace);
  await new Promise((resolve) => reportServer?.close(resolve));
  await broker?.stop();
}, 120_000);

function consumerScript(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:fs') as typeof import('node:fs')).readFileSync(CONSUMER, 'utf8');
}

it('gives each developer the messages their filter names and the app the rest, 1,000 of them, none lost; then the app has its queue back', async () => {
  const alice = developer('alice', '^alice$');
  await alice.waitFor(/alice consumes orders-mirrord-\w+-\w+/, 'stdout', 240_000);
  const bob = developer('bob', '^bob$');
  await bob.waitFor(/bob consumes orders-mirrord-\w+-\w+/, 'stdout', 120_000);
  const names = await temporaries();

  const users = ['alice', 'bob', 'carol', 'dave'];
  const messages = Array.from({ length: 1000 }, (_, i) => ({ id: `m${i}`, user: users[i % users.length]! }));
  await publish(messages);
  await eventually(
    async () => {
      if (consumed.size < messages.length) throw new Error(`${consumed.size} of ${messages.length} messages consumed`);
    },
    120_000,
    500,
  );
  const wrong = messages.filter(({ id, user }) => {
    const by = consumed.get(id) ?? [];
    const expected = user === 'alice' || user === 'bob' ? user : 'app-';
    return by.length !== 1 || !by[0]!.startsWith(expected);
  });
  expect(wrong.map(({ id, user }) => `${id} (${user}): ${consumed.get(id)?.join(', ')}`)).toEqual([]);

  await Promise.all([alice.stop(), bob.stop()]);
  await splitOver();
  for (const name of names) expect(await queueExists(name)).toBe(false);
  // The app consumes the original queue again: every user's messages are its own.
  consumed.clear();
  await publish(users.map((user) => ({ id: `after-${user}`, user })));
  await eventually(async () => {
    if (consumed.size < users.length) throw new Error(`${consumed.size} of ${users.length} consumed`);
  }, 60_000);
  expect([...consumed.values()].every((by) => by.length === 1 && by[0]!.startsWith('app-'))).toBe(true);
}, 600_000);

it("loses none of a SIGKILLed developer's messages: what its process hadn't taken goes back to be split again", async () => {
  consumed.clear();
  const alice = developer('alice', '^alice$', 'deploy/app', { DELAY_MS: '50' });
  await alice.waitFor(/alice consumes orders-mirrord-/, 'stdout', 240_000);
  const messages = Array.from({ length: 300 }, (_, i) => ({ id: `k${i}`, user: 'alice' }));
  await publish(messages);
  await eventually(async () => {
    if (consumed.size < 20) throw new Error(`${consumed.size} consumed`);
  }, 60_000);
  process.kill(-alice.child.pid!, 'SIGKILL');
  await alice.done;
  const byAlice = [...consumed.values()].filter((by) => by.includes('alice')).length;
  expect(byAlice).toBeLessThan(messages.length);
  // Her queue is given back once the operator sees her session gone: the app takes the rest.
  await eventually(
    async () => {
      const missing = messages.filter(({ id }) => !consumed.has(id)).length;
      if (missing) throw new Error(`${missing} of alice's messages not consumed by anyone`);
    },
    180_000,
    1000,
  );
  expect([...consumed.values()].flat().filter((by) => by.startsWith('app-')).length).toBeGreaterThan(0);
  await splitOver();
}, 600_000);

it('refused credentials: a clear error, and the workload untouched', async () => {
  const session = developer('carol', '^carol$', 'deploy/wrong');
  const { code, stderr } = await session.done;
  expect(code).not.toBe(0);
  expect(stderr).toMatch(/queue split of deployment\/wrong could not start.*credentials were refused/);
  expect(await templateAnnotation('wrong')).toBe('');
  const pods = await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=wrong', '-o', `jsonpath={.items[*].metadata.annotations.mirrord\\.dev/split-queues}`]);
  expect(pods.trim()).toBe('');
  // The failed split is kept a little for the error to be read, then removed: nothing is left behind.
  await eventually(async () => {
    const left = await kubectl(['-n', namespace, 'get', 'configmaps', '--ignore-not-found', 'mirrord-split-deployment-wrong', '-o', 'name']);
    if (left.trim()) throw new Error(`${left.trim()} is still there`);
  }, 60_000);
}, 120_000);

it('an unknown queue id: the CLI names it and what the registry declares, before anything changes', async () => {
  const config = configFile('unknown', { payments: { queue_type: 'RabbitMQ', message_filter: { user: '^me$' } } });
  const session = mirrord(['attach', 'deploy/app', '-n', namespace, '--kubeconfig', kubeconfigPath(), '-f', config, '--', 'node', CONSUMER]);
  sessions.push(session);
  const { code, stderr } = await session.done;
  expect(code).not.toBe(0);
  expect(stderr).toContain(`feature.split_queues.payments: MirrordWorkloadQueueRegistry ${namespace}/app declares no queue "payments"; it declares "orders"`);
  expect(await templateAnnotation('app')).toBe('');
  expect(await kubectl(['-n', namespace, 'get', 'configmaps', '--ignore-not-found', 'mirrord-split-deployment-app', '-o', 'name'])).toBe('');
}, 120_000);
