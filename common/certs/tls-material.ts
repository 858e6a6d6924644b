import { createPrivateKey, X509Certificate } from 'node:crypto';

/**
 * The webhook's certificates, all PEM: what is stored in the Secret and served. There is no
 * CA private key among them: each CA signs one serving certificate and its key is dropped
 * (see authority.ts), so nothing stored can sign a certificate for another name.
 */
export interface TlsMaterial {
  /**
   * The CAs the API server trusts (its caBundle), newest first: the one that issued certPem, then
   * those replaced a short while ago, whose certificates replicas may still be serving.
   */
  caBundlePem: string;
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

export function samePair(a: ServingPair, b: ServingPair): boolean {
  return a.certPem === b.certPem && a.keyPem === b.keyPem;
}

/** Every certificate of a PEM bundle, in order; throws on one that does not parse. */
export function bundleCertificates(bundlePem: string): X509Certificate[] {
  return (bundlePem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
}
