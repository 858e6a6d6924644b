/**
 * The webhook's configuration, all from its environment (set by the Deployment). Anything
 * invalid stops the webhook at start with a message naming the variable.
 */
import { integer, kubeName, oneOf } from '../common/env-settings';
import { parseLevel, type Level } from '../common/log';
import { VERSION } from '../common/version';
import { isQuantity } from './patch/annotation-overrides';
import { DEFAULT_AGENT_PORT } from '../common/pod-contract';
import { DEFAULT_RESOURCES, type InjectionSettings } from './patch/settings';

export type CertificateMode = 'self-managed' | 'files';

export interface WebhookConfig {
  port: number;
  host: string;
  /** The webhook's own namespace (downward API); never injected. */
  namespace: string;
  /** The Service the API server calls: the serving certificate's names. */
  service: string;
  /** The MutatingWebhookConfiguration whose caBundle we keep current. */
  webhookConfiguration: string;
  /** The Secret holding the serving certificate, its key and the caBundle (self-managed mode). */
  secret: string;
  certificateMode: CertificateMode;
  /** Where a mounted Secret (e.g. from cert-manager) puts tls.crt and tls.key (files mode). */
  certificateDir: string;
  /** Read the labeled namespaces' annotations as defaults (needs list/watch of namespaces). */
  namespaceAnnotations: boolean;
  /** "auto" asks the API server's /version at start. */
  nativeSidecar: boolean | 'auto';
  sidecar: Omit<InjectionSettings, 'nativeSidecar' | 'auth'>;
  /**
   * The injected sidecars' auth: `auto` (default) requires tickets while the operator is installed
   * (its APIService exists, looked at every few seconds), `none` or `required` fixes it.
   */
  auth: 'auto' | 'none' | 'required';
  logLevel: Level;
}

export function loadWebhookConfig(env: NodeJS.ProcessEnv = process.env): WebhookConfig {
  return {
    port: integer(env, 'MIRRORD_WEBHOOK_PORT', 8443, 1, 65535),
    host: env.MIRRORD_WEBHOOK_HOST || '0.0.0.0',
    namespace: kubeName(env, 'MIRRORD_WEBHOOK_NAMESPACE', 'mirrord-system'),
    service: kubeName(env, 'MIRRORD_WEBHOOK_SERVICE', 'mirrord-webhook'),
    webhookConfiguration: kubeName(env, 'MIRRORD_WEBHOOK_CONFIGURATION', 'mirrord-webhook'),
    secret: kubeName(env, 'MIRRORD_WEBHOOK_SECRET', 'mirrord-webhook-tls'),
    certificateMode: oneOf(env, 'MIRRORD_WEBHOOK_CERT_MODE', ['self-managed', 'files'] as const, 'self-managed'),
    certificateDir: env.MIRRORD_WEBHOOK_CERT_DIR || '/etc/mirrord-webhook/tls',
    namespaceAnnotations: oneOf(env, 'MIRRORD_WEBHOOK_NAMESPACE_ANNOTATIONS', ['true', 'false'] as const, 'true') === 'true',
    nativeSidecar: ({ auto: 'auto', true: true, false: false } as const)[oneOf(env, 'MIRRORD_SIDECAR_NATIVE', ['auto', 'true', 'false'] as const, 'auto')],
    sidecar: {
      image: env.MIRRORD_SIDECAR_IMAGE || `mirrord-sidecar:${VERSION}`,
      pullPolicy: oneOf(env, 'MIRRORD_SIDECAR_PULL_POLICY', ['IfNotPresent', 'Always', 'Never'] as const, 'IfNotPresent'),
      agentPort: integer(env, 'MIRRORD_SIDECAR_AGENT_PORT', DEFAULT_AGENT_PORT, 1, 65535),
      resources: {
        cpuRequest: quantity(env, 'MIRRORD_SIDECAR_CPU_REQUEST', DEFAULT_RESOURCES.cpuRequest),
        cpuLimit: quantity(env, 'MIRRORD_SIDECAR_CPU_LIMIT', DEFAULT_RESOURCES.cpuLimit),
        memoryRequest: quantity(env, 'MIRRORD_SIDECAR_MEMORY_REQUEST', DEFAULT_RESOURCES.memoryRequest),
        memoryLimit: quantity(env, 'MIRRORD_SIDECAR_MEMORY_LIMIT', DEFAULT_RESOURCES.memoryLimit),
      },
      version: VERSION,
      writableVolumes: false,
    },
    auth: oneOf(env, 'MIRRORD_WEBHOOK_AUTH', ['auto', 'none', 'required'] as const, 'auto'),
    logLevel: parseLevel(env.MIRRORD_LOG_LEVEL),
  };
}

/** An invalid quantity would make the API server reject every injected pod. */
function quantity(env: NodeJS.ProcessEnv, key: string, fallback: string): string {
  const value = env[key] || fallback;
  if (!isQuantity(value)) throw new Error(`${key}="${value}" is not a Kubernetes quantity (e.g. 100m, 64Mi)`);
  return value;
}
