import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { COPY_LABEL, COPY_OF_ANNOTATION } from '../../common/copy-target';
import { ANNOTATION, OPERATOR_KEYS, SIDECAR_NAME, SIDECAR_SCRATCH, TLS_SECRET } from '../../common/pod-contract';
import { copyJob, copyTemplate } from './copy-spec';

const probe = { httpGet: { path: '/healthz', port: 8080 } };

/** A Deployment's template. */
const template: V1PodTemplateSpec = {
  metadata: { labels: { app: 'shop', tier: 'web' }, annotations: { [ANNOTATION.targetContainer]: 'app' } },
  spec: {
    containers: [
      { name: 'app', image: 'shop:1', livenessProbe: probe, readinessProbe: probe, startupProbe: probe, ports: [{ containerPort: 8080 }] },
      { name: 'log-shipper', image: 'shipper:2', livenessProbe: probe },
    ],
    initContainers: [{ name: 'migrate', image: 'shop:1' }],
    volumes: [{ name: 'config', configMap: { name: 'shop' } }],
    restartPolicy: 'Always',
  },
};

/** A pod the webhook injected, as `pod/NAME` is copied. */
const injectedPod: V1PodTemplateSpec = {
  metadata: { annotations: { [ANNOTATION.injected]: '0.1.0', note: 'kept' } },
  spec: {
    nodeName: 'node-1',
    activeDeadlineSeconds: 600,
    containers: [{ name: 'app', image: 'shop:1', readinessProbe: probe }],
    initContainers: [{ name: SIDECAR_NAME, image: 'mirrord-sidecar:0.1.0', restartPolicy: 'Always', readinessProbe: probe }],
    volumes: [
      { name: 'config', configMap: { name: 'shop' } },
      { name: SIDECAR_SCRATCH.run, emptyDir: {} },
      { name: SIDECAR_SCRATCH.tmp, emptyDir: {} },
      { name: OPERATOR_KEYS.volume, configMap: { name: OPERATOR_KEYS.configMap } },
      { name: TLS_SECRET.volume, secret: { secretName: 'shop-tls', optional: true } },
    ],
  },
};

describe('copyTemplate', () => {
  it("keeps the containers, volumes and annotations, drops every probe and the target's labels", () => {
    const copy = copyTemplate(template);
    expect(copy.metadata?.labels).toEqual({ [COPY_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'mirrord' });
    expect(copy.metadata?.annotations).toEqual({ [ANNOTATION.targetContainer]: 'app' });
    expect(copy.spec?.containers.map((c) => c.name)).toEqual(['app', 'log-shipper']);
    for (const container of copy.spec!.containers) {
      expect([container.livenessProbe, container.readinessProbe, container.startupProbe]).toEqual([undefined, undefined, undefined]);
    }
    expect(copy.spec?.containers[0]?.ports).toEqual([{ containerPort: 8080 }]);
    expect(copy.spec?.initContainers?.map((c) => c.name)).toEqual(['migrate']);
    expect(copy.spec?.volumes).toEqual(template.spec?.volumes);
    expect(copy.spec?.restartPolicy).toBe('Never');
    // The source is not changed.
    expect(template.spec?.containers[0]?.livenessProbe).toBe(probe);
  });

  it('drops what the webhook injected into a copied pod (it injects the copy afresh), and where it ran', () => {
    const copy = copyTemplate(injectedPod);
    expect(copy.spec?.initContainers).toEqual([]);
    expect(copy.spec?.volumes?.map((v) => v.name)).toEqual(['config']);
    expect(copy.metadata?.annotations).toEqual({ note: 'kept' });
    expect(copy.spec?.nodeName).toBeUndefined();
    expect(copy.spec?.activeDeadlineSeconds).toBeUndefined();
  });
});

describe('copyJob', () => {
  it('is one pod, never retried, deleted when over, with a deadline and what it copies', () => {
    const job = copyJob(template, { name: 'mirrord-copy-0a1b', copyOf: 'deployment/shop', startedBy: 'ana@laptop', deadlineS: 150 });
    expect(job.metadata?.name).toBe('mirrord-copy-0a1b');
    expect(job.metadata?.labels?.[COPY_LABEL]).toBe('true');
    expect(job.metadata?.annotations?.[COPY_OF_ANNOTATION]).toBe('deployment/shop');
    expect(job.spec).toMatchObject({ backoffLimit: 0, ttlSecondsAfterFinished: 0, activeDeadlineSeconds: 150 });
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
  });
});
