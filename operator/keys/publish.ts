/**
 * The leader's copy of the public key set into every injected namespace, as the ConfigMap the
 * webhook mounts into sidecars (a pod can only mount a ConfigMap of its own namespace). Runs on
 * every key change and periodically, so a namespace labeled later gets it within one period.
 */
import { apiErrorMessage } from '../../common/kube-status';
import type { Logger } from '../../common/log';
import { OPERATOR_KEYS } from '../../common/pod-contract';

export interface KeySetTarget {
  injectedNamespaces(): Promise<string[]>;
  ensureConfigMap(namespace: string, name: string, data: Record<string, string>, labels: Record<string, string>): Promise<'created' | 'updated' | 'unchanged'>;
}

const LABELS = { 'app.kubernetes.io/name': 'mirrord-operator', 'app.kubernetes.io/part-of': 'mirrord', 'app.kubernetes.io/component': 'keys' };

/**
 * Publishes `jwks` everywhere it is missing or stale: the injected namespaces, and `own` (the
 * operator's), where the webhook reads it to give new sidecars the keys at once. A namespace that
 * fails is logged and retried next time.
 */
export async function publishKeySet(target: KeySetTarget, jwks: string, own: string, log: Logger): Promise<void> {
  const namespaces = [...new Set([own, ...(await target.injectedNamespaces())])];
  await Promise.all(
    namespaces.map(async (namespace) => {
      try {
        const done = await target.ensureConfigMap(namespace, OPERATOR_KEYS.configMap, { [OPERATOR_KEYS.file]: jwks }, LABELS);
        if (done !== 'unchanged') log.info(`key set ${done}`, { namespace });
      } catch (error) {
        log.warn('could not publish the key set', { namespace, error: apiErrorMessage(error) });
      }
    }),
  );
}
