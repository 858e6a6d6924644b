/**
 * Adjustments to the sidecar from annotations: a namespace's for all its pods, then a pod's
 * own. An invalid value is reported and the previous value kept: a typo in an annotation must
 * not stop the pod from being created.
 */
import { ANNOTATION } from '../../common/pod-contract';
import { NAMESPACE_ANNOTATIONS, POD_ANNOTATIONS, unknownMirrordAnnotations } from '../annotations';
import type { InjectionSettings, SidecarResources } from './settings';

export interface Overridden {
  settings: InjectionSettings;
  warnings: string[];
}

// Kubernetes' quantity syntax (resource.Quantity), e.g. 100m, 0.5, 64Mi, 1e3.
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;
// A Kubernetes object name (DNS-1123 subdomain), as a Secret's is.
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Docker/OCI reference: [registry[:port]/]name[:tag][@digest], no spaces or control characters.
const IMAGE = /^[a-z0-9]+([._-]+[a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@[a-z0-9]+:[a-f0-9]{32,})?$/i;

export function isQuantity(text: string): boolean {
  return QUANTITY.test(text);
}

export type AnnotationScope = 'pod' | 'namespace';

export function applyAnnotationOverrides(base: InjectionSettings, annotations: Record<string, string> | undefined, scope: AnnotationScope = 'pod'): Overridden {
  const given = annotations ?? {};
  const known = scope === 'pod' ? POD_ANNOTATIONS : NAMESPACE_ANNOTATIONS;
  const warnings: string[] = unknownMirrordAnnotations(given, known).map((key) =>
    POD_ANNOTATIONS.has(key) ? `annotation ${key} only applies to pods and is ignored` : `unknown annotation ${key} is ignored`,
  );
  const settings: InjectionSettings = { ...base, resources: { ...base.resources } };

  const port = given[ANNOTATION.agentPort];
  if (port !== undefined) {
    const value = Number(port);
    if (/^\d+$/.test(port) && value >= 1 && value <= 65535) settings.agentPort = value;
    else warnings.push(`${ANNOTATION.agentPort}: "${port}" is not a port (1-65535); using ${base.agentPort}`);
  }

  const image = given[ANNOTATION.agentImage];
  if (image !== undefined) {
    if (IMAGE.test(image)) settings.image = image;
    else warnings.push(`${ANNOTATION.agentImage}: "${image}" is not an image reference; using ${base.image}`);
  }

  const quantities: [string, keyof SidecarResources][] = [
    [ANNOTATION.agentCpuRequest, 'cpuRequest'],
    [ANNOTATION.agentCpuLimit, 'cpuLimit'],
    [ANNOTATION.agentMemoryRequest, 'memoryRequest'],
    [ANNOTATION.agentMemoryLimit, 'memoryLimit'],
  ];
  for (const [key, field] of quantities) {
    const value = given[key];
    if (value === undefined) continue;
    if (QUANTITY.test(value)) settings.resources[field] = value;
    else warnings.push(`${key}: "${value}" is not a Kubernetes quantity; using ${base.resources[field]}`);
  }

  for (const [request, limit] of [
    ['cpuRequest', 'cpuLimit'],
    ['memoryRequest', 'memoryLimit'],
  ] as const) {
    // The API server rejects a pod whose request exceeds its limit; the pod must still start.
    if (quantityValue(settings.resources[request]) > quantityValue(settings.resources[limit])) {
      warnings.push(`the sidecar's ${request} ${settings.resources[request]} exceeds its ${limit} ${settings.resources[limit]}; the limit is raised to match`);
      settings.resources[limit] = settings.resources[request];
    }
  }

  const writable = given[ANNOTATION.writableVolumes];
  if (writable !== undefined) {
    if (writable === 'true' || writable === 'false') settings.writableVolumes = writable === 'true';
    else warnings.push(`${ANNOTATION.writableVolumes}: "${writable}" is not "true" or "false"; volumes stay read-only`);
  }
  const whole = given[ANNOTATION.wholeContainer];
  if (whole !== undefined && scope === 'pod') {
    if (whole === 'true' || whole === 'false') settings.wholeContainer = whole === 'true';
    else warnings.push(`${ANNOTATION.wholeContainer}: "${whole}" is not "true" or "false"; only the app's volumes and spec env are served`);
  }
  const tlsSecret = given[ANNOTATION.tlsSecret];
  if (tlsSecret !== undefined) {
    if (OBJECT_NAME.test(tlsSecret) && tlsSecret.length <= 253) settings.tlsSecret = tlsSecret;
    else warnings.push(`${ANNOTATION.tlsSecret}: "${tlsSecret}" is not a Secret name; TLS connections reach the app unfiltered`);
  }
  const mesh = given[ANNOTATION.mesh];
  if (mesh !== undefined) {
    if (mesh === 'true' || mesh === 'false') settings.mesh = mesh === 'true';
    else if (mesh === 'auto') delete settings.mesh;
    else warnings.push(`${ANNOTATION.mesh}: "${mesh}" is not "true", "false" or "auto"; the sidecar looks for a mesh itself`);
  }
  return { settings, warnings: scope === 'pod' ? warnings : warnings.map((warning) => `namespace: ${warning}`) };
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A quantity's value, precise enough to compare a request with a limit. */
export function quantityValue(quantity: string): number {
  const match = QUANTITY.exec(quantity);
  if (!match) return NaN;
  const [, number, suffix = ''] = match;
  return suffix in SUFFIX ? Number(number) * SUFFIX[suffix] : Number(number + suffix); // else an exponent: 1e3
}
