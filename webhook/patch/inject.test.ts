import { applyPatch, type Operation } from 'fast-json-patch';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { loadReview, type FixtureName } from '../fixtures/fixtures';
import { injectSidecar, type InjectionContext } from './inject';
import { DEFAULT_RESOURCES, type InjectionSettings } from './settings';

const settings: InjectionSettings = {
  image: 'mirrord-sidecar:0.1.0',
  pullPolicy: 'IfNotPresent',
  agentPort: 61234,
  resources: DEFAULT_RESOURCES,
  nativeSidecar: true,
  version: '0.1.0',
  writableVolumes: false,
  auth: 'none',
};

function admit(name: FixtureName, overrides: Partial<InjectionSettings> = {}) {
  const review = loadReview(name);
  const pod = review.request.object;
  const context: InjectionContext = { namespace: review.request.namespace, webhookNamespace: 'mirrord-system', settings: { ...settings, ...overrides } };
  const result = injectSidecar(pod, context);
  return { pod, result, patched: patched(pod, result.patch), context };
}

/** Applies the patch with the library, to a copy: the test looks at the pod, not the patch. */
function patched(pod: V1Pod, patch: Operation[]): V1Pod {
  return applyPatch(structuredClone(pod), structuredClone(patch), true, false).newDocument;
}

function sidecarOf(pod: V1Pod): V1Container {
  const found = [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers].filter((c) => c.name === 'mirrord-agent');
  expect(found).toHaveLength(1);
  return found[0];
}

function envOf(container: V1Container): Record<string, unknown> {
  return Object.fromEntries((container.env ?? []).map((v) => [v.name, v.value ?? v.valueFrom]));
}

describe('a Deployment-created pod', () => {
  const { pod, result, patched: after } = admit('deployment-pod');

  it('gets a native sidecar appended to initContainers, the app untouched', () => {
    expect(result.injected).toBe(true);
    expect(after.spec!.initContainers!.map((c) => c.name)).toEqual(['mirrord-agent']);
    expect(after.spec!.initContainers![0].restartPolicy).toBe('Always');
    expect(after.spec!.containers).toEqual(pod.spec!.containers);
    expect(after.metadata!.annotations).toEqual({ 'mirrord.dev/injected': '0.1.0' });
  });

  it('runs with only NET_ADMIN and NET_RAW, read-only, without escalation', () => {
    const sidecar = sidecarOf(after);
    expect(sidecar.securityContext).toMatchObject({
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
    });
    expect(sidecar.image).toBe('mirrord-sidecar:0.1.0');
    expect(sidecar.imagePullPolicy).toBe('IfNotPresent');
    expect(sidecar.resources).toEqual({ requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '500m', memory: '192Mi' } });
  });

  it('probes readiness and liveness from inside the pod, on loopback', () => {
    const { readinessProbe, livenessProbe } = sidecarOf(after);
    expect(readinessProbe!.tcpSocket).toBeUndefined();
    expect(readinessProbe!.exec!.command!.slice(0, 2)).toEqual(['bash', '-c']);
    expect(readinessProbe!.exec!.command![2]).toContain('/dev/tcp/127.0.0.1/61234');
    expect(livenessProbe!.exec!.command![2]).toContain('/dev/tcp/127.0.0.1/61234');
    expect(livenessProbe!.exec!.command![2]).toContain('GET /healthz');
  });

  it('sets the sidecar contract: port, root, mounts, pod identity from the downward API', () => {
    const env = envOf(sidecarOf(after));
    expect(env.MIRRORD_AGENT_PORT).toBe('61234');
    expect(env.MIRRORD_APP_ROOT).toBe('/mirrord/app');
    expect(env.MIRRORD_APP_MOUNTS).toBe('/etc/checkout,/var/run/secrets/kubernetes.io/serviceaccount');
    expect(env.MIRRORD_POD_NAME).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.MIRRORD_POD_NAMESPACE).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(env.MIRRORD_POD_IP).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
    expect(env.MIRRORD_POD_UID).toEqual({ fieldRef: { fieldPath: 'metadata.uid' } });
  });

  it("copies the app's env under the prefix, references pointing at the copies", () => {
    const env = envOf(sidecarOf(after));
    expect(env.MIRRORD_APP_ENV_PORT).toBe('8080');
    expect(env.MIRRORD_APP_ENV_DATABASE_URL).toEqual({ secretKeyRef: { name: 'checkout-db', key: 'url' } });
    expect(env.MIRRORD_APP_ENV_LISTEN).toBe('0.0.0.0:$(MIRRORD_APP_ENV_PORT)');
    expect(sidecarOf(after).envFrom).toBeUndefined();
  });

  it("re-mounts the app's volumes read-only under the app root, plus its own scratch space", () => {
    expect(sidecarOf(after).volumeMounts).toEqual([
      { name: 'mirrord-agent-run', mountPath: '/run' },
      { name: 'mirrord-agent-tmp', mountPath: '/tmp' },
      { name: 'config', mountPath: '/mirrord/app/etc/checkout', readOnly: true },
      { name: 'kube-api-access-x7k2p', mountPath: '/mirrord/app/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ]);
    expect(after.spec!.volumes!.map((v) => v.name)).toEqual(['config', 'kube-api-access-x7k2p', 'mirrord-agent-run', 'mirrord-agent-tmp']);
  });

  it('is idempotent: the injected pod yields no patch', () => {
    const again = injectSidecar(after, { namespace: 'shop', webhookNamespace: 'mirrord-system', settings });
    expect(again).toMatchObject({ injected: false, reason: 'already-injected', patch: [] });
  });

  it('patches with add operations only, so nothing of the app is replaced', () => {
    expect(new Set(result.patch.map((op) => op.op))).toEqual(new Set(['add']));
  });
});

describe('a pod on an API server without native sidecars', () => {
  const { pod, patched: after } = admit('deployment-pod', { nativeSidecar: false });

  it('gets the sidecar as a regular container after the app', () => {
    expect(after.spec!.initContainers).toBeUndefined();
    expect(after.spec!.containers.map((c) => c.name)).toEqual(['checkout', 'mirrord-agent']);
    expect(after.spec!.containers[1].restartPolicy).toBeUndefined();
    expect(after.spec!.containers[0]).toEqual(pod.spec!.containers[0]);
  });
});

describe('a pod with several containers, init containers and annotations', () => {
  const { pod, result, patched: after } = admit('multi-container-pod');
  const sidecar = sidecarOf(after);
  const env = envOf(sidecar);

  it('serves the container the annotation names, after the existing init containers', () => {
    expect(after.spec!.initContainers!.map((c) => c.name)).toEqual(['migrate', 'mirrord-agent']);
    expect(after.spec!.initContainers![0]).toEqual(pod.spec!.initContainers![0]);
    expect(env.MIRRORD_APP_MOUNTS).toBe('/data,/etc/reports/settings.yaml,/var/scratch,/var/run/secrets/kubernetes.io/serviceaccount');
  });

  it('keeps envFrom with our prefix before the app’s', () => {
    expect(sidecar.envFrom).toEqual([
      { prefix: 'MIRRORD_APP_ENV_', configMapRef: { name: 'reports-env' } },
      { prefix: 'MIRRORD_APP_ENV_S3_', secretRef: { name: 'reports-s3', optional: true } },
    ]);
  });

  it('rewrites references but not escaped ones; resource fields still read the app container', () => {
    expect(env.MIRRORD_APP_ENV_OUTPUT).toBe('/data/$(MIRRORD_APP_ENV_POD_NAME)/out');
    expect(env.MIRRORD_APP_ENV_LITERAL).toBe('cost is $$(POD_NAME) dollars');
    expect(env.MIRRORD_APP_ENV_MEMORY_LIMIT).toEqual({ resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi', containerName: 'worker' } });
  });

  it('mounts read-write where the pod asks for it, never more than the app has; subPaths kept', () => {
    expect(sidecar.volumeMounts!.slice(2)).toEqual([
      { name: 'data', mountPath: '/mirrord/app/data', readOnly: false },
      { name: 'settings', mountPath: '/mirrord/app/etc/reports/settings.yaml', readOnly: true, subPath: 'settings.yaml' },
      { name: 'scratch', mountPath: '/mirrord/app/var/scratch', readOnly: false, subPathExpr: '$(MIRRORD_APP_ENV_POD_NAME)' },
      { name: 'kube-api-access-9qwzl', mountPath: '/mirrord/app/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ]);
  });

  it('applies the per-pod overrides and warns about the unknown annotation', () => {
    expect(env.MIRRORD_AGENT_PORT).toBe('62000');
    expect(sidecar.readinessProbe!.exec!.command![2]).toContain('/dev/tcp/127.0.0.1/62000');
    expect(sidecar.livenessProbe!.exec!.command![2]).toContain('/dev/tcp/127.0.0.1/62000');
    expect(sidecar.resources!.limits!.memory).toBe('256Mi');
    expect(result.warnings).toEqual(['unknown annotation mirrord.dev/agnet-image is ignored']);
  });

  it('runs as root even though the pod asks for non-root: added capabilities need uid 0', () => {
    expect(sidecar.securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
    expect(after.spec!.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000 });
  });

  it('keeps the existing annotations and adds ours', () => {
    expect(after.metadata!.annotations).toEqual({ ...pod.metadata!.annotations, 'mirrord.dev/injected': '0.1.0' });
  });

  it('is idempotent', () => {
    expect(injectSidecar(after, { namespace: 'analytics', webhookNamespace: 'mirrord-system', settings }).patch).toEqual([]);
  });
});

describe.each([
  ['host-network-pod', 'host-network'],
  ['opted-out-pod', 'opted-out'],
  ['kube-system-pod', 'protected-namespace'],
  ['missing-target-pod', 'target-container-not-found'],
  ['already-injected-pod', 'already-injected'],
] as const)('%s', (name, reason) => {
  it(`is left alone (${reason})`, () => {
    const { pod, result, patched: after } = admit(name);
    expect(result).toMatchObject({ injected: false, reason, patch: [] });
    expect(after).toEqual(pod);
  });
});

it("never injects the webhook's own namespace", () => {
  const review = loadReview('deployment-pod');
  const result = injectSidecar(review.request.object, { namespace: 'mirrord-system', webhookNamespace: 'mirrord-system', settings });
  expect(result).toMatchObject({ injected: false, reason: 'protected-namespace' });
});

it('a pod that names a missing target container gets a warning saying so', () => {
  expect(admit('missing-target-pod').result.warnings[0]).toMatch(/sidecar-that-is-not-there.*names no container/);
});

it('the sidecar container alone (annotation lost) also counts as injected', () => {
  const { patched: after } = admit('deployment-pod');
  delete after.metadata!.annotations;
  expect(injectSidecar(after, { namespace: 'shop', webhookNamespace: 'mirrord-system', settings })).toMatchObject({ reason: 'already-injected' });
});

describe('pods the sidecar would harm', () => {
  it('a Job pod without native sidecars is left alone: a regular sidecar never exits', () => {
    const review = loadReview('deployment-pod');
    review.request.object.spec!.restartPolicy = 'Never';
    const context = { namespace: 'shop', webhookNamespace: 'mirrord-system', settings: { ...settings, nativeSidecar: false } };
    expect(injectSidecar(review.request.object, context)).toMatchObject({ injected: false, reason: 'would-never-complete' });
    expect(injectSidecar(review.request.object, { ...context, settings }).injected).toBe(true);
  });

  it('a static pod is left alone', () => {
    const review = loadReview('deployment-pod');
    review.request.object.metadata!.annotations = { 'kubernetes.io/config.mirror': 'abc' };
    expect(injectSidecar(review.request.object, { namespace: 'shop', webhookNamespace: 'mirrord-system', settings })).toMatchObject({ reason: 'static-pod' });
  });

  it('a pod that already uses one of our volume names is left alone rather than made invalid', () => {
    const review = loadReview('deployment-pod');
    review.request.object.spec!.volumes!.push({ name: 'mirrord-agent-tmp', emptyDir: {} });
    expect(injectSidecar(review.request.object, { namespace: 'shop', webhookNamespace: 'mirrord-system', settings })).toMatchObject({
      reason: 'already-injected',
    });
  });
});

describe('with namespace annotations (the webhook can read namespaces)', () => {
  it("applies them under the pod's own", () => {
    const pod = loadReview('deployment-pod').request.object;
    pod.metadata!.annotations = { 'mirrord.dev/agent-memory-limit': '300Mi' };
    const result = injectSidecar(pod, {
      namespace: 'shop',
      webhookNamespace: 'mirrord-system',
      settings,
      namespaceAnnotations: {
        'mirrord.dev/agent-image': 'registry.example/sidecar:ns',
        'mirrord.dev/agent-memory-limit': '100Mi',
        'mirrord.dev/agent-imgae': 'x',
      },
    });
    const sidecar = sidecarOf(patched(pod, result.patch));
    expect(sidecar.image).toBe('registry.example/sidecar:ns');
    expect(sidecar.resources!.limits!.memory).toBe('300Mi');
    expect(result.warnings).toEqual(['namespace: unknown annotation mirrord.dev/agent-imgae is ignored']);
  });
});

describe('the whole-container opt-in (annotation mirrord.dev/whole-container: "true")', () => {
  const optedIn = (value: string) => {
    const review = loadReview('deployment-pod');
    const pod = review.request.object;
    pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, 'mirrord.dev/whole-container': value } };
    const result = injectSidecar(pod, { namespace: review.request.namespace, webhookNamespace: 'mirrord-system', settings });
    return { pod, result, after: patched(pod, result.patch) };
  };

  it('shares the PID namespace, marks the app container, and adds only SYS_PTRACE to the sidecar', () => {
    const { pod, after } = optedIn('true');
    expect(after.spec!.shareProcessNamespace).toBe(true);
    const app = after.spec!.containers[0]!;
    expect(envOf(app)).toEqual({ ...envOf(pod.spec!.containers[0]!), MIRRORD_APP_CONTAINER: 'true' });
    const sidecar = sidecarOf(after);
    expect(sidecar.securityContext?.capabilities).toEqual({ add: ['NET_ADMIN', 'NET_RAW', 'SYS_PTRACE'], drop: ['ALL'] });
    expect(envOf(sidecar)).toMatchObject({ MIRRORD_WHOLE_CONTAINER: 'true' });
  });

  it('changes nothing of that without it, and says so for a value that is not true or false', () => {
    const { result, after } = optedIn('yes');
    expect(after.spec!.shareProcessNamespace).toBeUndefined();
    expect(envOf(after.spec!.containers[0]!)).not.toHaveProperty('MIRRORD_APP_CONTAINER');
    expect(sidecarOf(after).securityContext?.capabilities?.add).toEqual(['NET_ADMIN', 'NET_RAW']);
    expect(result.warnings).toEqual(['mirrord.dev/whole-container: "yes" is not "true" or "false"; only the app\'s volumes and spec env are served']);
  });
});

describe("the app's certificate (annotation mirrord.dev/tls-secret: SECRET)", () => {
  const annotated = (annotations: Record<string, string>, namespaceAnnotations?: Record<string, string>) => {
    const review = loadReview('deployment-pod');
    const pod = review.request.object;
    pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, ...annotations } };
    const result = injectSidecar(pod, { namespace: review.request.namespace, webhookNamespace: 'mirrord-system', settings, namespaceAnnotations });
    return { result, after: patched(pod, result.patch) };
  };

  it('mounts the Secret read-only into the sidecar alone (optional: the pod starts without it) and tells the sidecar where', () => {
    const { after } = annotated({ 'mirrord.dev/tls-secret': 'shop-tls' });
    expect(after.spec!.volumes).toContainEqual({ name: 'mirrord-agent-tls', secret: { secretName: 'shop-tls', optional: true } });
    const sidecar = sidecarOf(after);
    expect(sidecar.volumeMounts).toContainEqual({ name: 'mirrord-agent-tls', mountPath: '/mirrord/tls', readOnly: true });
    expect(envOf(sidecar)).toMatchObject({ MIRRORD_TLS_DIR: '/mirrord/tls' });
    expect(after.spec!.containers[0]!.volumeMounts ?? []).not.toContainEqual(expect.objectContaining({ name: 'mirrord-agent-tls' }));
  });

  it("takes a namespace's for all its pods, and refuses a name that can't be a Secret's with a warning", () => {
    expect(envOf(sidecarOf(annotated({}, { 'mirrord.dev/tls-secret': 'wildcard-tls' }).after))).toMatchObject({ MIRRORD_TLS_DIR: '/mirrord/tls' });
    const { result, after } = annotated({ 'mirrord.dev/tls-secret': 'Not A Name' });
    expect(envOf(sidecarOf(after))).not.toHaveProperty('MIRRORD_TLS_DIR');
    expect(result.warnings).toEqual(['mirrord.dev/tls-secret: "Not A Name" is not a Secret name; TLS connections reach the app unfiltered']);
  });
});

describe('a service mesh (annotation mirrord.dev/mesh)', () => {
  const annotated = (annotations: Record<string, string>, namespaceAnnotations?: Record<string, string>) => {
    const review = loadReview('deployment-pod');
    const pod = review.request.object;
    pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, ...annotations } };
    const result = injectSidecar(pod, { namespace: review.request.namespace, webhookNamespace: 'mirrord-system', settings, namespaceAnnotations });
    return { result, sidecar: envOf(sidecarOf(patched(pod, result.patch))) };
  };

  it('leaves the sidecar to look for one by default, and tells it when the pod or its namespace says', () => {
    expect(annotated({}).sidecar).not.toHaveProperty('MIRRORD_MESH');
    expect(annotated({ 'mirrord.dev/mesh': 'true' }).sidecar).toMatchObject({ MIRRORD_MESH: 'true' });
    expect(annotated({ 'mirrord.dev/mesh': 'false' }).sidecar).toMatchObject({ MIRRORD_MESH: 'false' });
    expect(annotated({}, { 'mirrord.dev/mesh': 'true' }).sidecar).toMatchObject({ MIRRORD_MESH: 'true' });
    // the pod's own word over its namespace's
    expect(annotated({ 'mirrord.dev/mesh': 'auto' }, { 'mirrord.dev/mesh': 'true' }).sidecar).not.toHaveProperty('MIRRORD_MESH');
  });

  it('warns about a value it does not know and lets the sidecar look', () => {
    const { result, sidecar } = annotated({ 'mirrord.dev/mesh': 'istio' });
    expect(sidecar).not.toHaveProperty('MIRRORD_MESH');
    expect(result.warnings).toEqual(['mirrord.dev/mesh: "istio" is not "true", "false" or "auto"; the sidecar looks for a mesh itself']);
  });
});

describe('a queue split (annotation mirrord.dev/split-queues, set by the operator on the pod template)', () => {
  const split = (value: string) => {
    const review = loadReview('deployment-pod');
    const pod = review.request.object;
    pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, 'mirrord.dev/split-queues': value } };
    const result = injectSidecar(pod, { namespace: review.request.namespace, webhookNamespace: 'mirrord-system', settings });
    return { pod, result, after: patched(pod, result.patch) };
  };

  it("points the app's variable at its temporary queue, a reference replaced by the value, and the sidecar's copy agrees", () => {
    const { pod, result, after } = split(JSON.stringify({ checkout: { DATABASE_URL: 'orders-mirrord-s1-app', QUEUE: 'jobs-mirrord-s1-app' } }));
    expect(result.warnings).toEqual([]);
    const app = envOf(after.spec!.containers[0]!);
    expect(app).toEqual({ ...envOf(pod.spec!.containers[0]!), DATABASE_URL: 'orders-mirrord-s1-app', QUEUE: 'jobs-mirrord-s1-app' });
    expect(envOf(sidecarOf(after))).toMatchObject({ MIRRORD_APP_ENV_DATABASE_URL: 'orders-mirrord-s1-app', MIRRORD_APP_ENV_QUEUE: 'jobs-mirrord-s1-app' });
  });

  it('changes nothing for an annotation that does not parse or names another container, and says so', () => {
    const bad = split('{"checkout": ["x"]}');
    expect(envOf(bad.after.spec!.containers[0]!)).toEqual(envOf(bad.pod.spec!.containers[0]!));
    expect(bad.result.warnings).toEqual(['mirrord.dev/split-queues is not {"CONTAINER": {"VARIABLE": "QUEUE"}}: the queues\' variables are left as they are']);
    const other = split(JSON.stringify({ worker: { QUEUE: 'q' } }));
    expect(envOf(other.after.spec!.containers[0]!)).toEqual(envOf(other.pod.spec!.containers[0]!));
    expect(other.result.warnings).toEqual(["mirrord.dev/split-queues names container worker, which the pod doesn't have"]);
  });
});
