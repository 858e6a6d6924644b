/**
 * What a local program under `mirrord attach deploy/app` (the built CLI) gets from the pod
 * besides incoming traffic: outgoing TCP and UDP that leave from the pod, the pod's DNS, the
 * files of the ConfigMap and Secret mounted in the app container, its host name, the pod spec's environment
 * (`valueFrom` a Secret, `envFrom` a ConfigMap); and a user without `pods/portforward` is
 * refused with an explanation.
 *
 * Service IPs are reachable from this machine too (kube-proxy's rules apply to the node's own
 * traffic), so an answer alone wouldn't prove that a connection left from the pod. The probe
 * is a CoreDNS of our own that logs every query with its source address: the log must show the
 * app pod's IP.
 */
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, rolledOut, webhookReady } from './cluster';
import { eventually, FIXTURES, mirrord } from './mirrord';

const namespace = `e2e-context-${process.pid}`;
const DNS_QUERY = join(FIXTURES, 'dns-query.py');

const manifests = `
apiVersion: v1
kind: ConfigMap
metadata: {name: app-files, namespace: ${namespace}}
data: {greeting.txt: "hello from a ConfigMap\\n"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app-env, namespace: ${namespace}}
data: {LOG_LEVEL: from-envFrom, FEATURE_FLAG: "on"}
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret, namespace: ${namespace}}
stringData: {token: "token from a Secret\\n", password: password-from-a-secret}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: ${namespace}}
spec:
  replicas: 1
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: app
        image: mirrord.local/demo:dev
        imagePullPolicy: Never
        args: [serve]
        env:
        - {name: PLAIN, value: plain value}
        - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: app-secret, key: password}}}
        envFrom: [{configMapRef: {name: app-env}}]
        volumeMounts:
        - {name: files, mountPath: /etc/app/config, readOnly: true}
        - {name: secret, mountPath: /etc/app/secret, readOnly: true}
      volumes:
      - {name: files, configMap: {name: app-files}}
      - {name: secret, secret: {secretName: app-secret}}
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: ${namespace}}
spec:
  selector: {app: app}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: dnsprobe, namespace: ${namespace}}
data:
  Corefile: |
    .:5353 {
        log
        hosts {
            198.18.0.53 tcp.probe.example
            198.18.0.54 udp.probe.example
        }
    }
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: dnsprobe, namespace: ${namespace}}
spec:
  replicas: 1
  selector: {matchLabels: {app: dnsprobe}}
  template:
    metadata:
      labels: {app: dnsprobe}
      annotations: {mirrord.dev/inject: "false"}
    spec:
      containers:
      - name: coredns
        image: mirrord.local/coredns:v1.12.1
        imagePullPolicy: Never
        args: [-conf, /etc/coredns/Corefile]
        volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes: [{name: config, configMap: {name: dnsprobe}}]
---
apiVersion: v1
kind: Service
metadata: {name: dnsprobe, namespace: ${namespace}}
spec:
  selector: {app: dnsprobe}
  ports:
  - {name: dns, port: 53, targetPort: 5353, protocol: UDP}
  - {name: dns-tcp, port: 53, targetPort: 5353, protocol: TCP}
`;

// May resolve pods and Deployments and get the operator's ticket (so the CLI gets as far as the
// port-forward) but not forward.
const limitedUser = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: limited, namespace: ${namespace}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-workloads, namespace: ${namespace}}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list, watch]}
- {apiGroups: [apps], resources: [deployments, replicasets], verbs: [get, list, watch]}
- {apiGroups: [operator.mirrord.dev], resources: [tickets], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: limited-reads, namespace: ${namespace}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-workloads}
subjects: [{kind: ServiceAccount, name: limited, namespace: ${namespace}}]
`;

const portForwardGrant = `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: port-forward, namespace: ${namespace}}
rules: [{apiGroups: [""], resources: [pods/portforward], verbs: [get, create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: limited-port-forward, namespace: ${namespace}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: port-forward}
subjects: [{kind: ServiceAccount, name: limited, namespace: ${namespace}}]
`;

let appPodIp = '';
let appServiceIp = '';
let clusterDnsIp = '';

/** Runs `CMD` under `mirrord attach deploy/app` and waits for it (and the CLI) to end. */
function underMirrord(command: string[], kubeconfig = kubeconfigPath()) {
  const session = mirrord(['attach', 'deploy/app', '-n', namespace, '--kubeconfig', kubeconfig, '--', ...command]);
  return session.done.finally(() => session.stop());
}

/** Whether the probe's log has a query for `name` over `proto` whose source is the app pod. */
async function probeSawFromApp(name: string, proto: 'udp' | 'tcp'): Promise<string> {
  // The log reaches `kubectl logs` shortly after the answer.
  return eventually(async () => {
    const log = await kubectl(['-n', namespace, 'logs', 'deployment/dnsprobe']);
    const lines = log.split('\n').filter((line) => line.includes(` "A IN ${name}. ${proto} `));
    if (!lines.length) throw new Error(`the probe logged no ${proto} query for ${name}:\n${log}`);
    return lines.join('\n');
  }, 20_000);
}

beforeAll(async () => {
  await webhookReady();
  await createNamespaces({ labeled: [namespace] });
  await kubectl(['apply', '-f', '-'], { input: manifests + '---' + limitedUser });
  for (const deployment of ['app', 'dnsprobe']) {
    await rolledOut(namespace, deployment, 180);
  }
  appPodIp = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
  appServiceIp = (await kubectl(['-n', namespace, 'get', 'service', 'app', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  clusterDnsIp = (await kubectl(['-n', 'kube-system', 'get', 'service', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  // CoreDNS serves a moment after its container starts (no readiness probe in this Corefile).
  await eventually(
    () =>
      kubectl(['-n', namespace, 'logs', 'deployment/dnsprobe']).then((log) => {
        if (!/CoreDNS-/.test(log)) throw new Error(`the probe is not serving yet: ${log}`);
      }),
    60_000,
  );
  // Serving is not yet routed: kube-proxy programs the Service's endpoints a moment later (until
  // then a connection to it is refused). Wait until its ClusterIP takes a connection.
  const probeServiceIp = (await kubectl(['-n', namespace, 'get', 'service', 'dnsprobe', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  await eventually(
    () =>
      new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host: probeServiceIp, port: 53, timeout: 2000 }, () => (socket.destroy(), resolve()));
        socket.once('error', reject);
        socket.once('timeout', () => (socket.destroy(), reject(new Error('timed out'))));
      }),
    60_000,
  );
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace);
}, 10 * 60_000);

test('outgoing TCP to a Service by name leaves from the pod', async () => {
  // DNS over TCP: a connection to `dnsprobe:53`, the name resolved with the pod's search path.
  const run = await underMirrord(['python3', DNS_QUERY, 'tcp', 'dnsprobe', '53', 'tcp.probe.example']);
  expect(run).toMatchObject({ code: 0, stdout: 'rcode 0\nA 198.18.0.53\n' });
  expect(await probeSawFromApp('tcp.probe.example', 'tcp')).toMatch(new RegExp(`^\\[INFO\\] ${appPodIp.replace(/\./g, '\\.')}:\\d+ - `));
}, 120_000);

test('outgoing UDP datagrams leave from the pod, to a Service by name and to the cluster DNS', async () => {
  const run = await underMirrord([
    'sh',
    '-c',
    [
      `python3 ${DNS_QUERY} udp dnsprobe.${namespace}.svc.cluster.local 53 udp.probe.example`,
      `python3 ${DNS_QUERY} udp ${clusterDnsIp} 53 app.${namespace}.svc.cluster.local`,
    ].join(' && '),
  ]);
  expect(run).toMatchObject({ code: 0, stdout: `rcode 0\nA 198.18.0.54\nrcode 0\nA ${appServiceIp}\n` });
  expect(await probeSawFromApp('udp.probe.example', 'udp')).toMatch(new RegExp(`^\\[INFO\\] ${appPodIp.replace(/\./g, '\\.')}:\\d+ - `));
}, 120_000);

test("names resolve with the pod's DNS: svc.ns.svc.cluster.local and the short name", async () => {
  const run = await underMirrord([
    'sh',
    '-c',
    [
      `getent hosts app.${namespace}.svc.cluster.local`,
      `python3 -c 'import socket; print(socket.getaddrinfo("app", 80, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])'`,
    ].join(' && '),
  ]);
  expect(run.code).toBe(0);
  expect(run.stdout).toBe(`${appServiceIp.padEnd(15)} app.${namespace}.svc.cluster.local\n${appServiceIp}\n`);
}, 120_000);

test('files of the ConfigMap and the Secret mounted in the app are read from the pod', async () => {
  const run = await underMirrord(['cat', '/etc/app/config/greeting.txt', '/etc/app/secret/token']);
  expect(run).toMatchObject({ code: 0, stdout: 'hello from a ConfigMap\ntoken from a Secret\n' });
}, 120_000);

test("the pod's host name (its containers share it; the sidecar reports it) and its directories, listed and walked", async () => {
  const podName = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=app', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  const run = await underMirrord(['sh', '-c', 'hostname && cd /etc/app/config && ls && find /etc/app/secret -maxdepth 1 -name token']);
  expect(run).toMatchObject({ code: 0, stdout: `${podName}\ngreeting.txt\n/etc/app/secret/token\n` });
}, 120_000);

test("the pod spec's environment, with valueFrom a Secret and envFrom a ConfigMap", async () => {
  const run = await underMirrord(['sh', '-c', 'echo "$PLAIN|$DB_PASSWORD|$LOG_LEVEL|$FEATURE_FLAG"']);
  expect(run).toMatchObject({ code: 0, stdout: 'plain value|password-from-a-secret|from-envFrom|on\n' });
}, 120_000);

test('a user without pods/portforward is refused with the permission it lacks, and attaches once granted it', async () => {
  const token = (await kubectl(['-n', namespace, 'create', 'token', 'limited', '--duration=10m'])).trim();
  const server = (await kubectl(['config', 'view', '--raw', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}'])).trim();
  const ca = (await kubectl(['config', 'view', '--raw', '--minify', '-o', 'jsonpath={.clusters[0].cluster.certificate-authority-data}'])).trim();
  const dir = mkdtempSync(join(tmpdir(), 'mirrord-e2e-'));
  try {
    const kubeconfig = join(dir, 'limited.kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'e2e', cluster: { server, 'certificate-authority-data': ca } }],
        users: [{ name: 'limited', user: { token } }],
        contexts: [{ name: 'limited', context: { cluster: 'e2e', user: 'limited', namespace } }],
        'current-context': 'limited',
      }),
    );

    const refused = await underMirrord(['true'], kubeconfig);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(
        `\\nmirrord: not allowed to port-forward to pod app-[\\w-]+ in namespace ${namespace}: mirrord needs the pods/portforward permission\\nhint: kubectl auth can-i create pods/portforward -n ${namespace}`,
      ),
    );

    // The same user with the permission: the refusal was about exactly that.
    await kubectl(['apply', '-f', '-'], { input: portForwardGrant });
    const allowed = await eventually(
      async () => {
        const run = await underMirrord(['sh', '-c', 'echo "$PLAIN"'], kubeconfig);
        if (run.code !== 0) throw new Error(`not attached yet:\n${run.stderr}`);
        return run;
      },
      30_000,
      1000,
    );
    expect(allowed.stdout).toBe('plain value\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);
