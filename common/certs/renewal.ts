/**
 * When certificates are replaced, and with what. Renewal starts when a third of a
 * certificate's life is left: months ahead for the defaults, so a webhook that was down for a
 * while, or a renewal that failed a few times, still renews long before anything expires.
 *
 * No CA key is kept (authority.ts), so a new serving certificate always comes with a new CA.
 * The caBundle keeps a replaced CA for a while: the other replicas serve the previous
 * certificate until their next check adopts the new one, and the API server must keep trusting
 * it meanwhile. A replaced CA leaves the bundle once its successor is older than the overlap.
 */
import { X509Certificate } from 'node:crypto';
import { issueServingPair } from './authority';
import { bundleCertificates, isWholePair, type TlsMaterial } from './tls-material';

export interface RenewalPolicy {
  /** Lifetime of a serving certificate, and of the CA that issued it. */
  validDays: number;
  /** Renew when less than this fraction of the certificate's lifetime is left. */
  renewWhenLeft: number;
  /** How long a replaced CA stays in the caBundle after its successor was issued. */
  overlapMs: number;
}

/** The overlap is many times the replicas' hourly check, so every replica has adopted by its end. */
export const DEFAULT_POLICY: RenewalPolicy = { validDays: 365, renewWhenLeft: 1 / 3, overlapMs: 86_400_000 };

export interface Successor {
  reason: string;
  material: TlsMaterial;
}

/**
 * What to store instead of `current`, and why; undefined when it is good as it is. A `reason`
 * given by the caller (a forced rotation, an outdated stored object) always means a new pair.
 */
export function successor(current: TlsMaterial | undefined, dnsNames: string[], now: Date, policy: RenewalPolicy, reason?: string): Successor | undefined {
  const why = reason ?? (current ? reissueReason(current, dnsNames, now, policy) : 'there are no certificates yet');
  if (why) return { reason: why, material: reissue(current, dnsNames, now, policy) };
  const cas = bundleCertificates(current!.caBundlePem);
  const kept = trusted(cas, now, policy);
  if (kept.length === cas.length) return undefined;
  return { reason: 'a replaced CA is past its overlap', material: { ...current!, caBundlePem: toBundle(kept) } };
}

/** Why the serving pair must be replaced, or undefined when it is good as it is. */
export function reissueReason(material: TlsMaterial, dnsNames: string[], now: Date, policy: RenewalPolicy): string | undefined {
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    [ca] = bundleCertificates(material.caBundlePem);
    cert = new X509Certificate(material.certPem);
    if (!ca) throw new Error('empty caBundle');
  } catch {
    return 'the stored certificates do not parse';
  }
  if (nearlyExpired(cert, now, policy)) return 'the serving certificate is close to expiry';
  if (nearlyExpired(ca, now, policy)) return 'the CA is close to expiry';
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'the serving certificate was not issued by the first CA of the caBundle';
  if (!isWholePair(material)) return 'the serving key does not match the certificate';
  const names = (cert.subjectAltName ?? '').split(', ').map((entry) => entry.replace(/^DNS:/, ''));
  if (dnsNames.some((name) => !names.includes(name))) return 'the serving certificate lacks some of the Service names';
  return undefined;
}

/** A new CA and pair; the CAs of `current` stay in the bundle behind the new one while they are trusted. */
function reissue(current: TlsMaterial | undefined, dnsNames: string[], now: Date, policy: RenewalPolicy): TlsMaterial {
  const { caCertPem, certPem, keyPem } = issueServingPair(dnsNames, policy.validDays, now);
  let previous: X509Certificate[] = [];
  try {
    previous = current ? bundleCertificates(current.caBundlePem) : [];
  } catch {
    // A bundle that does not parse trusts nothing worth keeping.
  }
  return { caBundlePem: toBundle(trusted([new X509Certificate(caCertPem), ...previous], now, policy)), certPem, keyPem };
}

/** The first CA (it issued the served certificate), then each later one while valid and within the overlap. */
function trusted(cas: X509Certificate[], now: Date, policy: RenewalPolicy): X509Certificate[] {
  return cas.filter((ca, i) => i === 0 || (Date.parse(ca.validTo) > now.getTime() && now.getTime() - Date.parse(cas[i - 1].validFrom) < policy.overlapMs));
}

function toBundle(cas: X509Certificate[]): string {
  return cas.map((ca) => ca.toString()).join('');
}

function nearlyExpired(cert: X509Certificate, now: Date, policy: RenewalPolicy): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return now.getTime() >= to - (to - from) * policy.renewWhenLeft;
}
