/**
 * Everything the webhook asks the API server, in one place: the server version, the Secret
 * holding the certificates, the caBundle of its own MutatingWebhookConfiguration, and the
 * annotations of the namespaces it injects.
 *
 * @kubernetes/client-node is an ES module; Node 20 loads it from CommonJS with require(),
 * which jest cannot. Only main.ts imports this file, so the unit tests never load it.
 */
import { AdmissionregistrationV1Api, ApiregistrationV1Api, CoreV1Api, KubeConfig, makeInformer, VersionApi, type V1Namespace } from '../../common/kube-client';
import type { Logger } from '../../common/log';
import { INJECTION_LABEL, OPERATOR_KEYS } from '../../common/pod-contract';
import type { OperatorState } from '../operator-presence';
import { OPERATOR_API_SERVICE } from '../../protocol/operator-api';
import { reuseConnections } from '../../common/kube-connections';
import { statusOf } from '../../common/kube-status';
import { SecretCertificateStore } from '../../common/certs/secret-store';
import type { CertificateStore } from '../../common/certs/store';
import { supportsNativeSidecars } from './server-version';

export interface Cluster {
  nativeSidecars(): Promise<boolean>;
  secretStore(namespace: string, name: string): CertificateStore;
  publishCaBundle(webhookConfiguration: string, caBundlePem: string): Promise<void>;
  /**
   * Keeps a cache of the labeled namespaces, answered from memory: admission must not wait on
   * the API. Undefined for a namespace not (yet) in the cache.
   */
  watchNamespaceAnnotations(log: Logger): (namespace: string) => Record<string, string> | undefined;
  /**
   * Whether the operator's APIService exists (the operator is installed), and the key set it
   * published in `namespace` (the webhook's own); throws when they can't be read.
   */
  operatorState(namespace: string): Promise<OperatorState>;
}

/** In a pod: its service account; elsewhere: the usual kubeconfig. */
export function connectToCluster(): Cluster {
  const config = reuseConnections(new KubeConfig());
  config.loadFromDefault();
  const core = config.makeApiClient(CoreV1Api);
  const admission = config.makeApiClient(AdmissionregistrationV1Api);
  const version = config.makeApiClient(VersionApi);
  const registration = config.makeApiClient(ApiregistrationV1Api);
  return {
    nativeSidecars: async () => supportsNativeSidecars(await version.getCode()),
    secretStore: (namespace, name) => new SecretCertificateStore(core, namespace, name, 'mirrord-webhook'),
    publishCaBundle: (webhookConfiguration, caBundlePem) => publishCaBundle(admission, webhookConfiguration, caBundlePem),
    watchNamespaceAnnotations: (log) => watchNamespaceAnnotations(config, core, log),
    operatorState: async (namespace) => {
      const absent = (error: unknown) => {
        if (statusOf(error) === 404) return undefined;
        throw error;
      };
      const [service, keys] = await Promise.all([
        registration.readAPIService({ name: OPERATOR_API_SERVICE }).catch(absent),
        core.readNamespacedConfigMap({ namespace, name: OPERATOR_KEYS.configMap }).catch(absent),
      ]);
      const jwks = keys?.data?.[OPERATOR_KEYS.file];
      return { installed: service !== undefined, ...(jwks && { keys: jwks }) };
    },
  };
}

function watchNamespaceAnnotations(config: KubeConfig, core: CoreV1Api, log: Logger): (namespace: string) => Record<string, string> | undefined {
  const selector = `${INJECTION_LABEL}=enabled`;
  const informer = makeInformer<V1Namespace>(config, '/api/v1/namespaces', () => core.listNamespace({ labelSelector: selector }), selector);
  // Backs off to 5 minutes: a missing RBAC rule must not flood the logs or the API server.
  let delayMs = 5_000;
  const restartLater = (error?: Error) => {
    log.warn('namespace watch failed; namespace annotations may be stale or missing until it works', { error: error?.message, retryInMs: delayMs });
    setTimeout(() => void informer.start().catch(restartLater), delayMs).unref();
    delayMs = Math.min(delayMs * 2, 300_000);
  };
  // The informer stops on a watch error; it keeps its cache and relists when started again.
  informer.on('error', restartLater);
  // "connect" fires on every attempt, so only a delivered object proves the watch works.
  informer.on('change', () => (delayMs = 5_000));
  void informer.start().catch(restartLater);
  return (namespace) => informer.get(namespace)?.metadata?.annotations;
}

async function publishCaBundle(api: AdmissionregistrationV1Api, name: string, caBundlePem: string): Promise<void> {
  const caBundle = Buffer.from(caBundlePem).toString('base64');
  for (let attempt = 1; ; attempt++) {
    const configuration = await api.readMutatingWebhookConfiguration({ name });
    const webhooks = configuration.webhooks ?? [];
    if (webhooks.every((webhook) => webhook.clientConfig.caBundle === caBundle)) return;
    for (const webhook of webhooks) webhook.clientConfig.caBundle = caBundle;
    try {
      // Replace with the resourceVersion we read: a concurrent writer makes this fail, not vanish.
      await api.replaceMutatingWebhookConfiguration({ name, body: configuration });
      return;
    } catch (error) {
      if (statusOf(error) !== 409 || attempt >= 5) throw error;
    }
  }
}
