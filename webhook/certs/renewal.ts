/**
 * When certificates are replaced, and with what. Renewal starts when a third of a
 * certificate's life is left: months ahead for the defaults, so a webhook that was down for a
 * while, or a renewal that failed a few times, still renews long before anything expires.
 */
import { X509Certificate } from 'node:crypto';
import { createCa, issueServingCert } from './authority';
import { isWholePair, type TlsMaterial } from './tls-material';

export interface RenewalPolicy {
  caValidDays: number;
  servingValidDays: number;
  /** Renew when less than this fraction of the certificate's lifetime is left. */
  renewWhenLeft: number;
}

export const DEFAULT_POLICY: RenewalPolicy = { caValidDays: 3650, servingValidDays: 365, renewWhenLeft: 1 / 3 };

export const CA_COMMON_NAME = 'mirrord-webhook-ca';

/** Why the material must change, or undefined when it is good as it is. */
export function renewalReason(material: TlsMaterial, dnsNames: string[], now: Date, policy: RenewalPolicy): string | undefined {
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    ca = new X509Certificate(material.caCertPem);
    cert = new X509Certificate(material.certPem);
  } catch {
    return 'the stored certificates do not parse';
  }
  if (nearlyExpired(ca, now, policy)) return 'the CA is close to expiry';
  if (nearlyExpired(cert, now, policy)) return 'the serving certificate is close to expiry';
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'the serving certificate was not issued by the CA';
  if (!isWholePair(material)) return 'the serving key does not match the certificate';
  const names = (cert.subjectAltName ?? '').split(', ').map((entry) => entry.replace(/^DNS:/, ''));
  if (dnsNames.some((name) => !names.includes(name))) return 'the serving certificate lacks some of the Service names';
  return undefined;
}

/**
 * New material from the current one. A new CA keeps the previous one in the caBundle while it
 * is valid, so API servers that still cache the old bundle keep trusting us during the switch.
 */
export function renew(current: TlsMaterial | undefined, dnsNames: string[], now: Date, policy: RenewalPolicy): TlsMaterial {
  const caUsable = current !== undefined && !caNeedsRenewal(current, now, policy);
  const ca = caUsable ? { certPem: current.caCertPem, keyPem: current.caKeyPem } : createCa(CA_COMMON_NAME, policy.caValidDays, now);
  const serving = issueServingCert(ca, dnsNames, policy.servingValidDays, now);
  const previous = current && !caUsable ? validCertificates(current.caCertPem, now) : [];
  return {
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    caBundlePem: [ca.certPem, ...previous].join(''),
    certPem: serving.certPem,
    keyPem: serving.keyPem,
  };
}

function caNeedsRenewal(material: TlsMaterial, now: Date, policy: RenewalPolicy): boolean {
  try {
    return nearlyExpired(new X509Certificate(material.caCertPem), now, policy);
  } catch {
    return true;
  }
}

function nearlyExpired(cert: X509Certificate, now: Date, policy: RenewalPolicy): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return now.getTime() >= to - (to - from) * policy.renewWhenLeft;
}

function validCertificates(pem: string, now: Date): string[] {
  try {
    const cert = new X509Certificate(pem);
    return Date.parse(cert.validTo) > now.getTime() ? [cert.toString()] : [];
  } catch {
    return [];
  }
}
