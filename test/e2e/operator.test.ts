/**
 * The operator on the real cluster, with users as a team has them: alice and bob, each with a
 * client certificate signed by the cluster's CA and bound the mirrord-user role in the namespace.
 * A policy there lets steals through only with a header filter, hides the app's Secret-backed
 * variables and keys, and keeps one file on the developer's machine; another requires a profile on deploy/locked and keeps its sessions from reaching the
 * app's Service. The sidecars of the namespace require the operator's tickets.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, rolledOut, webhookReady } from './cluster';
import { demoDeployment, manifests } from './manifests';
import { eventually, FIXTURES, mirrord, type Mirrord } from './mirrord';
import { stoppedAfterEach } from './stopped-after-each';
import { httpGet } from '../harness/http-get';
import { makeUser, type TestUser } from './users';

const namespace = `e2e-operator-${process.pid}`;
const ANSWER = join(FIXTURES, 'answer.py');
const sessions = stoppedAfterEach();
let alice: TestUser;
let bob: TestUser;
let podIp = '';
/**
 * Where the app mounts its ConfigMap; the same path on this machine holds the file the policy
 * keeps local, so the program reads this machine's copy of it and the pod's of the rest.
 */
const CONFIG_DIR = join(tmpdir(), `mirrord-e2e-operator-${process.pid}`);

/** The app's Deployment, with a variable from a Secret and a plain one, and a ConfigMap mounted at CONFIG_DIR. */
function appWithSecret(): string {
  const deployment = JSON.parse(demoDeployment(namespace, 'app', { env: { GREETING: 'hello' }, terminationGracePeriodSeconds: 5 }));
  const pod = deployment.spec.template.spec;
  pod.containers[0].env.push({ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } });
  pod.volumes = [{ name: 'config', configMap: { name: 'app-config' } }];
  pod.containers[0].volumeMounts = [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }];
  return JSON.stringify(deployment);
}

const as = (user: TestUser | undefined, args: string[]) => [...args, '-n', namespace, '--kubeconfig', user?.kubeconfig ?? kubeconfigPath()];

function attach(user: TestUser, args: string[], command: string[] = ['python3', '-u', ANSWER, user.name, '8080']): Mirrord {
  const session = mirrord(['attach', ...as(user, ['deploy/app', ...args]), '--', ...command]);
  sessions.push(session);
  return session;
}

/** The body the node gets for GET `path` on the app's pod, with these headers. */
const fromNode = (path: string, headers: Record<string, string> = {}) => httpGet(podIp, 8080, path, headers);

async function operatorReplicas(replicas: number): Promise<void> {
  await kubectl(['-n', 'mirrord-system', 'scale', 'deployment/mirrord-operator', `--replicas=${replicas}`]);
  if (replicas > 0) await rolledOut('mirrord-system', 'mirrord-operator', 180);
}

beforeAll(async () => {
  mkdirSync(CONFIG_DIR, { recursive: true });
  writeFileSync(join(CONFIG_DIR, 'local.txt'), "local.txt from the developer's machine\n");
  await webhookReady();
  await rolledOut('mirrord-system', 'mirrord-operator', 180);
  await createNamespaces({ labeled: [namespace] });
  [alice, bob] = await Promise.all([makeUser(`alice-${process.pid}`, ['devs']), makeUser(`bob-${process.pid}`, ['devs'])]);
  await kubectl(['apply', '-f', '-'], {
    input: manifests(
      JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace }, stringData: { password: 's3cret' } }),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'app-config', namespace },
        data: { 'settings.txt': 'settings from the pod\n', 'local.txt': 'local.txt from the pod\n', 'tls.key': 'the pod key\n' },
      }),
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'devs-use-mirrord', namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'mirrord-user' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'devs' }],
      }),
      JSON.stringify({
        apiVersion: 'mirrord.dev/v1',
        kind: 'MirrordPolicy',
        metadata: { name: 'filtered-only', namespace },
        spec: {
          targetPath: 'deploy/app',
          block: ['steal-without-filter'],
          env: { exclude: ['DB_*'] },
          fs: { notFound: ['\\.key$'], local: ['/local\\.txt$'] },
        },
      }),
      JSON.stringify({
        apiVersion: 'mirrord.dev/v1',
        kind: 'MirrordPolicy',
        metadata: { name: 'locked-down', namespace },
        spec: {
          targetPath: 'deploy/locked',
          requireProfile: true,
          network: { outgoing: { block: [{ host: `app.${namespace}.svc.cluster.local`, port: 80 }] } },
        },
      }),
      JSON.stringify({
        apiVersion: 'mirrord.dev/v1',
        kind: 'MirrordProfile',
        metadata: { name: 'locked-dev', namespace },
        spec: { description: 'mirror only', feature: { network: { incoming: { mode: 'mirror' } } } },
      }),
      appWithSecret(),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'app', namespace },
        spec: { selector: { app: 'app' }, ports: [{ port: 80, targetPort: 8080 }] },
      }),
      demoDeployment(namespace, 'locked', { terminationGracePeriodSeconds: 5 }),
    ),
  });
  await rolledOut(namespace, 'app', 180);
  await rolledOut(namespace, 'locked', 180);
  podIp = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
}, 10 * 60_000);

afterAll(async () => {
  await operatorReplicas(2).catch(() => undefined);
  await deleteNamespaces(namespace);
  rmSync(CONFIG_DIR, { recursive: true, force: true });
}, 10 * 60_000);

test("a policy refuses alice's unfiltered steal naming itself, lets her filtered one through, and hides the Secret's variable", async () => {
  const unfiltered = attach(alice, ['--steal']);
  const refused = await unfiltered.done;
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain(`refused by policy ${namespace}/filtered-only`);
  expect(refused.stderr).toContain('; allowed: steal with an HTTP filter or mirror');

  const filtered = attach(alice, ['--steal', '--http-header-filter', `^x-user: ${alice.name}$`]);
  await filtered.waitFor(/session \S+ on pod/, 'stderr', 60_000);
  await eventually(async () => {
    const body = await fromNode('/mine', { 'x-user': alice.name });
    if (!body.startsWith(`answered by ${alice.name}`)) throw new Error(`not stolen yet: ${body}`);
  }, 30_000);
  expect(await fromNode('/theirs', { 'x-user': 'someone-else' })).toMatch(/^hello from app-/);

  const env = attach(alice, ['--mirror'], ['sh', '-c', 'echo "GREETING=${GREETING:-unset} DB_PASSWORD=${DB_PASSWORD:-unset}"']);
  const printed = await env.done;
  expect(printed.stdout).toContain('GREETING=hello DB_PASSWORD=unset');
}, 180_000);

test("the policy's fs patterns: a key doesn't exist for the program, in listings neither, and a local file is read from this machine", async () => {
  const script = `ls ${CONFIG_DIR} && cat ${CONFIG_DIR}/settings.txt ${CONFIG_DIR}/local.txt && (cat ${CONFIG_DIR}/tls.key 2>&1 || true)`;
  const run = await attach(alice, ['--mirror'], ['sh', '-c', script]).done;
  expect(run.code).toBe(0);
  expect(run.stderr).toContain(
    `the policies hold the pod's files: don't exist: /\\.key$/ (${namespace}/filtered-only); read from this machine: //local\\.txt$/ (${namespace}/filtered-only)`,
  );
  expect(run.stdout).toBe(
    `local.txt\nsettings.txt\nsettings from the pod\nlocal.txt from the developer's machine\ncat: ${CONFIG_DIR}/tls.key: No such file or directory\n`,
  );
}, 180_000);

test('a required profile, and an outgoing block naming the policy, on deploy/locked', async () => {
  const locked = (args: string[], command: string[]) => {
    const session = mirrord(['attach', ...as(alice, ['deploy/locked', ...args]), '--', ...command]);
    sessions.push(session);
    return session.done;
  };
  const without = await locked(['--mirror'], ['true']);
  expect(without.code).not.toBe(0);
  expect(without.stderr).toContain(`refused by policy ${namespace}/locked-down; allowed: a session with a profile (--profile NAME)`);
  const madeUp = await locked(['--profile', 'made-up'], ['true']);
  expect(madeUp.stderr).toContain(
    `no profile "made-up": neither a MirrordProfile in namespace ${namespace} nor a MirrordClusterProfile (you may not read MirrordClusterProfiles)`,
  );

  const fetch = `import urllib.request\ntry:\n  print(urllib.request.urlopen('http://app.${namespace}.svc.cluster.local/', timeout=10).read().decode().strip())\nexcept Exception as e:\n  print('failed:', e)`;
  const blocked = await locked(['--profile', 'locked-dev'], ['python3', '-c', fetch]);
  expect(blocked.code).toBe(0);
  expect(blocked.stdout).toMatch(/^failed: .*(Permission denied|refused)/);
  // The same program on deploy/app, which no outgoing rule covers, reaches the Service.
  const open = mirrord(['attach', ...as(alice, ['deploy/app', '--mirror']), '--', 'python3', '-c', fetch]);
  sessions.push(open);
  expect((await open.done).stdout).toMatch(/^hello from app-/);
}, 180_000);

test('a process in the pod that connects to the sidecar over loopback without a ticket is refused', async () => {
  const pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  // The sidecar's container shares the pod's loopback with the app's: it has node and the client.
  const script = [
    "const WebSocket = require('/app/node_modules/ws');",
    "const { Client } = require('/app/dist/protocol/client');",
    "Client.start(new WebSocket('ws://127.0.0.1:61234'), { client: 'in-pod' })",
    "  .then(() => console.log('ATTACHED'), (e) => console.log('REFUSED ' + e.message));",
  ].join('\n');
  const out = await kubectl(['-n', namespace, 'exec', pod, '-c', 'mirrord-agent', '--', 'node', '-e', script]);
  expect(out).toMatch(/^REFUSED .*requires a ticket from the mirrord operator/);
}, 120_000);

test("bob sees alice's session but can't end it; an admin can", async () => {
  const session = attach(alice, ['--steal', '--http-header-filter', `^x-user: ${alice.name}$`]);
  await session.waitFor(/session \S+ on pod/, 'stderr', 60_000);
  const listing = mirrord(['sessions', ...as(bob, ['--json'])]);
  const listed = JSON.parse((await listing.done).stdout) as { pods: { sessions: { id: string; user?: string }[] }[] };
  const hers = listed.pods.flatMap((pod) => pod.sessions).find((s) => s.user === alice.name);
  expect(hers).toBeDefined();

  // kubectl sees the same, through the operator's API: bob in the namespace, the admin across all.
  // The API server learns the operator's resources from its discovery, refreshed now and then.
  const bobsView = await eventually(() => kubectl(['get', 'mirrordsessions', '-n', namespace], { kubeconfig: bob.kubeconfig }), 90_000, 3_000);
  expect(bobsView).toMatch(new RegExp(`^NAME +USER +POD +PORTS +CLIENT +AGE\n`));
  expect(bobsView).toMatch(new RegExp(`\n${hers!.id} +${alice.name} +app-[\\w-]+ +\\S*8080/steal\\(filtered\\)`));
  expect(await kubectl(['get', 'msess', '-A'])).toMatch(new RegExp(`\n${namespace} +${hers!.id} +${alice.name} `));
  const everywhere = await mirrord(['sessions', '-A', '--kubeconfig', kubeconfigPath()]).done;
  expect(everywhere.stdout).toMatch(new RegExp(`\n${hers!.id} +${namespace}/app-[\\w-]+ +${alice.name} `));

  const bobKills = await mirrord(['sessions', ...as(bob, ['kill', hers!.id])]).done;
  expect(bobKills.code).not.toBe(0);
  expect(bobKills.stderr).toContain(`is ${alice.name}'s: ending another user's session takes RBAC delete on mirrordsessions`);
  await expect(kubectl(['delete', 'mirrordsession', hers!.id, '-n', namespace], { kubeconfig: bob.kubeconfig })).rejects.toThrow(/forbidden/);

  // bob's kill --all ends his own session and leaves hers, saying why.
  const his = attach(bob, ['--mirror'], ['sleep', '60']);
  await his.waitFor(/session \S+ on pod/, 'stderr', 60_000);
  const bobKillsAll = await mirrord(['sessions', ...as(bob, ['kill', '--all'])]).done;
  expect(bobKillsAll.code).toBe(1);
  expect(bobKillsAll.stdout).toMatch(/^ended session \w+ on pod /m);
  expect(bobKillsAll.stdout).toContain(`could not end session ${hers!.id} on pod `);
  expect((await his.done).stderr).toMatch(/ended by mirrord sessions kill/);

  await kubectl(['delete', 'mirrordsession', hers!.id, '-n', namespace]);
  const ended = await session.done;
  expect(ended.stderr).toMatch(/ended by mirrord sessions kill/);
}, 180_000);

test('attach survives an operator replica killed just before it; with no operator, running sessions go on and new ones are refused saying why', async () => {
  const replica = (
    await kubectl(['-n', 'mirrord-system', 'get', 'pods', '-l', 'app.kubernetes.io/name=mirrord-operator', '-o', 'jsonpath={.items[0].metadata.name}'])
  ).trim();
  await kubectl(['-n', 'mirrord-system', 'delete', 'pod', replica, '--wait=false']);
  const running = attach(alice, ['--steal', '--http-header-filter', `^x-user: ${alice.name}$`]);
  await running.waitFor(/session \S+ on pod/, 'stderr', 60_000);

  await operatorReplicas(0);
  await eventually(async () => {
    const pods = (await kubectl(['-n', 'mirrord-system', 'get', 'pods', '-l', 'app.kubernetes.io/name=mirrord-operator', '-o', 'name'])).trim();
    if (pods) throw new Error(`operator pods still there: ${pods}`);
  }, 120_000);
  const refused = await attach(bob, ['--mirror'], ['true']).done;
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain('the mirrord operator is installed but not answering');
  // The running session never needed the operator again.
  expect(await fromNode('/still-mine', { 'x-user': alice.name })).toMatch(new RegExp(`^answered by ${alice.name}`));
  await operatorReplicas(2);
}, 300_000);
