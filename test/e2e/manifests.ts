/**
 * The workloads the end-to-end suites, the demo and the cluster benchmark deploy: the demo app
 * (kind/images/demo: answers HTTP on 8080 with "hello from POD (METHOD PATH)", and gRPC on 50051) as a Deployment,
 * optionally behind a Service on port 80, and a pod of the same image to make requests from
 * inside the cluster (`/demo get URL`). JSON is YAML, so kubectl applies these as they are.
 */
export const DEMO_IMAGE = 'mirrord.local/demo:dev';

const demoContainer = (name: string, env?: Record<string, string>) => ({
  name,
  image: DEMO_IMAGE,
  imagePullPolicy: 'Never',
  args: ['serve'],
  ...(env ? { env: Object.entries(env).map(([key, value]) => ({ name: key, value })) } : {}),
});

export interface DemoOptions {
  env?: Record<string, string>;
  /** A Service of the same name, port 80 -> 8080 (HTTP) and 50051 (gRPC). */
  service?: boolean;
  /** The Service gets a cluster IP of each family the cluster has (its name an AAAA record too). */
  dualStackService?: boolean;
  terminationGracePeriodSeconds?: number;
  /** How many pods (1 by default). */
  replicas?: number;
}

export function demoDeployment(namespace: string, name = 'app', options: DemoOptions = {}): string {
  const labels = { app: name };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          ...(options.terminationGracePeriodSeconds !== undefined ? { terminationGracePeriodSeconds: options.terminationGracePeriodSeconds } : {}),
          containers: [demoContainer('app', options.env)],
        },
      },
    },
  };
  const ports = [
    { name: 'http', port: 80, targetPort: 8080 },
    { name: 'grpc', port: 50051, targetPort: 50051 },
  ];
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: labels, ports, ...(options.dualStackService ? { ipFamilyPolicy: 'PreferDualStack' } : {}) },
  };
  return [deployment, ...(options.service || options.dualStackService ? [service] : [])].map((object) => JSON.stringify(object)).join('\n---\n');
}

export function demoClient(namespace: string, name = 'client'): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec: { containers: [demoContainer(name)] } });
}

/** A one-replica Deployment NAME (pods labeled `app: NAME`) of this pod spec, the pods annotated so. */
export function deployment(namespace: string, name: string, podSpec: object, annotations?: Record<string, string>): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: labels },
      template: { metadata: { labels, ...(annotations && { annotations }) }, spec: podSpec },
    },
  });
}

/** Several manifests as one document stream for `kubectl apply -f -`. */
export function manifests(...documents: string[]): string {
  return documents.join('\n---\n');
}
