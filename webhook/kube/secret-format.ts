/** The certificates as a Kubernetes Secret of type kubernetes.io/tls, plus the CA's key. */
import type { V1Secret } from '@kubernetes/client-node';
import type { Stored } from '../certs/store';
import type { TlsMaterial } from '../certs/tls-material';

// tls.crt/tls.key are the standard names, so the Secret is also usable as an ordinary TLS Secret.
const KEYS: Record<keyof TlsMaterial, string> = {
  certPem: 'tls.crt',
  keyPem: 'tls.key',
  caCertPem: 'ca.crt',
  caKeyPem: 'ca.key',
  caBundlePem: 'ca-bundle.crt',
};

export function toSecret(material: TlsMaterial, name: string, namespace: string, resourceVersion?: string): V1Secret {
  const data: Record<string, string> = {};
  for (const [field, key] of Object.entries(KEYS)) data[key] = Buffer.from(material[field as keyof TlsMaterial]).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace, resourceVersion, labels: { 'app.kubernetes.io/name': 'mirrord-webhook', 'app.kubernetes.io/component': 'certificates' } },
    data,
  };
}

/** Undefined for a Secret that lacks any part (e.g. created empty by hand): it is then replaced. */
export function fromSecret(secret: V1Secret): Stored | undefined {
  const data = secret.data ?? {};
  const material: Partial<TlsMaterial> = {};
  for (const [field, key] of Object.entries(KEYS)) {
    if (!data[key]) return undefined;
    material[field as keyof TlsMaterial] = Buffer.from(data[key], 'base64').toString('utf8');
  }
  return { material: material as TlsMaterial, version: secret.metadata?.resourceVersion ?? '' };
}
