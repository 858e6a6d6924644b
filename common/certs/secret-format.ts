/**
 * The certificates as a Kubernetes Secret of type kubernetes.io/tls: the serving pair and the
 * caBundle, and no CA private key (there is none to keep: see certs/authority.ts).
 */
import type { V1Secret } from '../kube-client';
import type { Stored } from './store';
import type { TlsMaterial } from './tls-material';

// The standard names, so the Secret is also usable as an ordinary TLS Secret; ca.crt is what a
// client of the server should trust.
const KEYS: Record<keyof TlsMaterial, string> = {
  certPem: 'tls.crt',
  keyPem: 'tls.key',
  caBundlePem: 'ca.crt',
};

/** `owner` is the component whose certificates they are (its app.kubernetes.io/name). */
export function toSecret(material: TlsMaterial, name: string, namespace: string, owner: string, resourceVersion?: string): V1Secret {
  const data: Record<string, string> = {};
  for (const [field, key] of Object.entries(KEYS)) data[key] = Buffer.from(material[field as keyof TlsMaterial]).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace, resourceVersion, labels: { 'app.kubernetes.io/name': owner, 'app.kubernetes.io/component': 'certificates' } },
    data,
  };
}

/**
 * Undefined for a Secret that lacks any part (e.g. created empty by hand): it is then replaced.
 * A Secret holding a private key besides tls.key (an earlier version kept the CA's key in
 * ca.key) is outdated: its CA may have signed for other names, so it gets a new pair.
 */
export function fromSecret(secret: V1Secret): Stored | undefined {
  const data = secret.data ?? {};
  const material: Partial<TlsMaterial> = {};
  for (const [field, key] of Object.entries(KEYS)) {
    if (!data[key]) return undefined;
    material[field as keyof TlsMaterial] = Buffer.from(data[key], 'base64').toString('utf8');
  }
  const stored: Stored = { material: material as TlsMaterial, version: secret.metadata?.resourceVersion ?? '' };
  const otherKeys = Object.keys(data).filter((key) => key !== KEYS.keyPem && Buffer.from(data[key], 'base64').toString('utf8').includes('PRIVATE KEY'));
  if (otherKeys.length) stored.outdated = `the Secret holds a private key besides the serving key (${otherKeys.join(', ')})`;
  return stored;
}
