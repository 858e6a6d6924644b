/**
 * A new pod in, the JSONPatch that adds the sidecar out. The patch is the difference between
 * the pod as it came and the pod as we want it, computed by the JSON-Patch library: the
 * mutation is ordinary object code, and the patch can't drift from it.
 */
import { compare, type Operation } from 'fast-json-patch';
import type { V1Pod } from '../../common/kube-client';
import { ANNOTATION, APP_CONTAINER_MARK } from '../../common/pod-contract';
import { decideInjection, type SkipReason } from './decision';
import { applyAnnotationOverrides } from './annotation-overrides';
import type { InjectionSettings } from './settings';
import { buildSidecarContainer, sidecarVolumes } from './sidecar-container';
import { withSplitQueues } from './split-queues';

export type InjectionResult =
  { injected: true; patch: Operation[]; warnings: string[] } | { injected: false; reason: SkipReason; detail: string; patch: []; warnings: string[] };

export interface InjectionContext {
  namespace: string;
  webhookNamespace: string;
  settings: InjectionSettings;
  /** The annotations of the pod's namespace, when the webhook can read namespaces. */
  namespaceAnnotations?: Record<string, string>;
}

export function injectSidecar(pod: V1Pod, context: InjectionContext): InjectionResult {
  const decision = decideInjection(pod, {
    namespace: context.namespace,
    webhookNamespace: context.webhookNamespace,
    nativeSidecar: context.settings.nativeSidecar,
  });
  if (!decision.inject) {
    const warnings = decision.reason === 'target-container-not-found' ? [decision.detail] : [];
    return { injected: false, reason: decision.reason, detail: decision.detail, patch: [], warnings };
  }
  const fromNamespace = applyAnnotationOverrides(context.settings, context.namespaceAnnotations, 'namespace');
  const fromPod = applyAnnotationOverrides(fromNamespace.settings, pod.metadata?.annotations, 'pod');
  const { settings } = fromPod;
  // A queue split's variables first: the sidecar copies the app's environment as it will be.
  const split = withSplitQueues(pod);
  const warnings = [...fromPod.warnings, ...fromNamespace.warnings, ...split.warnings];
  const mutated = withSidecar(split.pod, decision.target.name, settings);
  return { injected: true, patch: compare(pod, mutated), warnings };
}

/** A copy of the pod with the sidecar, its scratch volumes and our annotation. */
export function withSidecar(pod: V1Pod, targetName: string, settings: InjectionSettings): V1Pod {
  const copy = structuredClone(pod);
  const spec = copy.spec!;
  const target = spec.containers.find((container) => container.name === targetName)!;
  const sidecar = buildSidecarContainer(target, settings);
  // Appended, never prepended: the app's init containers run first as they always did, and
  // the app stays the first container, which kubectl logs/exec pick by default.
  if (settings.nativeSidecar) spec.initContainers = [...(spec.initContainers ?? []), sidecar];
  else spec.containers = [...spec.containers, sidecar];
  spec.volumes = [...(spec.volumes ?? []), ...sidecarVolumes(settings)];
  if (settings.wholeContainer) {
    // The sidecar finds the app's processes in the pod's one PID namespace by this mark, and
    // reaches their root and environment through /proc.
    spec.shareProcessNamespace = true;
    target.env = [...(target.env ?? []).filter((e) => e.name !== APP_CONTAINER_MARK), { name: APP_CONTAINER_MARK, value: 'true' }];
  }
  copy.metadata = { ...copy.metadata, annotations: { ...copy.metadata?.annotations, [ANNOTATION.injected]: settings.version } };
  return copy;
}
