/**
 * The cluster commands as a user runs them, through the built CLI against the real cluster:
 * `ls` sees an injected Deployment, `sessions` lists an attach session and `sessions kill` ends
 * it (the attach process says who ended it), `doctor` passes for a labeled namespace and shows
 * ✗ with the fix for an unlabeled one, `install` re-applies the webhook harmlessly, and
 * `uninstall --dry-run` has the API server check every deletion without doing it (a real
 * uninstall would remove the webhook other suites use).
 */
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, rolledOut, webhookReady } from './cluster';
import { demoDeployment } from './manifests';
import { eventually, mirrord } from './mirrord';

const namespace = `e2e-cmd-${process.pid}`;
const unlabeled = `e2e-cmd-bare-${process.pid}`;

/** The CLI with this cluster's kubeconfig, right after the verb (after `--` comes the user's command). */
const cli = (args: string[]) => mirrord([args[0], '--kubeconfig', kubeconfigPath(), ...args.slice(1)]);
const run = (...args: string[]) => cli(args).done;

beforeAll(async () => {
  await webhookReady();
  await createNamespaces({ labeled: [namespace], unlabeled: [unlabeled] });
  await kubectl(['apply', '-f', '-'], { input: demoDeployment(namespace) });
  await kubectl(['apply', '-f', '-'], { input: demoDeployment(unlabeled) });
  await rolledOut(namespace, 'app');
  await rolledOut(unlabeled, 'app');
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace, unlabeled);
}, 10 * 60_000);

test('ls shows the injected Deployment and its pod, and the bare one without the sidecar', async () => {
  const listed = await run('ls', '-n', namespace);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(/^TARGET +PODS +SIDECAR\ndeployment\/app +1 +injected\npod\/app-[\w-]+ +1 +injected\n$/);

  const json = await run('ls', '-n', unlabeled, '--json');
  expect(JSON.parse(json.stdout).targets[0]).toEqual({
    namespace: unlabeled,
    target: 'deployment/app',
    pods: 1,
    withSidecar: 0,
    sidecarReady: 0,
    sidecar: 'no',
  });

  const all = await run('ls', '-A');
  expect(all.stdout).toMatch(new RegExp(`\\n${namespace} +deployment/app +1 +injected\\n`));
}, 60_000);

test('sessions lists an attach session, and sessions kill ends it', async () => {
  const attach = cli(['attach', 'deploy/app', '-n', namespace, '--', 'sleep', '30']);
  try {
    const listing = await eventually(async () => {
      const listed = await run('sessions', '-n', namespace);
      if (!/mirrord attach/.test(listed.stdout)) throw new Error(`no session yet: ${listed.stdout}${listed.stderr}\n${attach.output().stderr}`);
      return listed;
    });
    expect(listing.code).toBe(0);
    expect(listing.stdout).toMatch(/^ID +POD +USER +CLIENT +PORTS +MODE +SINCE\n/);
    const id = /session (\w+) on pod/.exec(attach.output().stderr)![1];
    expect(listing.stdout).toMatch(new RegExp(`\\n${id} +${namespace}/app-[\\w-]+ +\\S+ +mirrord attach \\(`));

    const json = JSON.parse((await run('sessions', 'deploy/app', '-n', namespace, '--json')).stdout);
    expect(json.pods).toHaveLength(1);
    expect(json.pods[0].sessions).toEqual([
      {
        id,
        user: expect.any(String),
        // The session id its ticket names (the operator follows queue splits' sessions by it).
        ticket: expect.stringMatching(/^[0-9a-f-]{36}$/),
        client: expect.stringMatching(/^mirrord attach/),
        since: expect.any(String),
        subscriptions: [],
      },
    ]);

    const killed = await run('sessions', 'kill', id, '-n', namespace);
    expect(killed.stderr).toBe('');
    expect(killed.stdout).toMatch(new RegExp(`^ended session ${id} on pod ${namespace}/app-[\\w-]+; its rules are removed\\n$`));
    await eventually(async () => {
      if (!/ended by mirrord sessions kill from \S+@\S+ \(pid \d+\)/.test(attach.output().stderr)) throw new Error(attach.output().stderr);
    }, 10_000);
    expect((await run('sessions', '-n', namespace)).stdout).toBe('no active sessions\n');

    const again = await run('sessions', 'kill', id, '-n', namespace);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(`^mirrord: no session ${id} on the sidecars of namespace ${namespace}\\nhint: mirrord sessions -n ${namespace} lists them\\n$`),
    );
  } finally {
    attach.child.kill('SIGTERM');
    await attach.done;
  }
}, 120_000);

test('doctor passes for a labeled namespace and its injected target', async () => {
  const checked = await run('doctor', 'deploy/app', '-n', namespace);
  expect(checked.stdout).toMatch(/^✓ Kubernetes API reachable: https:\/\/\S+, Kubernetes v[\d.]+\n/);
  expect(checked.stdout).toContain('✓ webhook installed and ready');
  expect(checked.stdout).toContain('✓ caBundle set and valid\n');
  expect(checked.stdout).toContain(`✓ namespace ${namespace} labeled mirrord.dev/injection=enabled\n`);
  expect(checked.stdout).toContain('✓ deployment/app injected: 1 of 1 pod(s) with a ready sidecar\n');
  expect(checked.stdout).toContain(`✓ port-forward permitted in namespace ${namespace}\n`);
  expect(checked.stdout).not.toContain('✗');
  expect(checked.code).toBe(0);
}, 60_000);

test('doctor shows ✗ and the fix for an unlabeled namespace', async () => {
  const checked = await run('doctor', 'deploy/app', '-n', unlabeled);
  expect(checked.code).toBe(1);
  expect(checked.stdout).toContain(
    `✗ namespace ${unlabeled} labeled mirrord.dev/injection=enabled: the label is missing\n` +
      `  fix: kubectl label namespace ${unlabeled} mirrord.dev/injection=enabled --overwrite, then restart the workloads (kubectl rollout restart deployment -n ${unlabeled})\n`,
  );
  expect(checked.stdout).toMatch(
    new RegExp(`✗ deployment/app injected: none of its 1 pod\\(s\\) carries the sidecar .*\\n  fix: kubectl rollout restart deployment/app -n ${unlabeled}\\n`),
  );
  expect(checked.stdout).toContain('✓ webhook installed and ready');
}, 60_000);

test('install re-applies the webhook without disturbing it', async () => {
  const installed = await run('install', '--wait');
  expect(installed.code).toBe(0);
  expect(installed.stdout).toMatch(/^Namespace mirrord-system (created|configured|unchanged)\n/);
  expect(installed.stdout).toMatch(/\nMutatingWebhookConfiguration mirrord-webhook (configured|unchanged)\n/);
  expect(installed.stdout).toMatch(/\nAPIService v1\.operator\.mirrord\.dev (configured|unchanged)\n/);
  expect(installed.stdout).toContain('the webhook and the operator are ready\n');
  // Applied whole: a profile's feature section keeps its free-form content (a field the client's
  // models name differently from the wire would otherwise be dropped).
  const crd = JSON.parse(await kubectl(['get', 'crd', 'mirrordprofiles.mirrord.dev', '-o', 'json'])) as {
    spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: { properties: { feature: Record<string, unknown> } } } } } }[] };
  };
  expect(crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.feature['x-kubernetes-preserve-unknown-fields']).toBe(true);
  const checked = await run('doctor', '-n', namespace);
  expect(checked.code).toBe(0);
}, 240_000);

test('uninstall --dry-run names what it would delete and restart, and changes nothing', async () => {
  // The operator's leader publishes its keys into labeled namespaces within half a minute.
  await eventually(() => kubectl(['-n', namespace, 'get', 'configmap', 'mirrord-operator-keys']), 90_000, 2_000);
  const planned = await run('uninstall', '--dry-run', '--restart-workloads');
  expect(planned.code).toBe(0);
  const lines = planned.stdout.split('\n');
  expect(lines.slice(0, 2).sort()).toEqual([
    'APIService v1.operator.mirrord.dev would be deleted',
    'MutatingWebhookConfiguration mirrord-webhook would be deleted',
  ]);
  expect(lines).toContain('Deployment mirrord-system/mirrord-webhook would be deleted');
  expect(lines).toContain('Deployment mirrord-system/mirrord-operator would be deleted');
  expect(lines).toContain(`ConfigMap ${namespace}/mirrord-operator-keys (the operator's public keys) would be deleted`);
  expect(lines.find((line) => line.startsWith('CustomResourceDefinition'))).toBeUndefined(); // the team's policies stay
  expect(lines).toContainEqual(expect.stringMatching(/^the policy and profile definitions stay/));
  expect(lines).toContain(`would restart deployment/app -n ${namespace}`);
  expect(lines).not.toContain(`would restart deployment/app -n ${unlabeled}`);
  expect(lines.indexOf('Namespace mirrord-system would be deleted')).toBeGreaterThan(
    lines.indexOf('Deployment mirrord-system/mirrord-webhook would be deleted'),
  );
  expect(await kubectl(['-n', namespace, 'get', 'deployment', 'app', '-o', 'jsonpath={.metadata.generation}'])).toBe('1');
  expect((await run('doctor', '-n', namespace)).code).toBe(0);
}, 150_000);
