/**
 * The cluster's own smoke test: a Deployment of the demo app becomes Ready, and its Service name
 * resolves from another pod (through CoreDNS) and answers over the pod network (through
 * kube-proxy's rules). Everything runs on images imported into the cluster, never pulled.
 */
import { createNamespaces, deleteNamespaces, kubectl, podReady, rolledOut } from './cluster';
import { eventually } from './mirrord';

const namespace = `e2e-smoke-${process.pid}`;
const image = 'mirrord.local/demo:dev';

const manifests = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: demo, namespace: ${namespace}}
spec:
  replicas: 1
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      containers:
      - name: demo
        image: ${image}
        imagePullPolicy: Never
        args: [serve]
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: demo, namespace: ${namespace}}
spec:
  selector: {app: demo}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: ${namespace}}
spec:
  containers:
  - name: client
    image: ${image}
    imagePullPolicy: Never
    args: [serve]
`;

beforeAll(async () => {
  await createNamespaces({ unlabeled: [namespace] });
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace);
}, 10 * 60_000);

test('the node is Ready', async () => {
  const out = await kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}']);
  expect(out.trim().split(' ')).toContain('True');
});

test('the API server serves aggregated APIs: front-proxy CA and request-header names published for them', async () => {
  // What an aggregated server (the operator) reads to trust the user the API server forwards.
  const config = JSON.parse(await kubectl(['-n', 'kube-system', 'get', 'configmap', 'extension-apiserver-authentication', '-o', 'json'])) as {
    data: Record<string, string>;
  };
  expect(config.data['requestheader-client-ca-file']).toMatch(/-----BEGIN CERTIFICATE-----/);
  expect(config.data['requestheader-client-ca-file']).not.toBe(config.data['client-ca-file']);
  expect(JSON.parse(config.data['requestheader-username-headers'])).toEqual(['X-Remote-User']);
  expect(JSON.parse(config.data['requestheader-group-headers'])).toEqual(['X-Remote-Group']);
  expect(JSON.parse(config.data['requestheader-allowed-names'])).toEqual(['front-proxy-client']);
});

test('a Deployment of the demo app becomes Ready', async () => {
  await kubectl(['apply', '-f', '-'], { input: manifests });
  await rolledOut(namespace, 'demo');
  await podReady(namespace, 'client');
}, 300_000);

test('the Service name resolves from another pod and answers over the cluster network', async () => {
  const clusterIP = (await kubectl(['-n', namespace, 'get', 'service', 'demo', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  for (const host of ['demo', `demo.${namespace}.svc.cluster.local`]) {
    const out = await eventually(() => kubectl(['-n', namespace, 'exec', 'client', '--', '/demo', 'get', `http://${host}/`]));
    expect(out).toContain(`resolved ${host} to [${clusterIP}]`);
    expect(out).toMatch(/status 200\nhello from demo-[a-z0-9]+-[a-z0-9]+ \(GET \/\)/);
  }
}, 120_000);
