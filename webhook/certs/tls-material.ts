import { createPrivateKey, X509Certificate } from 'node:crypto';

/** The webhook's certificates, all PEM: what is stored in the Secret and served. */
export interface TlsMaterial {
  /** The CA the API server trusts (its caBundle); may hold the previous CA too, during a CA rotation. */
  caBundlePem: string;
  caCertPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
}

/** The Service's DNS names, as the API server may address it. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/** A certificate and its key, PEM: what the HTTPS server serves. */
export type ServingPair = Pick<TlsMaterial, 'certPem' | 'keyPem'>;

/** A certificate and the key that belongs to it, both complete. */
export function isWholePair(pair: ServingPair): boolean {
  try {
    return new X509Certificate(pair.certPem).checkPrivateKey(createPrivateKey(pair.keyPem));
  } catch {
    return false;
  }
}
